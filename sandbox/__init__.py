"""The Ripcord sandbox: a real local Kubernetes control plane, a kubelet stand-in,
Prometheus and a gateway stand-in, all on loopback (docs/design.md, issue 2).

    import sandbox
    sb = sandbox.ensure_up()          # start what is not running; bounded waits
    sb.admin_kubeconfig, sb.operator_kubeconfig, sb.prometheus_url, sb.gateway_url
    sandbox.down()                    # stop every process it started

CLI: ``python -m sandbox up|down|status``.
"""

from .lifecycle import Sandbox, UpResult, connect, down, ensure_up, status, up
from .proc import SandboxError

__all__ = ["Sandbox", "SandboxError", "UpResult", "connect", "down", "ensure_up", "status", "up"]
