"""``python -m sandbox.gateway --listen 127.0.0.1:18080 --kubeconfig K --state-dir D``.

Threads: one watcher per kind and the route status controller (the kubernetes client
is synchronous); everything else (loads, control API, metrics) runs on one asyncio loop.
SIGTERM/SIGINT stop the loads (they stay saved), write their last record rows, and exit.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import threading
from pathlib import Path

from aiohttp import web
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from . import DEFAULT_LISTEN
from .api import make_app
from .discovery import ClusterState, start_watchers
from .load import LoadManager
from .metrics import GatewayMetrics
from .routes import RouteStatusController

log = logging.getLogger("sandbox.gateway")


def _default_state_dir() -> str:
    return os.environ.get("RIPCORD_SANDBOX_DIR") or os.path.expanduser("~/.cache/ripcord/sandbox")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m sandbox.gateway", description="The sandbox's gateway stand-in.")
    p.add_argument("--listen", default=DEFAULT_LISTEN, help="host:port of the control API and /metrics")
    p.add_argument("--kubeconfig", default=None, help="default: <state-dir>/admin.kubeconfig")
    p.add_argument("--state-dir", default=_default_state_dir(), help="records go to <state-dir>/gateway/")
    p.add_argument("--log-level", default="INFO")
    args = p.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        p.error("--listen must be host:port")
    args.host, args.port = host, int(port)
    args.kubeconfig = args.kubeconfig or os.path.join(args.state_dir, "admin.kubeconfig")
    return args


def kube_client(kubeconfig: str) -> k8s.ApiClient:
    cfg = k8s.Configuration()
    k8s_config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
    cfg.connection_pool_maxsize = 8  # three long watches plus status writes
    return k8s.ApiClient(cfg)


async def serve(args: argparse.Namespace) -> None:
    stop = threading.Event()
    state = ClusterState()
    api = kube_client(args.kubeconfig)
    start_watchers(api, state, stop)
    RouteStatusController(api, state, stop).start()

    metrics = GatewayMetrics()
    manager = LoadManager(state, metrics, Path(args.state_dir))
    await manager.start()
    runner = web.AppRunner(make_app(manager, state, metrics), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, args.host, args.port).start()
    log.info("gateway listening on %s:%d (state %s)", args.host, args.port, args.state_dir)

    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    await done.wait()
    log.info("stopping")
    stop.set()
    await manager.close()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kubernetes").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
