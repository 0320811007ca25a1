"""`ripcord run`: the operator process. `ripcord crd`: print the CRD.

Kopf does the watching; this builds the runtime (a bounded Kubernetes client, the analyzer,
the notifier, the stores and the scheduler) for each operator start, and runs Kopf in
standalone mode: one active replica per shard, gated by a Lease (``--leader-elect``), not by
Kopf's peering.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import TYPE_CHECKING, Any, Optional, Sequence

if TYPE_CHECKING:
    from ripcord.telemetry.kubecalls import KubeApiCalls

log = logging.getLogger("ripcord")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ripcord", description="Ripcord: canary releases for Kubernetes")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the operator")
    run.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"), help="default: in-cluster or ~/.kube/config")
    scope = run.add_mutually_exclusive_group()
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="watch every namespace (default)")
    scope.add_argument("-n", "--namespace", action="append", default=[], help="watch only these namespaces")
    run.add_argument("--config", default=os.environ.get("RIPCORD_CONFIG"), help="operator configuration YAML")
    run.add_argument("--log-format", choices=["text", "json"], default=os.environ.get("RIPCORD_LOG_FORMAT", "text"),
                     help="json: one object per line (time, level, logger, message, namespace, release, rollout); "
                          "default: $RIPCORD_LOG_FORMAT or text")
    run.add_argument("--verbose", action="store_true")
    run.add_argument("--liveness", default=None, help="e.g. http://0.0.0.0:8080/healthz")
    run.add_argument("--metrics-port", type=int, default=int(os.environ.get("RIPCORD_METRICS_PORT") or 0) or None,
                     help="serve operator metrics on this port")
    run.add_argument("--leader-elect", action="store_true", help="act only while holding the Lease")
    run.add_argument("--lease-name", default="ripcord-operator")
    run.add_argument("--lease-namespace", default=os.environ.get("POD_NAMESPACE", "ripcord-system"))
    run.add_argument("--shard", default=os.environ.get("RIPCORD_SHARD", ""),
                     help="reconcile only Releases labelled ripcord.dev/shard=SHARD (default: those without the "
                     "label); each shard has its own Lease")
    run.add_argument("--workers", type=int, default=int(os.environ.get("RIPCORD_WORKERS", "32")),
                     help="reconciles run at once (default 32)")
    run.add_argument("--resync-seconds", type=float, default=float(os.environ.get("RIPCORD_RESYNC_SECONDS", "300")),
                     help="a Release at rest is reconciled at least this often (default 300)")
    sub.add_parser("crd", help="print the Release CRD")
    return p


def run(args: argparse.Namespace) -> int:
    from ripcord.kube import safejson
    safejson.install()  # before anything decodes: one deep object must not stop the watch (docs/reliability.md)
    import kopf

    from ripcord import logs
    from ripcord import operator as edge
    from ripcord.kube.client import api_client
    from ripcord.runtime.app import Settings, build
    from ripcord.telemetry import default_metrics, start_metrics_server
    from ripcord.telemetry.kubecalls import KubeApiCalls
    from ripcord.wiring import analyzer_and_checks, notifier_for, prober_for

    logs.setup(args.log_format, verbose=args.verbose)  # every line, Kopf's too, in one format
    if not args.verbose:
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    metrics = default_metrics()
    if args.kubeconfig:
        os.environ["KUBECONFIG"] = args.kubeconfig
    # a connection for each reconcile thread, the leader election, the notifier and the probes
    api = api_client(args.kubeconfig, counter=KubeApiCalls(metrics.registry).count, connections=args.workers + 8)
    settings = Settings(namespaces=tuple(args.namespace or ()), shard=args.shard or None,
                        workers=args.workers, resync_s=args.resync_seconds)
    analyzer, check = analyzer_and_checks(api, args.config)
    prober = prober_for(args.config)
    electors: list[Any] = [None]
    fence = None
    if args.leader_elect:
        from ripcord.leader import fence_for
        fence = fence_for(lambda: electors[0])

    def runtime() -> Any:
        kwargs: dict[str, Any] = {"fence": fence} if fence is not None else {}
        return build(api, settings, analyzer=analyzer, check_spec=check, notifier=notifier_for(api, args.config),
                     metrics=metrics, prober=prober, **kwargs)

    if args.metrics_port:
        start_metrics_server(args.metrics_port, metrics=metrics)

    def operate(stop: Any = None) -> None:
        edge.install(runtime, stop_flag=stop)
        kopf.run(standalone=True, clusterwide=not settings.namespaces, namespaces=list(settings.namespaces),
                 liveness_endpoint=args.liveness, stop_flag=stop)

    if not args.leader_elect:
        metrics.set_leader(True)
        operate()
        return 0
    from ripcord.leader import kubernetes_elector, run_as_leader
    lease = args.lease_name + (f"-{args.shard}" if args.shard else "")
    run_as_leader(operate, make_elector=lambda: kubernetes_elector(api, namespace=args.lease_namespace, name=lease),
                  liveness_url=args.liveness, on_change=metrics.set_leader,
                  on_elector=lambda e: electors.__setitem__(0, e))
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "crd":
        from ripcord.api.crd import render
        sys.stdout.write(render())
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
