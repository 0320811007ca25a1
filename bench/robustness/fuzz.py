"""Part (a): seeded fuzzed Release specs through the real API server while a healthy Release rolls out.

``BENCH_FUZZ_SPECS`` cases (default 500) from :mod:`.specs` (seed ``BENCH_SEED``) are
created as Releases, ``BENCH_FUZZ_BATCH`` at a time (default 25), in one namespace of the
sandbox with ``ripcord run`` watching it under the shipped RBAC. Meanwhile a healthy
Release in the same namespace rolls out one good version after another; each rollout must
end Promoted within ``BENCH_FUZZ_HEALTHY_DEADLINE_S`` (default 120 s).

For each case: refused by the API server's schema (and whether the refusal names the field),
or stored; a stored one then gets the operator's verdict: ``InvalidSpec`` (and whether its
message names the field) or accepted (any other phase), within ``BENCH_FUZZ_VERDICT_S``
(default 60 s). After each batch the Releases are deleted. Counted throughout:

* operator tracebacks in its log, and whether the process is still running;
* changes to objects a fuzzed Release does not own: bystander objects that no Release
  owns (a Service ``victim``, ``victim-a``, a Deployment ``victim-b``, the ConfigMap and
  Secret the templates name), and objects owned by one Release but pointed at another
  (a label, a selector or a route backend naming another Release);
* the healthy rollouts: each on time, and Promoted.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import secrets
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from .report import table
from .specs import BYSTANDER, HOOK_URL, FuzzCase, fuzz_cases

GROUP, VERSION, PLURAL = "ripcord.dev", "v1alpha1", "releases"
RELEASE_LABEL = "ripcord.dev/release"
HEALTHY = "healthy"
BYSTANDER_OBJECTS = (("Service", BYSTANDER), ("Service", f"{BYSTANDER}-a"), ("Deployment", f"{BYSTANDER}-b"),
                     ("ConfigMap", "cfg"), ("Secret", "sec"))
DELETE_WAIT_S = 20.0  # for the operator to finalize a deleted Release (then the bench lets it go, counted)
_FIELD_PATH = re.compile(r"(^|[\s:\[(\"'])(spec|metadata)(\.[A-Za-z$][\w$-]*|\[\d+\])+")


# ------------------------------------------------------------------ pure helpers

def dumps(value: Any) -> str:
    """JSON text of ``value`` without recursion (``json.dumps`` cannot encode the deep cases)."""
    out: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Raw):
            out.append(item.text)
        elif isinstance(item, dict):
            parts: list[Any] = [_Raw("{")]
            for i, (k, v) in enumerate(item.items()):
                parts += [_Raw(("," if i else "") + json.dumps(str(k)) + ":"), v]
            stack.extend(reversed(parts + [_Raw("}")]))
        elif isinstance(item, list):
            parts = [_Raw("[")]
            for i, v in enumerate(item):
                parts += ([_Raw(",")] if i else []) + [v]
            stack.extend(reversed(parts + [_Raw("]")]))
        else:
            out.append(json.dumps(item))
    return "".join(out)


@dataclasses.dataclass(frozen=True)
class _Raw:
    text: str


def has_field_path(message: str) -> bool:
    """The message names a field: ``spec.analysis.interval``, ``metadata.name``, ``spec.steps[0]``."""
    return bool(_FIELD_PATH.search(message or ""))


def refusal_field(status_body: Any) -> Optional[str]:
    """The first field the API server's refusal (a Status object) names, if any."""
    try:
        body = json.loads(status_body) if isinstance(status_body, (str, bytes)) else status_body
        causes = (body.get("details") or {}).get("causes") or []
    except (ValueError, AttributeError):
        return None
    for cause in causes:
        if cause.get("field"):
            return str(cause["field"])
    message = str(body.get("message") or "") if isinstance(body, dict) else ""
    found = _FIELD_PATH.search(message)
    return found.group(0).strip(" :[(\"'") if found else None


@dataclasses.dataclass(frozen=True)
class Verdict:
    kind: str  # "invalid" (InvalidSpec and friends), "accepted", "pending"
    reason: str = ""
    message: str = ""

    @property
    def named(self) -> bool:
        return has_field_path(self.message)


def verdict(release: Mapping[str, Any]) -> Verdict:
    """What the operator made of a stored Release: pending until its status is for this generation."""
    status = release.get("status") or {}
    generation = (release.get("metadata") or {}).get("generation")
    if not status.get("phase") or status.get("observedGeneration") != generation:
        return Verdict("pending")
    stalled: Mapping[str, Any] = next((c for c in status.get("conditions") or [] if c.get("type") == "Stalled"), {})
    if status["phase"] == "InvalidSpec":
        return Verdict("invalid", str(stalled.get("reason") or ""), str(stalled.get("message") or status.get("message")))
    return Verdict("accepted", str(status["phase"]))


def fingerprint(obj: Mapping[str, Any]) -> str:
    """What someone else could change about an object: labels, annotations, owners, spec, data.

    Status and bookkeeping that controllers update (resourceVersion, managedFields, the
    Deployment revision annotation) are left out.
    """
    meta = obj.get("metadata") or {}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items()
                   if k != "deployment.kubernetes.io/revision"}
    picked = {"labels": meta.get("labels"), "annotations": annotations, "owners": meta.get("ownerReferences"),
              "spec": obj.get("spec"), "data": obj.get("data")}
    return hashlib.sha256(json.dumps(picked, sort_keys=True, default=str).encode()).hexdigest()[:16]


def misowned(obj: Mapping[str, Any]) -> Optional[str]:
    """Why an object owned by Release R points at another Release (a foreign change), or None."""
    meta = obj.get("metadata") or {}
    owner = next((r["name"] for r in meta.get("ownerReferences") or []
                  if r.get("kind") == "Release" and r.get("controller")), None)
    if owner is None:
        return None
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    label = (meta.get("labels") or {}).get(RELEASE_LABEL)
    if label not in (None, owner):
        return f"label {RELEASE_LABEL}={label}"
    if kind == "Service":
        selected = (spec.get("selector") or {}).get(RELEASE_LABEL)
        if selected not in (None, owner):
            return f"selector {RELEASE_LABEL}={selected}"
    if kind == "Deployment":
        selected = ((spec.get("selector") or {}).get("matchLabels") or {}).get(RELEASE_LABEL)
        pods = (((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}).get(RELEASE_LABEL)
        if selected not in (None, owner) or pods not in (None, owner):
            return f"selects pods of {selected or pods}"
    if kind == "HTTPRoute":
        for rule in spec.get("rules") or []:
            for ref in rule.get("backendRefs") or []:
                if not str(ref.get("name", "")).startswith(f"{owner}-"):
                    return f"backend {ref.get('name')}"
    return None


# ------------------------------------------------------------------ the run

@dataclasses.dataclass
class Tally:
    specs: int = 0
    schema_rejected: int = 0
    schema_rejected_named: int = 0
    invalid_spec: int = 0
    invalid_spec_named: int = 0
    accepted: int = 0
    no_verdict: int = 0
    other_refusals: int = 0  # e.g. 409 when a name is still being deleted
    stuck_deletions: int = 0
    foreign: set[str] = dataclasses.field(default_factory=set)
    by_category: Counter[str] = dataclasses.field(default_factory=Counter)
    invalid_reasons: Counter[str] = dataclasses.field(default_factory=Counter)
    unnamed: list[str] = dataclasses.field(default_factory=list)  # examples of messages without a field
    examples: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # a few cases per odd outcome

    def example(self, what: str, text: str) -> None:
        found = self.examples.setdefault(what, [])
        if len(found) < 5:
            found.append(text)


@dataclasses.dataclass
class Healthy:
    rollouts: int = 0
    on_time: int = 0
    durations: list[float] = dataclasses.field(default_factory=list)
    failures: list[str] = dataclasses.field(default_factory=list)


def main() -> dict[str, Any]:
    import sandbox
    from ripcord.kube import safejson
    safejson.install_client()  # the bench reads back Releases nested deeper than Python can recurse

    seed = int(os.environ.get("BENCH_SEED", "20260701"))
    count = int(os.environ.get("BENCH_FUZZ_SPECS", "500"))
    batch = int(os.environ.get("BENCH_FUZZ_BATCH", "25"))
    verdict_s = float(os.environ.get("BENCH_FUZZ_VERDICT_S", "60"))
    deadline_s = float(os.environ.get("BENCH_FUZZ_HEALTHY_DEADLINE_S", "120"))
    workdir = Path(os.environ.get("BENCH_OUT", "build/bench-robustness")) / "fuzz"
    workdir.mkdir(parents=True, exist_ok=True)
    sb = sandbox.connect()
    run = FuzzRun(sb, f"bench-fuzz-{secrets.token_hex(3)}", workdir, deadline_s)
    started = time.monotonic()
    with run.namespace():
        tally, healthy, operator = run.run(fuzz_cases(seed, count), batch, verdict_s)
    return _report(seed, tally, healthy, operator, time.monotonic() - started, deadline_s)


class FuzzRun:
    def __init__(self, sb: Any, ns: str, workdir: Path, healthy_deadline_s: float) -> None:
        from kubernetes import client

        from sandbox.releases import Releases
        self.sb, self.ns, self.workdir = sb, ns, workdir
        self.api = sb.api_client()
        # Any: the bench sends and reads plain dicts; the client's models would check them first
        self.core: Any = client.CoreV1Api(self.api)
        self.apps: Any = client.AppsV1Api(self.api)
        self.custom: Any = client.CustomObjectsApi(self.api)
        self.releases = Releases(self.api, ns)
        self.healthy_deadline_s = healthy_deadline_s
        self.operator: Any = None
        self.log_path = workdir / "operator.log"

    # ------------------------------------------------------------ namespace, bystanders, operator

    @contextlib.contextmanager
    def namespace(self) -> Any:
        from kubernetes import client

        from sandbox.releases import clear_release_finalizers, install_ripcord
        install_ripcord(self.sb.admin_kubeconfig)
        self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
            name=self.ns, labels={"ripcord.dev/test": "true"})))
        _wait(lambda: self._sa_ready(), 60, "the namespace's default ServiceAccount")
        try:
            yield
        finally:
            if self.operator is not None:
                self.operator.stop()
            with contextlib.suppress(Exception):
                clear_release_finalizers(self.api, self.ns)
                self.core.delete_namespace(self.ns)

    def _sa_ready(self) -> bool:
        from kubernetes.client.exceptions import ApiException
        try:
            return bool(self.core.read_namespaced_service_account("default", self.ns).secrets)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise

    def _bystanders(self) -> None:
        labels = {"app": BYSTANDER}
        self.core.create_namespaced_service(self.ns, {"metadata": {"name": BYSTANDER}, "spec": {
            "selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
        self.core.create_namespaced_service(self.ns, {"metadata": {"name": f"{BYSTANDER}-a"}, "spec": {
            "selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
        self.apps.create_namespaced_deployment(self.ns, {"metadata": {"name": f"{BYSTANDER}-b"}, "spec": {
            "replicas": 0, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
                "containers": [{"name": "app", "image": "fuzz.invalid/bystander:1"}]}}}})
        self.core.create_namespaced_config_map(self.ns, {"metadata": {"name": "cfg"}, "data": {"k": "v"}})
        self.core.create_namespaced_secret(self.ns, {"metadata": {"name": "sec"}, "stringData": {"token": "t"}})

    def _bystander_prints(self) -> dict[str, str]:
        out = {}
        for kind, name in BYSTANDER_OBJECTS:
            read = {"Service": self.core.read_namespaced_service, "Deployment": self.apps.read_namespaced_deployment,
                    "ConfigMap": self.core.read_namespaced_config_map, "Secret": self.core.read_namespaced_secret}[kind]
            out[f"{kind}/{name}"] = fingerprint(self.api.sanitize_for_serialization(read(name, self.ns)))
        return out

    def _start_operator(self) -> None:
        import yaml

        from sandbox.releases import OperatorProcess, write_operator_config
        config = write_operator_config(self.workdir / "operator.yaml", self.sb.prometheus_url)
        settings = yaml.safe_load(config.read_text())
        settings["webhooks"] = {"allowedUrls": [HOOK_URL.rsplit("/", 1)[0] + "/"]}  # nothing listens there
        config.write_text(yaml.safe_dump(settings))
        self.log_path.write_text("")
        self.operator = OperatorProcess(str(self.sb.operator_kubeconfig), self.ns, self.log_path, config).start()

    # ------------------------------------------------------------ the fuzz

    def run(self, cases: list[FuzzCase], batch: int, verdict_s: float) -> tuple[Tally, Healthy, dict[str, Any]]:
        from sandbox.releases import release_manifest
        self._bystanders()
        before = self._bystander_prints()
        self._start_operator()
        self.releases.apply(release_manifest(HEALTHY, "1.0.0"))
        self.releases.wait_phase(HEALTHY, "Stable", timeout=120)
        healthy, stop = Healthy(), threading.Event()
        roller = threading.Thread(target=self._roll_healthy, args=(healthy, stop), name="healthy", daemon=True)
        roller.start()
        tally = Tally()
        pending = list(cases)
        while pending:
            now: list[FuzzCase] = []
            later: list[FuzzCase] = []
            names: set[str] = set()
            for case in pending:
                (later if case.name in names or len(now) >= batch else now).append(case)
                names.add(case.name)
            self._batch(now, tally, verdict_s, before)
            pending = later
            print(f"[fuzz] {tally.specs}/{len(cases)} applied: {tally.schema_rejected} refused by the schema, "
                  f"{tally.invalid_spec} InvalidSpec, {tally.accepted} accepted; healthy rollouts "
                  f"{healthy.on_time}/{healthy.rollouts}", flush=True)
        stop.set()
        roller.join(timeout=self.healthy_deadline_s + 30)
        tally.foreign |= self._foreign(before)
        alive = self.operator.exited() is None
        self.operator.stop()
        log = self.log_path.read_text(errors="replace")
        operator = {"alive": alive, "tracebacks": log.count("Traceback (most recent call last)"),
                    "errors": sum(1 for line in log.splitlines() if " ERROR " in line or "[ERROR" in line)}
        return tally, healthy, operator

    def _batch(self, cases: list[FuzzCase], tally: Tally, verdict_s: float, before: Mapping[str, str]) -> None:
        stored: dict[str, FuzzCase] = {}
        for case in cases:
            tally.specs += 1
            tally.by_category[case.category] += 1
            status, body = self._create(case)
            if status in (200, 201):
                stored[case.name] = case
            elif status == 422:
                tally.schema_rejected += 1
                tally.schema_rejected_named += refusal_field(body) is not None
            else:
                tally.other_refusals += 1
                tally.example("other refusal", f"{case.name} {case.note}: HTTP {status}")
        verdicts = self._await_verdicts(set(stored), verdict_s)
        for name, v in verdicts.items():
            if v.kind == "invalid":
                tally.invalid_spec += 1
                tally.invalid_reasons[v.reason] += 1
                if v.named:
                    tally.invalid_spec_named += 1
                elif len(tally.unnamed) < 5:
                    tally.unnamed.append(f"{stored[name].note}: {v.message[:160]}")
            elif v.kind == "accepted":
                tally.accepted += 1
            else:
                tally.no_verdict += 1
                tally.example("no verdict", f"{name} ({stored[name].category}) {stored[name].note}")
        tally.foreign |= self._foreign(before)
        stuck = self._delete(list(stored))
        tally.stuck_deletions += len(stuck)
        for name in stuck:
            tally.example("deletion not finalized", f"{name} ({stored[name].category}) {stored[name].note}")

    def _create(self, case: FuzzCase) -> tuple[int, Any]:
        body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Release", "metadata": {"name": case.name}, "spec": case.spec}
        cfg = self.api.configuration
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        token = cfg.auth_settings().get("BearerToken")
        if token:
            headers[token["key"]] = token["value"]
        url = f"{cfg.host}/apis/{GROUP}/{VERSION}/namespaces/{self.ns}/{PLURAL}"
        r = self.api.rest_client.pool_manager.request("POST", url, body=dumps(body).encode(),
                                                      headers=headers, timeout=30)
        return r.status, r.data

    def _list(self) -> list[dict[str, Any]]:
        return list(self.custom.list_namespaced_custom_object(GROUP, VERSION, self.ns, PLURAL,
                                                              _request_timeout=30)["items"])

    def _await_verdicts(self, names: set[str], timeout_s: float) -> dict[str, Verdict]:
        deadline = time.monotonic() + timeout_s
        found: dict[str, Verdict] = {n: Verdict("pending") for n in names}
        while True:
            for item in self._list():
                name = item["metadata"]["name"]
                if name in found and found[name].kind == "pending":
                    found[name] = verdict(item)
            if all(v.kind != "pending" for v in found.values()) or time.monotonic() > deadline:
                return found
            time.sleep(1.0)

    def _delete(self, names: list[str]) -> set[str]:
        from kubernetes.client.exceptions import ApiException
        for name in names:
            with contextlib.suppress(ApiException):
                self.custom.delete_namespaced_custom_object(GROUP, VERSION, self.ns, PLURAL, name,
                                                            _preload_content=False)
        deadline = time.monotonic() + DELETE_WAIT_S
        left = set(names)
        while left and time.monotonic() < deadline:
            left &= {i["metadata"]["name"] for i in self._list()}
            time.sleep(0.5)

        for name in left:  # the operator did not finalize it: count it, and let it go
            with contextlib.suppress(ApiException):
                self.custom.patch_namespaced_custom_object(GROUP, VERSION, self.ns, PLURAL, name,
                                                           {"metadata": {"finalizers": None}})
        for name in names:  # what deletionPolicy Retain left behind
            selector = f"{RELEASE_LABEL}={name}"
            for d in self.apps.list_namespaced_deployment(self.ns, label_selector=selector).items:
                with contextlib.suppress(ApiException):
                    self.apps.delete_namespaced_deployment(d.metadata.name, self.ns, _preload_content=False)
            for s in self.core.list_namespaced_service(self.ns, label_selector=selector).items:
                with contextlib.suppress(ApiException):  # not read back: the client cannot parse the Status reply
                    self.core.delete_namespaced_service(s.metadata.name, self.ns, _preload_content=False)
        return left

    def _foreign(self, before: Mapping[str, str]) -> set[str]:
        found = {f"{key} changed" for key, print_ in self._bystander_prints().items() if before.get(key) != print_}
        objects: Iterable[Any] = [
            *[dict(self.api.sanitize_for_serialization(d), kind="Deployment")
              for d in self.apps.list_namespaced_deployment(self.ns).items],
            *[dict(self.api.sanitize_for_serialization(s), kind="Service")
              for s in self.core.list_namespaced_service(self.ns).items]]
        with contextlib.suppress(Exception):
            objects = [*objects, *[dict(r, kind="HTTPRoute") for r in self.custom.list_namespaced_custom_object(
                "gateway.networking.k8s.io", "v1", self.ns, "httproutes")["items"]]]
        for obj in objects:
            if (why := misowned(obj)) is not None:
                found.add(f"{obj['kind']}/{obj['metadata']['name']}: {why}")
        return found

    # ------------------------------------------------------------ the healthy Release

    def _roll_healthy(self, healthy: Healthy, stop: threading.Event) -> None:
        from sandbox.releases import release_manifest
        n = 0
        while not stop.is_set():
            n += 1
            version = f"1.{n}.0"
            started = time.monotonic()
            self.releases.apply(release_manifest(HEALTHY, version))
            healthy.rollouts += 1
            outcome = None
            while time.monotonic() - started < self.healthy_deadline_s:
                with contextlib.suppress(Exception):
                    history = self.releases.status(HEALTHY).get("history") or []
                    outcome = next((h["outcome"] for h in history if h.get("version") == version
                                    and h.get("outcome") != "Progressing"), None)
                if outcome is not None:
                    break
                time.sleep(0.5)
            took = time.monotonic() - started
            healthy.durations.append(round(took, 1))
            if outcome == "Promoted":
                healthy.on_time += 1
            else:
                healthy.failures.append(f"{version}: {outcome or 'no outcome'} after {took:.0f}s")
                return


def _wait(fn: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not fn():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(0.25)


def _report(seed: int, t: Tally, h: Healthy, op: Mapping[str, Any], seconds: float, deadline_s: float) -> dict[str, Any]:
    healthy_ok = h.rollouts > 0 and h.on_time == h.rollouts and not h.failures
    figures = {
        "fuzz_seed": seed, "fuzz_specs": t.specs, "fuzz_schema_rejected": t.schema_rejected,
        "fuzz_schema_rejected_with_path": t.schema_rejected_named, "fuzz_invalid_spec": t.invalid_spec,
        "fuzz_invalid_spec_with_path": t.invalid_spec_named, "fuzz_accepted": t.accepted,
        "fuzz_no_verdict": t.no_verdict, "fuzz_other_refusals": t.other_refusals,
        "fuzz_stuck_deletions": t.stuck_deletions, "fuzz_operator_errors": int(op["tracebacks"]) + (not op["alive"]),
        "fuzz_operator_tracebacks": op["tracebacks"], "fuzz_operator_alive": op["alive"],
        "fuzz_foreign_changes": len(t.foreign), "healthy_rollout_ok": healthy_ok, "healthy_rollouts": h.rollouts,
        "healthy_rollout_max_s": max(h.durations, default=None),
    }
    rows: list[tuple[str, Any]] = [
        ("specs applied", t.specs),
        ("refused by the schema", f"{t.schema_rejected} ({t.schema_rejected_named} naming the field)"),
        ("InvalidSpec", f"{t.invalid_spec} ({t.invalid_spec_named} naming the field)"),
        ("accepted", t.accepted), ("no verdict in time", t.no_verdict), ("other refusals (409...)", t.other_refusals),
        ("deletions the operator did not finish", t.stuck_deletions),
        ("operator tracebacks", op["tracebacks"]), ("operator still running", op["alive"]),
        ("changes to objects a Release does not own", len(t.foreign)),
        ("healthy rollouts (on time / started)", f"{h.on_time}/{h.rollouts} within {deadline_s:.0f}s, "
                                                 f"longest {max(h.durations, default=0):.0f}s"),
        ("InvalidSpec reasons", dict(t.invalid_reasons)), ("seconds", round(seconds, 1)),
    ]
    print(table(f"bench-robustness (a) fuzz: seed {seed}", rows), flush=True)
    for what in sorted(t.foreign)[:10]:
        print(f"  foreign change: {what}", flush=True)
    for what in t.unnamed:
        print(f"  InvalidSpec without a field path: {what}", flush=True)
    for kind, found in sorted(t.examples.items()):
        for what in found:
            print(f"  {kind}: {what}", flush=True)
    for what in h.failures:
        print(f"  healthy rollout failed: {what}", flush=True)
    return figures
