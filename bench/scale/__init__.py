"""``make bench-scale``: Ripcord's cost and timeliness with many Releases on the sandbox.

Modules, one job each: ``settings`` (what to run, from the environment), ``scenario``
(namespaces, Release manifests, installing and rolling out), ``operator_process`` (the operator
under test as its own process), ``sources`` (the counters read before and after a window:
the operator's, the API server's, Prometheus's, /proc), ``phases`` (the at-rest and
rolling-out measurements), ``rollouts`` (what a rollout's status says: outcome, first
step, analysis lateness), ``stats`` and ``report`` (pure figures, the table, the JSON).
"""
