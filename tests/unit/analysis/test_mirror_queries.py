"""Mirrored requests: read for the mirror phase only, left out of a mirroring Release's steps."""
from __future__ import annotations

from ripcord.analysis import analyzer as analyzer_mod
from ripcord.analysis.queries import APP, GATEWAY, requests_query, without_mirrored
from ripcord.api.models import MetricSpec
from ripcord.config import parse_config
from tests.unit.analysis.test_analyzer import CONFIG, FakeProm, TARGET, T_NOW, T_SINCE, make, spec

GATEWAY_ERRORS = MetricSpec(name="gw", type="error-rate", source="gateway", judge="threshold", max=0.05)


def test_without_mirrored_adds_the_sources_mirror_matcher_and_leaves_others_alone() -> None:
    q = requests_query(without_mirrored(GATEWAY), "shop", ["web-b", "web-a"])
    assert q.count('mirrored!="true"') == 2, "both selectors: by backend Service and by answering workload"
    assert without_mirrored(APP) == APP
    assert 'mirrored' not in requests_query(GATEWAY, "shop", ["web-b"])


def test_a_mirroring_release_reads_mirrored_series_in_its_mirror_phase_only(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(analyzer_mod, "SEQUENTIAL_MODULE", "ripcord.analysis.judge._absent_for_tests")
    prom = FakeProm()
    for mirror, excluded in ((None, False), (True, False), (False, True)):
        a = make(prom)  # a fresh operator each time: one instant's answers are shared within one
        prom.asked.clear()
        kw = {} if mirror is None else {"mirror": mirror}
        a.analyze(spec(GATEWAY_ERRORS), TARGET, since=T_SINCE, now=T_NOW, step=0, weight=0.0, judge_state=None,
                  failed_checks=0, **kw)
        asked = [q for q, _, _ in prom.asked]
        assert asked and all(('mirrored!="true"' in q) is excluded for q in asked), (mirror, asked)


def test_the_mirror_label_is_a_metric_source_setting() -> None:
    cfg = parse_config({"metricSources": {"gateway": {"preset": "istio", "mirrorLabel": "shadow"}}}, env={})
    assert cfg.source("gateway").mirror_label == "shadow"
    assert CONFIG.source("gateway").mirror_label == "mirrored"
