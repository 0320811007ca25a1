"""Prometheus (Debian's build, which has no Kubernetes discovery): config and process.

Pods are discovered through the file_sd targets file the kubelet stand-in writes; the
gateway stand-in is a static target (job ``gateway``).
"""

from __future__ import annotations

import urllib.request

import yaml

from .layout import GATEWAY_PORT, HOST, PROMETHEUS_PORT, Paths
from .proc import Component

PROMETHEUS_BIN = "/usr/bin/prometheus"


def url() -> str:
    return f"http://{HOST}:{PROMETHEUS_PORT}"


def config(paths: Paths) -> dict:
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {"job_name": "pods",
             "file_sd_configs": [{"files": [str(paths.targets_dir / "*.json")], "refresh_interval": "1s"}]},
            {"job_name": "gateway",
             "static_configs": [{"targets": [f"{HOST}:{GATEWAY_PORT}"]}]},
        ],
    }


def write_config(paths: Paths) -> None:
    paths.targets_dir.mkdir(parents=True, exist_ok=True)
    (paths.prometheus_dir / "prometheus.yml").write_text(yaml.safe_dump(config(paths), sort_keys=False))


def healthy() -> bool:
    with urllib.request.urlopen(f"{url()}/-/ready", timeout=2) as resp:
        return resp.status == 200


def component(paths: Paths) -> Component:
    d = paths.prometheus_dir
    return Component(
        name="prometheus",
        argv=[PROMETHEUS_BIN, f"--config.file={d / 'prometheus.yml'}", f"--storage.tsdb.path={d / 'data'}",
              "--storage.tsdb.retention.time=6h", f"--web.listen-address={HOST}:{PROMETHEUS_PORT}",
              "--web.enable-lifecycle", "--log.level=warn"],
        health=healthy,
        address=url(),
        start_timeout=60,
    )
