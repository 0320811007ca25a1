"""The kubelet stand-in (run as ``python -m sandbox.kubelet``); see node.py and pod.py."""
