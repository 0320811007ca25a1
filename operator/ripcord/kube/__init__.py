"""The edge's access to the Kubernetes API: a bounded, counted client, watch-fed caches, checks."""
