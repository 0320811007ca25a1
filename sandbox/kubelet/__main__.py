"""``python -m sandbox.kubelet --kubeconfig K --state-dir D``: run the kubelet stand-in."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from pathlib import Path

from ..layout import HOST, KUBELET_PORT, Paths
from .api import KubeClient
from .node import Kubelet
from .server import serve


async def amain(args: argparse.Namespace) -> None:
    paths = Paths(Path(args.state_dir).resolve())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with KubeClient(Path(args.kubeconfig)) as api:
        kubelet = Kubelet(api, paths,
                          backoff_base=float(os.environ.get("RIPCORD_SANDBOX_BACKOFF_BASE", "10")),
                          backoff_max=float(os.environ.get("RIPCORD_SANDBOX_BACKOFF_MAX", "300")))
        kubelet.kill_orphans()
        await kubelet.register()
        server = await serve(kubelet, HOST, KUBELET_PORT, paths.pki / "kubelet.crt", paths.pki / "kubelet.key")
        tasks = [loop.create_task(c) for c in (kubelet.heartbeat(), kubelet.targets.run(), kubelet.watch_pods())]
        logging.info("kubelet stand-in running (node sandbox-node, logs on https://%s:%d)", HOST, KUBELET_PORT)
        done, _ = await asyncio.wait([*tasks, loop.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            if t in tasks and t.exception():
                logging.error("kubelet task failed: %r", t.exception())
        logging.info("stopping: terminating %d pods' processes", len(kubelet.workers))
        for t in tasks:
            t.cancel()
        await kubelet.shutdown()
        await server.cleanup()


def main() -> None:
    p = argparse.ArgumentParser(prog="sandbox.kubelet")
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--state-dir", required=True)
    p.add_argument("--log-level", default="INFO")
    args = p.parse_args()
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(amain(args))


if __name__ == "__main__":
    main()
