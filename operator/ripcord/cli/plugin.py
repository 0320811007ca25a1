"""`kubectl ripcord`: see and steer Releases (console script ``kubectl-ripcord``).

kubectl finds an executable named ``kubectl-ripcord`` on PATH and runs it for
``kubectl ripcord ...``; this module is that executable. It reads with the kubernetes
client and the user's kubeconfig, renders with the pure :mod:`ripcord.cli.render` and
:mod:`ripcord.cli.postmortem`, and writes only annotations (:mod:`ripcord.cli.actions`).
"""
from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, TextIO

from ripcord.cli import actions, outcome, postmortem, render
from ripcord.cli.outcome import (EXIT_CODES_HELP, EXIT_ERROR, EXIT_IGNORED, EXIT_OK, EXIT_ROLLED_BACK, EXIT_TIMEOUT,
                                 EXIT_USAGE, watch_result)

INTERRUPTED = 130
Now = Callable[[], dt.datetime]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# ---------------------------------------------------------------------------- arguments

class _Parser(argparse.ArgumentParser):
    """Usage errors exit 64 (EX_USAGE): exit 2 means an invalid Release spec to `get --watch`."""

    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def seconds(text: str) -> float:
    """``90``, ``90s``, ``10m``, ``1h30m`` -> seconds (0 means no limit)."""
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
        return float(text)
    from ripcord.api.models import parse_duration
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


OUTPUTS = ("json", "yaml")
COMPLETION_HELP = """\
  bash:  echo 'eval "$(kubectl-ripcord completion bash)"' >> ~/.bashrc
  zsh:   echo 'eval "$(kubectl-ripcord completion zsh)"' >> ~/.zshrc
This completes `kubectl-ripcord ...`. `kubectl ripcord ...` completes through kubectl's own
completion (kubectl 1.26 or newer), which runs `kubectl_complete-ripcord` from the PATH; the
same package installs it. Release names are completed from the cluster (3 s timeout).
"""


def release_name(action: argparse.Action) -> argparse.Action:
    """Complete this argument with the names of the Releases in the namespace."""
    action.completer = complete_release_names  # type: ignore[attr-defined]
    return action


def complete_release_names(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
    """Release names for shell completion; nothing (never an error) when the cluster cannot say."""
    try:
        from ripcord.cli.actions import GROUP, PLURAL, VERSION
        from ripcord.cli.kube import load
        from kubernetes import client
        api, default_ns = load(getattr(parsed_args, "kubeconfig", None), getattr(parsed_args, "context", None))
        custom = client.CustomObjectsApi(api)
        listed: Any
        if getattr(parsed_args, "all_namespaces", False):
            listed = custom.list_cluster_custom_object(GROUP, VERSION, PLURAL, _request_timeout=3)
        else:
            ns = getattr(parsed_args, "namespace", None) or default_ns
            listed = custom.list_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, _request_timeout=3)
        items: list[Any] = listed["items"]
        return sorted({str(r["metadata"]["name"]) for r in items if str(r["metadata"]["name"]).startswith(prefix)})
    except Exception:  # noqa: BLE001 - completion must never print a traceback into the shell
        return []


def build_parser() -> argparse.ArgumentParser:
    common: argparse.ArgumentParser = _Parser(add_help=False)
    common.add_argument("--kubeconfig", default=argparse.SUPPRESS, help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    common.add_argument("--context", default=argparse.SUPPRESS, help="kubeconfig context (default: the current one)")
    common.add_argument("-n", "--namespace", default=argparse.SUPPRESS, help="namespace (default: the context's)")

    p = _Parser(prog="kubectl ripcord", parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter,
                description="See and steer Ripcord canary Releases.", epilog=EXIT_CODES_HELP)
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def command(name: str, help_: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common],  # type: ignore[list-item]  # typeshed wants the subclass help=help_, description=help_, epilog=EXIT_CODES_HELP,
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    def all_namespaces(cmd: argparse.ArgumentParser, what: str) -> None:
        cmd.add_argument("-A", "--all-namespaces", action="store_true", help=what)

    def output(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument("-o", "--output", choices=OUTPUTS, default=None,
                         help="print the API objects as JSON or YAML instead of the table")

    get = command("get", "show a Release live (or list Releases): phase, step, weights, analysis, pods")
    release_name(get.add_argument("name", nargs="?", help="the Release; omit to list the namespace's Releases"))
    get.add_argument("-w", "--watch", action="store_true",
                     help="refresh until the rollout ends; exit 0 when Ready (promoted), 3 when rolled back "
                          "or aborted, 2 on an invalid spec")
    get.add_argument("--timeout", type=seconds, default=0.0, help="with --watch: give up after this long "
                     "(e.g. 15m; exit 4); default: no limit")
    get.add_argument("--interval", type=seconds, default=1.0, help="with --watch: seconds between refreshes")
    all_namespaces(get, "list Releases in every namespace; with a name, find that Release in any namespace")
    output(get)

    hist = command("history", "table of a Release's past rollouts (the last 20): outcome, duration, reach, reason")
    release_name(hist.add_argument("name", nargs="?", help="the Release; omit for every Release of the namespace"))
    all_namespaces(hist, "every namespace; with a name, find that Release in any namespace")
    output(hist)

    pm = command("postmortem", "Markdown incident report of one rollout (default: the latest that did not ship)")
    release_name(pm.add_argument("name"))
    pm.add_argument("--rollout", type=int, default=None, help="rollout id (see `history`)")
    pm.add_argument("--prometheus", default=None, metavar="URL",
                    help="count the canary's requests and errors over the rollout window from this Prometheus")
    pm.add_argument("-o", "--output", default=None, help="write the report to this file instead of stdout")

    for action, help_ in (("promote", "promote the rollout in flight at its next decision (skips the remaining steps "
                                      "and pauses; approves a Release that requires approval)"),
                          ("abort", "abort the rollout in flight: traffic back to stable, the version stays rolled back"),
                          ("pause", "hold the rollout in flight at its current weight"),
                          ("resume", "let a paused rollout continue (also ends a pause step)"),
                          ("retry", "let the last rolled-back template roll out again"),
                          ("drill", "rollback drill: a canary of the stable's own template to the first step, then "
                                    "rolled back; reports the time to restore 100% stable")):
        a = command(action, help_)
        release_name(a.add_argument("name"))
        a.add_argument("--wait", action="store_true", default=action == "drill",
                       help="wait until the operator acknowledges the request (a drill: until it is over); "
                       "exit 5 if it acknowledged but did not act on it")
        a.add_argument("--timeout", type=seconds, default=300.0 if action == "drill" else 60.0,
                       help="with --wait: give up after this long (exit 4)")

    ver = sub.add_parser("version", help="print the plugin's version and the API it speaks")
    output(ver)
    comp = sub.add_parser("completion", formatter_class=argparse.RawDescriptionHelpFormatter,
                          help="print a shell completion script (bash or zsh)",
                          description="print a shell completion script for kubectl-ripcord", epilog=COMPLETION_HELP)
    comp.add_argument("shell", choices=("bash", "zsh"))
    return p


# ---------------------------------------------------------------------------- commands

class Plugin:
    def __init__(self, cluster: Any, namespace: str, out: TextIO, err: TextIO, now: Now = _utcnow,
                 sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic,
                 is_tty: Optional[bool] = None) -> None:
        self.cluster, self.ns, self.out, self.err = cluster, namespace, out, err
        self.now, self.sleep, self.monotonic = now, sleep, monotonic
        self.is_tty = out.isatty() if is_tty is None else is_tty

    def print(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def warn(self, text: str) -> None:
        self.err.write(text + "\n")
        self.err.flush()

    # -------------------------------------------------------------- get

    def emit(self, obj: Any, fmt: str) -> None:
        """``-o json|yaml``: the objects as the API server returns them (JSON indented like kubectl's)."""
        if fmt == "yaml":
            import yaml
            self.out.write(yaml.safe_dump(obj, sort_keys=False, allow_unicode=True))
        else:
            import json
            self.out.write(json.dumps(obj, indent=4, ensure_ascii=False) + "\n")
        self.out.flush()

    def locate(self, name: str, all_namespaces: bool) -> render.Obj:
        """The Release ``name``: in the namespace, or with ``-A`` the one Release of that name in any namespace."""
        if not all_namespaces:
            release: render.Obj = self.cluster.release(self.ns, name)
            return release
        from ripcord.cli.kube import NotFound
        found: list[render.Obj] = self.cluster.find(name)
        if not found:
            raise NotFound(f'release "{name}" not found in any namespace')
        if len(found) > 1:
            where = ", ".join(str(render.dig(r, "metadata", "namespace")) for r in found)
            raise Ambiguous(f'release "{name}" exists in several namespaces ({where}): choose one with -n')
        self.ns = str(render.dig(found[0], "metadata", "namespace"))  # --watch and later reads follow it
        return found[0]

    def get(self, args: argparse.Namespace) -> int:
        fmt = getattr(args, "output", None)
        all_ns = bool(getattr(args, "all_namespaces", False))
        if args.watch and fmt:
            self.warn("error: --watch prints the live view; -o json|yaml prints the object once")
            return EXIT_USAGE
        if not args.name:
            if args.watch:
                self.warn("error: --watch needs a Release name")
                return EXIT_USAGE
            releases = self.cluster.releases(None if all_ns else self.ns)
            if fmt:
                self.emit({"apiVersion": "v1", "kind": "List", "items": list(releases),
                           "metadata": {"resourceVersion": ""}}, fmt)
                return EXIT_OK
            if not releases:
                self.warn("No Releases found" + ("" if all_ns else f" in namespace {self.ns}") + ".")
                return EXIT_OK
            self.print(render.releases_table(releases, self.now(), namespaces=all_ns))
            return EXIT_OK
        release = self.locate(args.name, all_ns)
        if fmt:
            self.emit(dict(release), fmt)
            return EXIT_OK
        if not args.watch:
            self.print(render.release_view(release, self.cluster.workloads(release), self.now()))
            return EXIT_OK
        return self.watch(args.name, args.timeout, args.interval)

    def watch(self, name: str, timeout: float, interval: float) -> int:
        """Refresh until :func:`outcome.watch_result` says the rollout is over, or the timeout."""
        from ripcord.cli.kube import NotFound
        deadline = self.monotonic() + timeout if timeout > 0 else None
        last_line: Optional[str] = None
        failing: Optional[str] = None
        while True:
            try:
                release = self.cluster.release(self.ns, name)
                workloads = self.cluster.workloads(release)
                failing = None
            except NotFound as exc:
                self.warn(f"error: {exc}")
                return EXIT_ERROR
            except Exception as exc:  # a blip of the API server must not end a CI watch
                msg = f"warning: cannot read release {name}: {type(exc).__name__}: {exc}"
                if msg != failing:
                    self.warn(msg)
                failing = msg
                release = None
            if release is not None:
                ended = watch_result(release)
                if self.is_tty:
                    self.out.write("\x1b[H\x1b[2J")
                    self.print(render.release_view(release, workloads, self.now()))
                    if ended is None:
                        self.print(f"\nwatching every {interval:g}s — Ctrl-C to stop")
                else:
                    line = render.progress_line(release)
                    if line != last_line:
                        self.print(f"{render.clock(self.now())} {line}")
                        last_line = line
                if ended is not None:
                    if not self.is_tty:
                        self.print("")
                        self.print(render.release_view(release, workloads, self.now()))
                    self.print("")
                    self.print(f"rollout ended ({_code_name(ended.code)}, exit {ended.code}): {ended.message}")
                    return ended.code
            if deadline is not None and self.monotonic() >= deadline:
                self.warn(f"timed out after {render.duration(timeout)} waiting for release {name} to finish "
                          "its rollout")
                return EXIT_TIMEOUT
            self.sleep(interval if deadline is None else max(0.0, min(interval, deadline - self.monotonic())))

    # -------------------------------------------------------------- history, postmortem

    def history(self, args: argparse.Namespace) -> int:
        fmt = getattr(args, "output", None)
        all_ns = bool(getattr(args, "all_namespaces", False))
        if args.name:
            release = self.locate(args.name, all_ns)
            if fmt:
                self.emit(_history_object(release), fmt)
            else:
                self.print(render.history_table(release, self.now()))
            return EXIT_OK
        releases = self.cluster.releases(None if all_ns else self.ns)
        if fmt:
            self.emit([_history_object(r) for r in releases], fmt)
        elif not releases:
            self.warn("No Releases found" + ("" if all_ns else f" in namespace {self.ns}") + ".")
        else:
            self.print(render.histories_table(releases, self.now(), namespaces=all_ns))
        return EXIT_OK

    def version(self, args: argparse.Namespace) -> int:
        info = version_info()
        if getattr(args, "output", None):
            self.emit(info, args.output)
        else:
            self.print(f"kubectl-ripcord {info['version']} (API {info['api']}, Python {info['python']})")
        return EXIT_OK

    def postmortem(self, args: argparse.Namespace) -> int:
        release = self.cluster.release(self.ns, args.name)
        try:
            entry = postmortem.pick_rollout(release, args.rollout)
        except postmortem.NoRollout as exc:
            self.warn(f"error: {exc}")
            return EXIT_ERROR
        events = self.cluster.events(release)
        impact = impact_error = None
        if args.prometheus:
            impact, impact_error = self._impact(args.prometheus, release, entry)
        text = postmortem.build(release, events, rollout_id=entry.get("id"), impact=impact, impact_error=impact_error,
                                prometheus=args.prometheus, generated_at=self.now())
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
            self.warn(f"wrote {args.output}")
        else:
            self.out.write(text)
            self.out.flush()
        return EXIT_OK

    def _impact(self, url: str, release: render.Obj, entry: render.Obj) -> tuple[Any, Optional[str]]:
        from ripcord.analysis.prometheus import PrometheusClient
        from ripcord.cli import impact
        from ripcord.config import PromEndpoint
        try:
            client = PrometheusClient(PromEndpoint(name="cli", url=url.rstrip("/"), timeout_s=10.0))
            return impact.measure(client, release, entry, self.now()), None
        except Exception as exc:  # the report is still worth having without the counts
            return None, f"{type(exc).__name__}: {exc}"

    # -------------------------------------------------------------- actions

    def action(self, args: argparse.Namespace) -> int:
        action: actions.Action = args.command
        release = self.cluster.release(self.ns, args.name)
        try:
            rid, value = actions.request(self.cluster.custom, release, action)
        except actions.ActionError as exc:
            self.warn(f"error: {exc}")
            return EXIT_ERROR
        self.print(f"release {args.name}: {action} requested for rollout {rid} "
                   f"({actions.annotation(action)}={value})")
        if not args.wait:
            return EXIT_OK
        release = actions.wait_acknowledged(lambda: self.cluster.release(self.ns, args.name), action, value,
                                            args.timeout, sleep=self.sleep, monotonic=self.monotonic)
        if release is None:
            self.warn(f"timed out after {render.duration(args.timeout)}: the operator has not acknowledged "
                      f"{action} {value} (is it running?)")
            return EXIT_TIMEOUT
        eff = actions.effect(release, action, rid)
        if eff.applied and action == "drill":
            self.print(f"acknowledged: {eff.message}")
            return self._drill_report(args, rid)
        if eff.applied:
            self.print(f"acknowledged: {eff.message}")
            return EXIT_OK
        self.warn(f"acknowledged but not acted on: {eff.message}")
        return EXIT_IGNORED


    def _drill_report(self, args: argparse.Namespace, after: int) -> int:
        """Wait for the drill to end; print how long the data plane took to serve the stable 100% again."""
        deadline = self.monotonic() + args.timeout
        while True:
            entry = actions.drill_entry(self.cluster.release(self.ns, args.name), after) or {}
            if entry.get("outcome") not in (None, "Progressing"):
                break
            if self.monotonic() >= deadline:
                self.warn(f"timed out after {render.duration(args.timeout)}: drill {entry.get('id', '?')} is not over")
                return EXIT_TIMEOUT
            self.sleep(0.5)
        if entry.get("outcome") != "Drilled":
            reason = (entry.get("reason") or {}).get("message", "")
            self.warn(f"drill {entry.get('id')} ended {entry.get('outcome')}" + (f": {reason}" if reason else ""))
            return EXIT_ROLLED_BACK
        self.print(f"drill {entry.get('id')}: rolled back at {entry.get('weightReached')}%; the stable served 100% "
                   f"again {entry.get('restoreSeconds')} s after the rollback was decided")
        return EXIT_OK


class Ambiguous(LookupError):
    """``-A NAME`` matched Releases in several namespaces."""


def _history_object(release: render.Obj) -> dict[str, Any]:
    meta = release.get("metadata") or {}
    return {"namespace": meta.get("namespace"), "release": meta.get("name"),
            "history": list(render.dig(release, "status", "history", default=[]))}


def version_info() -> dict[str, str]:
    """The plugin's own version (the installed package's), the API it speaks, the Python it runs on."""
    import platform
    from importlib import metadata

    from ripcord.api.models import GROUP, VERSION
    try:
        version = metadata.version("ripcord")
    except metadata.PackageNotFoundError:
        version = "unknown (not installed as a package)"
    return {"version": version, "api": f"{GROUP}/{VERSION}", "python": platform.python_version()}


def completion_script(shell: str) -> str:
    """The shell code that completes ``kubectl-ripcord`` (argcomplete's, for bash or zsh)."""
    from argcomplete import shell_integration
    return str(shell_integration.shellcode(["kubectl-ripcord"], shell=shell))


def complete(words: Sequence[str]) -> list[str]:
    """Completions for ``kubectl-ripcord <words>``, the last word being the one typed so far."""
    import io
    import os

    from argcomplete import finders
    line = " ".join(["kubectl-ripcord", *words])
    env = {"_ARGCOMPLETE": "1", "COMP_LINE": line, "COMP_POINT": str(len(line)), "_ARGCOMPLETE_IFS": "\n"}
    saved = {k: os.environ.get(k) for k in (*env, "_ARGCOMPLETE_SHELL", "_ARGCOMPLETE_DFS")}
    os.environ.update(env)
    for k in ("_ARGCOMPLETE_SHELL", "_ARGCOMPLETE_DFS"):
        os.environ.pop(k, None)
    class Finder(finders.CompletionFinder):  # type: ignore[misc]  # argcomplete is untyped
        def _init_debug_stream(self) -> None:
            """Not file descriptor 9, as argcomplete's shell code has it: here it may be anyone's."""
            import argcomplete.io as arg_io
            arg_io.debug_stream = sys.stderr

    out = io.StringIO()
    try:
        Finder()(build_parser(), output_stream=out, exit_method=lambda *_: None)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return [c.rstrip() for c in out.getvalue().split("\n") if c.strip()]


def kubectl_complete_main(argv: Optional[Sequence[str]] = None) -> int:
    """``kubectl_complete-ripcord``: kubectl (1.26+) runs it to complete ``kubectl ripcord ...``.

    kubectl passes the words after ``ripcord`` (the last one partial) and reads one completion
    per line, then ``:<directive>`` (4: no file completion), as Cobra's ``__complete`` does.
    """
    words = list(sys.argv[1:] if argv is None else argv) or [""]
    for c in complete(words):
        sys.stdout.write(c + "\n")
    sys.stdout.write(":4\n")
    return 0


def _code_name(code: int) -> str:
    return {outcome.EXIT_OK: "shipped", outcome.EXIT_INVALID_SPEC: "invalid spec",
            outcome.EXIT_ROLLED_BACK: "did not ship", outcome.EXIT_ERROR: "error"}.get(code, "ended")


# ---------------------------------------------------------------------------- entry point

def main(argv: Optional[Sequence[str]] = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    parser = build_parser()
    try:
        import argcomplete
        argcomplete.autocomplete(parser)  # only acts when the shell asks for completions
    except ImportError:
        pass
    args = parser.parse_args(argv)
    if args.command == "completion":
        sys.stdout.write(completion_script(args.shell))
        return EXIT_OK
    if args.command == "version":  # needs no cluster
        return Plugin(None, "default", sys.stdout, sys.stderr).version(args)
    from ripcord.kube import safejson
    safejson.install_client()  # a Release nested deeper than Python can recurse must not break `get`/`history`
    import urllib3
    from kubernetes.client.rest import ApiException

    from ripcord.cli.kube import Cluster, NotFound, load
    try:
        api, default_ns = load(getattr(args, "kubeconfig", None), getattr(args, "context", None))
    except Exception as exc:
        sys.stderr.write(f"error: cannot load the kubeconfig: {exc}\n")
        return EXIT_ERROR
    plugin = Plugin(Cluster(api), getattr(args, "namespace", None) or default_ns, sys.stdout, sys.stderr)
    run = {"get": plugin.get, "history": plugin.history, "postmortem": plugin.postmortem}.get(args.command, plugin.action)
    try:
        return run(args)
    except (NotFound, Ambiguous) as exc:
        plugin.warn(f"error: {exc}")
        return EXIT_ERROR
    except ApiException as exc:
        plugin.warn(f"error: the API server answered {exc.status} {exc.reason}: {_api_message(exc)}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        return INTERRUPTED
    except (OSError, urllib3.exceptions.HTTPError) as exc:  # connection refused, unreadable file...
        plugin.warn(f"error: {type(exc).__name__}: {exc}")
        return EXIT_ERROR


def _api_message(exc: Any) -> str:
    import json
    try:
        return str(json.loads(exc.body).get("message"))
    except (TypeError, ValueError, AttributeError):
        return str(exc.body or "")


if __name__ == "__main__":
    sys.exit(main())
