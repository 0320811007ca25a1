"""What starts a rollout: the hash of the pod template and of the ConfigMaps and Secrets it reads."""
from __future__ import annotations

import copy
from typing import Any

from ripcord.api.template import referenced_objects, template_hash


def tpl(**env: str) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "demo", "tier": "web"}, "annotations": {"team": "shop"}},
            "spec": {"containers": [{"name": "app", "image": "ripcord/demo-app:1.0.0",
                                     "env": [{"name": k, "value": v} for k, v in env.items()],
                                     "ports": [{"containerPort": 8080, "protocol": "TCP"}]}]}}


def reversed_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: reversed_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reversed_keys(v) for v in value]
    return value


def test_hash_is_short_and_stable() -> None:
    h = template_hash(tpl())
    assert h == template_hash(copy.deepcopy(tpl())) and len(h) == 12 and int(h, 16) >= 0


def test_key_order_is_irrelevant() -> None:
    assert template_hash(reversed_keys(tpl(A="1", B="2"))) == template_hash(tpl(A="1", B="2"))


def test_any_template_change_changes_it() -> None:
    base = template_hash(tpl())
    assert template_hash(tpl(MODE="fast")) != base
    image = tpl()
    image["spec"]["containers"][0]["image"] = "ripcord/demo-app:2.0.0"
    assert template_hash(image) != base
    label = tpl()
    label["metadata"]["labels"]["tier"] = "api"
    assert template_hash(label) != base


def test_a_configmap_data_change_changes_it() -> None:
    t = tpl()
    t["spec"]["volumes"] = [{"name": "cfg", "configMap": {"name": "demo-config"}}]
    one = template_hash(t, {("ConfigMap", "demo-config"): {"data": {"rate": "0.01"}}})
    two = template_hash(t, {("ConfigMap", "demo-config"): {"data": {"rate": "0.02"}}})
    same = template_hash(t, {("ConfigMap", "demo-config"): {"data": {"rate": "0.01"}}})
    assert one != two and one == same


def test_a_referenced_object_appearing_changes_it() -> None:
    t = tpl()
    t["spec"]["containers"][0]["envFrom"] = [{"secretRef": {"name": "creds"}}]
    assert template_hash(t, {("Secret", "creds"): None}) != template_hash(t, {("Secret", "creds"): {"data": {}}})


def test_referenced_data_order_is_irrelevant() -> None:
    t = tpl()
    a = {("ConfigMap", "x"): {"data": {"a": "1", "b": "2"}}, ("Secret", "y"): {"data": {"k": "dg=="}}}
    b = {("Secret", "y"): {"data": {"k": "dg=="}}, ("ConfigMap", "x"): {"data": {"b": "2", "a": "1"}}}
    assert template_hash(t, a) == template_hash(t, b)


def test_no_references_is_the_same_as_an_empty_map() -> None:
    assert template_hash(tpl(), None) == template_hash(tpl(), {})


def test_referenced_objects_finds_every_way_a_pod_reads_config() -> None:
    t = {"spec": {
        "volumes": [
            {"name": "v1", "configMap": {"name": "cm-volume"}},
            {"name": "v2", "secret": {"secretName": "sec-volume"}},
            {"name": "v3", "projected": {"sources": [{"configMap": {"name": "cm-projected"}},
                                                     {"secret": {"name": "sec-projected"}},
                                                     {"serviceAccountToken": {"path": "token"}}]}},
            {"name": "v4", "emptyDir": {}},
        ],
        "initContainers": [{"name": "init", "envFrom": [{"configMapRef": {"name": "cm-init"}}]}],
        "containers": [{"name": "app",
                        "envFrom": [{"secretRef": {"name": "sec-envfrom"}}],
                        "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cm-key", "key": "a"}}},
                                {"name": "B", "valueFrom": {"secretKeyRef": {"name": "sec-key", "key": "b"}}},
                                {"name": "C", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                                {"name": "D", "value": "plain"}]}],
    }}
    assert referenced_objects(t) == {
        ("ConfigMap", "cm-volume"), ("Secret", "sec-volume"), ("ConfigMap", "cm-projected"),
        ("Secret", "sec-projected"), ("ConfigMap", "cm-init"), ("Secret", "sec-envfrom"),
        ("ConfigMap", "cm-key"), ("Secret", "sec-key")}


def test_referenced_objects_of_a_plain_template() -> None:
    assert referenced_objects(tpl(A="1")) == set()
    assert referenced_objects({}) == set()
