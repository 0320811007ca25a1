"""`ripcord run`: the operator process. `ripcord crd`: print the CRD.

Kopf does the watching; this wires the reconciler (Kubernetes client, analyzer, notifier)
into it, and sets the things Kopf must not default: finalizer, annotation prefixes,
standalone mode (one active replica; leader election gates it, not Kopf's peering).
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
    run.add_argument("--log-format", choices=["text", "json"], default=os.environ.get("RIPCORD_LOG_FORMAT", "text"))
    run.add_argument("--verbose", action="store_true")
    run.add_argument("--liveness", default=None, help="e.g. http://0.0.0.0:8080/healthz")
    run.add_argument("--metrics-port", type=int, default=None, help="serve operator metrics on this port")
    run.add_argument("--leader-elect", action="store_true", help="act only while holding the Lease")
    run.add_argument("--lease-name", default="ripcord-operator")
    run.add_argument("--lease-namespace", default=os.environ.get("POD_NAMESPACE", "ripcord-system"))
    sub.add_parser("crd", help="print the Release CRD")
    return p


def _api_client(kubeconfig: Optional[str], calls: "KubeApiCalls") -> Any:
    """The operator's client; every request it sends is counted in ``calls`` (telemetry.kubecalls)."""
    from kubernetes import config

    from ripcord.telemetry.kubecalls import CountingApiClient
    if kubeconfig:
        os.environ["KUBECONFIG"] = kubeconfig  # Kopf logs in from the same file
        config.load_kube_config(config_file=kubeconfig)
    else:
        try:
            config.load_incluster_config()
        except config.ConfigException:
            config.load_kube_config()
    return CountingApiClient(calls)


def build_reconciler(api_client: Any, config_path: Optional[str]) -> Any:
    from ripcord.reconcile import Reconciler
    from ripcord.telemetry import default_metrics
    from ripcord.wiring import analyzer_and_checks, notifier_for
    analyzer, check = analyzer_and_checks(api_client, config_path)
    return Reconciler(api_client, analyzer=analyzer, check_prometheus=check,
                      notifier=notifier_for(api_client, config_path), metrics=default_metrics())


def run(args: argparse.Namespace) -> int:
    import kopf
    kopf.configure(verbose=args.verbose,
                   log_format=kopf.LogFormat.JSON if args.log_format == "json" else kopf.LogFormat.PLAIN)
    if not args.verbose:
        # "Timer 'reconcile' succeeded" once a second per Release drowns the transitions Ripcord logs.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    from ripcord.telemetry import default_metrics, start_metrics_server
    from ripcord.telemetry.kubecalls import KubeApiCalls
    metrics = default_metrics()
    api_client = _api_client(args.kubeconfig, KubeApiCalls(metrics.registry))
    from ripcord import operator as edge
    namespaces = args.namespace or []
    edge.install(build_reconciler(api_client, args.config), namespaces=namespaces)
    if args.metrics_port:
        start_metrics_server(args.metrics_port, metrics=metrics)

    def operate() -> None:
        kopf.run(standalone=True, clusterwide=not namespaces, namespaces=namespaces,
                 liveness_endpoint=args.liveness)

    if not args.leader_elect:
        metrics.set_leader(True)
        operate()
        return 0
    from ripcord.leader import kubernetes_elector, run_as_leader
    elector = kubernetes_elector(api_client, namespace=args.lease_namespace, name=args.lease_name)
    run_as_leader(operate, elector=elector, liveness_url=args.liveness, on_change=metrics.set_leader)
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
