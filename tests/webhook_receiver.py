"""A real HTTP receiver on 127.0.0.1 (port 0) for webhook tests."""
from __future__ import annotations

import http.server
import json
import threading
from typing import Any


class Receiver:
    """Records every POST; answers from a per-path script of status codes, or hangs on "hang"."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: dict[str, list[Any]] = {}
        self.release = threading.Event()
        self.lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with owner.lock:
                    owner.requests.append({"path": self.path, "headers": dict(self.headers),
                                           "json": json.loads(body)})
                    todo = owner.script.get(self.path) or [200]
                    step = todo.pop(0) if len(todo) > 1 else todo[0]
                if step == "hang":
                    owner.release.wait(30)
                    return
                self.send_response(step)
                if step in (301, 302, 307):
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def paths(self) -> list[str]:
        with self.lock:
            return [r["path"] for r in self.requests]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
