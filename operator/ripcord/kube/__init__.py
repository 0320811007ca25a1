"""How Ripcord talks to the Kubernetes API at the byte level (decoding), below Kopf and the client."""
