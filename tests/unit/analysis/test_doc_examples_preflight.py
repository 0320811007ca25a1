"""Every example Release in README.md and docs/*.md is one the pre-flight calls feasible.

An example states the traffic it assumes in a comment of its YAML block::

    # pre-flight: 200 rps, stable errors 1%

(optionally ``, slow 2%`` for the stable's share of slow requests; it defaults to the error
share). The test reads each block with ``kind: Release``, builds the spec with the API
models, and runs the pure pre-flight (``Analyzer.assess``) at that traffic, with the pod
counts the Release's traffic provider will run.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from ripcord.analysis import feasibility
from ripcord.analysis.analyzer import Analyzer
from ripcord.api.models import ReleaseSpec
from ripcord.config import parse_config
from ripcord.traffic import provider_for

ROOT = Path(__file__).resolve().parents[3]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```ya?ml\n(.*?)^```", re.S | re.M)
TRAFFIC = re.compile(r"#\s*pre-flight:\s*(?P<rps>[0-9.]+)\s*rps,\s*stable errors\s*(?P<errors>[0-9.]+)%"
                     r"(?:,\s*slow\s*(?P<slow>[0-9.]+)%)?")


def example_releases() -> list[Any]:
    out = []
    for doc in DOCS:
        text = doc.read_text()
        for m in BLOCK.finditer(text):
            block = m.group(1)
            if not re.search(r"^kind:\s*Release\s*$", block, re.M):
                continue
            line = text[:m.start()].count("\n") + 1
            body = yaml.safe_load(block)
            out.append(pytest.param(block, body, id=f"{doc.relative_to(ROOT)}:{line}:{body['metadata']['name']}"))
    return out


EXAMPLES = example_releases()


def test_the_docs_have_example_releases() -> None:
    assert len(EXAMPLES) >= 2  # the README's two; a parser that finds none would prove nothing


@pytest.mark.parametrize("block,body", EXAMPLES)
def test_example_release_is_feasible_at_the_traffic_it_states(block: str, body: dict[str, Any]) -> None:
    stated = TRAFFIC.search(block)
    assert stated, "state the traffic the example assumes: '# pre-flight: N rps, stable errors P%'"
    rps, errors = float(stated["rps"]), float(stated["errors"]) / 100
    slow = float(stated["slow"]) / 100 if stated["slow"] else errors
    spec = ReleaseSpec.model_validate(body["spec"])
    weights = spec.weights()
    provider = provider_for(spec.traffic.provider)
    traffic = {m.name: feasibility.Traffic(rps, slow if m.type == "latency" else errors)
               for m in spec.analysis.metrics}
    got = Analyzer(parse_config({}, env={})).assess(
        spec.analysis, traffic, weights=weights, canary_pods=provider.canary_replicas(spec, weights[0]),
        stable_pods=spec.replicas)
    assert got.feasible is True, got.message


def test_the_readme_s_old_shape_is_caught() -> None:
    """Issue 16: 3 stable + 3 canary pods, sequential judge, 1% at 50 rps, 6 min: infeasible,
    and the fix is computed (no pod count or duration helps with 3 stable pods)."""
    (block, body), = [p.values for p in EXAMPLES if p.id.startswith("README.md") and p.id.endswith(":web")]
    spec = ReleaseSpec.model_validate({**body["spec"], "replicas": 3,
                                       "traffic": {**body["spec"]["traffic"], "canaryReplicas": 3},
                                       "analysis": {**body["spec"]["analysis"], "maxDuration": "6m"}})
    got = Analyzer(parse_config({}, env={})).assess(
        spec.analysis, {m.name: feasibility.Traffic(50.0, 0.01) for m in spec.analysis.metrics},
        weights=spec.weights(), canary_pods=3, stable_pods=3)
    assert got.feasible is False
    assert "error-rate: use the threshold judge" in got.fix, got.fix
