"""Prometheus (Debian's build, which has no Kubernetes discovery): config and process.

Pods are discovered through the file_sd targets file the kubelet stand-in writes; the
gateway stand-in is a static target (job ``gateway``). Virtual pods
(``sandbox.kubelet.virtual``) have no address to scrape: the kubelet stand-in serves all
their series at ``/metrics/virtual``, one target (job ``virtual-pods``) scraped every
``VIRTUAL_SCRAPE_INTERVAL_S`` with ``honor_labels``, so each series keeps the ``job`` and
``instance`` of the pod it stands for.
"""

from __future__ import annotations

import urllib.request
from typing import Any

import yaml

from .layout import GATEWAY_PORT, HOST, KUBELET_PORT, PROMETHEUS_PORT, Paths
from .proc import Component

PROMETHEUS_BIN = "/usr/bin/prometheus"
POD_JOB = "pods"
VIRTUAL_JOB = "virtual-pods"
VIRTUAL_METRICS_PATH = "/metrics/virtual"
#: Thousands of virtual pods in one target: a slower scrape than the 1 s of real pods keeps
#: Prometheus and the kubelet stand-in light. Analysis intervals should be >= 2x this.
VIRTUAL_SCRAPE_INTERVAL_S = 5


def url() -> str:
    return f"http://{HOST}:{PROMETHEUS_PORT}"


def config(paths: Paths) -> dict[str, Any]:
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {"job_name": POD_JOB,
             "file_sd_configs": [{"files": [str(paths.targets_dir / "*.json")], "refresh_interval": "1s"}]},
            {"job_name": "gateway",
             "static_configs": [{"targets": [f"{HOST}:{GATEWAY_PORT}"]}]},
            {"job_name": VIRTUAL_JOB, "honor_labels": True,
             "scrape_interval": f"{VIRTUAL_SCRAPE_INTERVAL_S}s",
             "scrape_timeout": f"{VIRTUAL_SCRAPE_INTERVAL_S - 1}s",
             "scheme": "https", "metrics_path": VIRTUAL_METRICS_PATH,
             "tls_config": {"ca_file": str(paths.pki / "ca.crt")},
             "static_configs": [{"targets": [f"{HOST}:{KUBELET_PORT}"]}]},
        ],
    }


def write_config(paths: Paths) -> bool:
    """Write prometheus.yml; True if its content changed."""
    paths.targets_dir.mkdir(parents=True, exist_ok=True)
    path = paths.prometheus_dir / "prometheus.yml"
    text = yaml.safe_dump(config(paths), sort_keys=False)
    if path.exists() and path.read_text() == text:
        return False
    path.write_text(text)
    return True


def reload() -> None:
    """Make a running Prometheus read its configuration again (``--web.enable-lifecycle``)."""
    req = urllib.request.Request(f"{url()}/-/reload", method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()


def healthy() -> bool:
    with urllib.request.urlopen(f"{url()}/-/ready", timeout=2) as resp:
        return bool(resp.status == 200)


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
