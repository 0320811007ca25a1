"""The liveness endpoint of a standby replica.

Kopf serves ``/healthz`` (``--liveness``) only once it runs, and a standby replica does
not run Kopf until it holds the leader Lease. Without an answer on the probe's port the
kubelet would restart every standby forever. ``StandbyHealth`` answers on the same
address while the replica waits, for as long as ``check()`` says the elector is alive;
the edge shuts it down right before starting Kopf on that port.
"""
from __future__ import annotations

import http.server
import json
import threading
from typing import Callable, Optional
from urllib.parse import urlsplit


class StandbyHealth:
    """A tiny HTTP server answering ``GET <path>`` with 200 while ``check()`` is true, else 503."""

    def __init__(self, url: str, check: Callable[[], bool]) -> None:
        parts = urlsplit(url)
        self.path = parts.path or "/healthz"
        self._check = check
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path.split("?", 1)[0] != owner.path:
                    self.send_error(404)
                    return
                ok = owner._check()
                body = json.dumps({"role": "standby", "ok": ok}).encode()
                self.send_response(200 if ok else 503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - probes are noise
                pass

        self._server = http.server.ThreadingHTTPServer((parts.hostname or "0.0.0.0", parts.port or 8080), Handler)
        self._server.daemon_threads = True
        self._thread: Optional[threading.Thread] = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> "StandbyHealth":
        self._thread = threading.Thread(target=self._server.serve_forever, name="ripcord-standby-health",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop and free the port (Kopf binds it next)."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
