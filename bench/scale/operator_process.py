"""The operator under test: ``ripcord run`` as its own process, under the operator identity
(the shipped RBAC), watching the benchmark's namespaces, with its metrics on a local port."""
from __future__ import annotations

import socket
import time
import urllib.request
from pathlib import Path
from typing import Any, Optional, Sequence

from sandbox.prometheus import VIRTUAL_SCRAPE_INTERVAL_S
from sandbox.releases import OperatorProcess, write_operator_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OperatorUnderTest:
    def __init__(self, sandbox: Any, namespaces: Sequence[str], workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        config = write_operator_config(workdir / "ripcord.yaml", sandbox.prometheus_url,
                                       scrape_interval_s=VIRTUAL_SCRAPE_INTERVAL_S)
        self.port = _free_port()
        self.log_path = workdir / "operator.log"
        self.process = OperatorProcess(str(sandbox.operator_kubeconfig), list(namespaces), self.log_path, config,
                                       args=["--metrics-port", str(self.port)])

    @property
    def pid(self) -> int:
        assert self.process.proc is not None
        return self.process.proc.pid

    def start(self, timeout: float = 60) -> "OperatorUnderTest":
        self.process.start()
        deadline = time.monotonic() + timeout
        while True:
            if self.process.exited() is not None:
                raise RuntimeError(f"the operator exited ({self.process.exited()}):\n{self.process.log_tail()}")
            try:
                self.metrics(timeout=2)
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no operator metrics on port {self.port} after {timeout:.0f}s") from None
                time.sleep(0.5)

    def metrics(self, timeout: float = 10) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=timeout) as resp:
            return str(resp.read().decode())

    def running(self) -> bool:
        return self.process.proc is not None and self.process.exited() is None

    def stop(self) -> Optional[int]:
        self.process.stop()
        return self.process.exited()
