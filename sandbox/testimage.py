"""A tiny HTTP server, image ``ripcord/sandbox-test:<tag>``, for the sandbox's own tests.

``/`` and ``/healthz`` answer 200 with the version, ``/fail`` answers 500, anything else 404.
Knobs (arguments): ``--exit-after SECONDS`` and ``--exit-code N`` make it crash.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="sandbox.testimage")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--version", default="test")
    p.add_argument("--exit-after", type=float, default=None)
    p.add_argument("--exit-code", type=int, default=1)
    a = p.parse_args(argv)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            code = {"/": 200, "/healthz": 200, "/fail": 500}.get(self.path.split("?")[0], 404)
            body = f"{a.version}\n".encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((a.host, a.port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    if a.exit_after is not None:
        def crash() -> None:
            print(f"exiting with {a.exit_code} as asked", flush=True)
            sys.stdout.flush()
            import os
            os._exit(a.exit_code)
        threading.Timer(a.exit_after, crash).start()
    print(f"sandbox-test {a.version} listening on {a.host}:{a.port}", flush=True)
    server.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    main()
