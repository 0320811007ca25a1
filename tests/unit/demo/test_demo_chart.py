"""The demo's chart draws every run it is given, the gated one included."""
from __future__ import annotations

from pathlib import Path

import pytest

from demo import chart
from demo.figures import Point


def test_the_chart_draws_the_three_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib.axes

    labels: list[str] = []
    step = matplotlib.axes.Axes.step

    def recording(self: matplotlib.axes.Axes, *args: object, **kw: object) -> object:
        labels.append(str(kw.get("label")))
        return step(self, *args, **kw)

    monkeypatch.setattr(matplotlib.axes.Axes, "step", recording)
    run = [Point(x=float(x), faulty_share=5.0 if x >= 0 else 0.0, error_rate=1.0 if x >= 0 else 0.0)
           for x in range(-5, 10)]
    gated = [Point(x=float(x), faulty_share=0.0, error_rate=0.0) for x in range(-5, 10)]
    out = chart.write(tmp_path / "demo.png", ripcord=run, baseline=run, asked=[(0.0, 0.0), (2.0, 5.0)],
                      ripcord_detect_x=4.0, baseline_detect_x=8.0, window_s=10.0, title="t",
                      failed=(8, 900, 0), gated=gated, gated_detect_x=1.5)
    assert out.stat().st_size > 0
    assert "Ripcord with the pre-traffic gate (0 failed requests)" in labels
    assert "without Ripcord (900 failed requests in the window)" in labels
    assert sum("pre-traffic gate" in x for x in labels) == 2  # both panels
