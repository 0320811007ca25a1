"""A local webhook receiver that counts deliveries per idempotency key (duplicates allowed, counted)."""
from __future__ import annotations

import http.server
import threading
import time
from collections import Counter
from typing import Iterable


class Receiver:
    """Answers 200 to every POST on 127.0.0.1 (a free port) and counts ``Idempotency-Key`` headers."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                key = self.headers.get("Idempotency-Key") or "(none)"
                with owner._lock:
                    owner._counts[key] += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="bench-webhook-receiver", daemon=True)
        self._thread.start()

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def wait_for(self, keys: Iterable[str], timeout_s: float) -> bool:
        """Wait until every key arrived at least once (bounded); whether they all did."""
        wanted = set(keys)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if wanted <= set(self.counts()):
                return True
            time.sleep(0.25)
        return wanted <= set(self.counts())

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
