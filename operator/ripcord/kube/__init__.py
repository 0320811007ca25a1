"""The edge's access to the Kubernetes API: decoding (below Kopf and the client), a bounded and counted
client, watch-fed caches, checks."""
