"""``python -m sandbox up|down|status``."""

from __future__ import annotations

import argparse
import sys

from .layout import Paths
from .lifecycle import Sandbox, down, status, up, usage
from .proc import SandboxError


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sandbox", description="the Ripcord sandbox cluster")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("up", help="start whatever is not running (idempotent)")
    d = sub.add_parser("down", help="stop every process the sandbox started")
    d.add_argument("--purge", action="store_true", help="also delete the state directory (etcd data, certs)")
    sub.add_parser("status", help="show each component; exit 1 unless all are healthy")
    args = p.parse_args(argv)
    paths = Paths.default()
    try:
        if args.cmd == "up":
            print(f"sandbox in {paths.root}")
            res = up(paths)
            print(f"sandbox up in {res.seconds:.1f}s" + ("" if res.started else " (was already running)"))
            print(usage(res.sandbox))
        elif args.cmd == "down":
            stopped = down(paths, purge=args.purge)
            print("sandbox down" + ("" if stopped else " (nothing was running)"))
        else:
            states = status(paths)
            for name, state in states.items():
                print(f"  {name:<24}{state}")
            if all(s == "healthy" for s in states.values()):
                print(usage(Sandbox.from_paths(paths)))
                return 0
            return 1
    except SandboxError as e:
        print(f"sandbox: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
