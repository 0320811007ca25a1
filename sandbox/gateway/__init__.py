"""The sandbox's gateway stand-in: the data plane and Gateway API controller of the sandbox.

It watches Services, Pods and HTTPRoutes, sends steady request loads the way a cluster's
data plane would route them (over the ready pods a Service selects, or by an HTTPRoute's
backendRef weights), records what every client saw per second, exports per-backend
request metrics modelled on Istio's, and accepts HTTPRoutes attached to the Gateway
``sandbox-gateway`` by writing their ``status.parents``.

Pure parts (unit-tested): :mod:`.model` (API objects → small records), :mod:`.routing`,
:mod:`.record`, the status computation in :mod:`.routes`. Edges: :mod:`.discovery`
(watches), :mod:`.load` (asyncio request loops), :mod:`.upstream` (lean keep-alive HTTP
client), :mod:`.metrics`, :mod:`.api` (control HTTP API), :mod:`.client` (a small client of
that API for tests and the demo), :mod:`.bench` (CPU per request rate).
"""

from ..layout import GATEWAY_PORT, HOST

GATEWAY_NAME = "sandbox-gateway"
GATEWAY_GROUP = "gateway.networking.k8s.io"
CONTROLLER_NAME = "ripcord.dev/sandbox-gateway"
# The sandbox's gateway address, port offset included (RIPCORD_SANDBOX_PORT_OFFSET): a client
# of a second sandbox must never drive the first one's gateway.
DEFAULT_LISTEN = f"{HOST}:{GATEWAY_PORT}"
# Same buckets as the demo app (docs/design.md), so app and gateway latency compare.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
