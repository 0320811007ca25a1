"""Per-second record rows: what counts as failed, empty seconds, percentiles, files."""

from __future__ import annotations

from pathlib import Path

from sandbox.gateway.record import Aggregator, Outcome, RecordFile, percentile, read_rows, summarize


def test_rows_per_second_with_gaps_and_failures() -> None:
    agg = Aggregator(start=1000.2)
    agg.add(Outcome(1000.5, 200, 1.0, version="1.0.0", workload="web-a", service="web-a"))
    agg.add(Outcome(1000.9, 500, 3.0, version="2.0.0", workload="web-b", service="web-b"))
    agg.add(Outcome(1002.1, 503, 0.0, flags="UH", service="web-b"))  # no ready canary pod
    agg.add(Outcome(1002.3, 504, 2000.0, flags="UT", workload="web-b", service="web-b"))
    assert agg.close_until(1000.99) == []  # second 1000 is not over yet
    rows = agg.close_until(1003.01)
    assert [r["t"] for r in rows] == [1000, 1001, 1002]
    first, empty, last = rows
    assert (first["total"], first["ok"], first["failed"]) == (2, 1, 1)
    assert first["by_version"] == {"1.0.0": 1, "2.0.0": 1}
    assert first["failed_by_version"] == {"2.0.0": 1}
    assert first["by_workload"] == {"web-a": 1, "web-b": 1}
    assert empty["total"] == 0 and empty["latency_ms_p50"] is None
    assert last["by_code"] == {"503": 1, "504": 1} and last["by_flags"] == {"UH": 1, "UT": 1}
    assert last["failed_by_version"] == {"none": 2} and last["ok"] == 0
    # what the canary's clients saw fail, answered or not
    assert last["failed_by_service"] == {"web-b": 2} and last["by_workload"] == {"none": 1, "web-b": 1}
    assert first["by_service"] == {"web-a": 1, "web-b": 1} and first["failed_by_service"] == {"web-b": 1}
    total = summarize(rows)
    assert total["failed_by_service"] == {"web-b": 3} and total["by_service"] == {"web-a": 1, "web-b": 3}
    assert total["failed_by_backend"] == {"web-b": 3} and total["by_backend"] == {"web-a": 1, "web-b": 3}
    assert agg.close_until(1003.5) == []


def test_backend_is_the_pod_deployment_else_the_chosen_service() -> None:
    # replicas provider: one Service for both slots; a refused request names the pod it was sent to
    assert Outcome(0, 503, 0, flags="UF", workload="web-b", service="web").backend == "web-b"
    # gateway-api provider, no ready canary pod: the slot's Service, named like its Deployment
    assert Outcome(0, 503, 0, flags="UH", service="web-b").backend == "web-b"
    assert Outcome(0, 404, 0, flags="NR").backend == "none"


def test_late_outcome_goes_to_the_first_open_second() -> None:
    agg = Aggregator(start=1000)
    agg.close_until(1002.0)
    agg.add(Outcome(1000.5, 200, 1.0))  # clock stepped back: never rewrite a written row
    rows = agg.close_until(1003.0)
    assert [(r["t"], r["total"]) for r in rows] == [(1002, 1)]


def test_final_flush_includes_the_current_second() -> None:
    agg = Aggregator(start=1000)
    agg.add(Outcome(1000.5, 200, 1.0))
    assert [r["t"] for r in agg.close_until(1000.6, include_current=True)] == [1000]


def test_percentiles_nearest_rank() -> None:
    values = sorted(float(v) for v in range(1, 101))
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_file_roundtrip_since_limit_and_partial_line(tmp_path: Path) -> None:
    path = tmp_path / "gateway" / "web.jsonl"
    f = RecordFile(path, truncate=True)
    agg = Aggregator(start=10)
    for t in (10.1, 11.1, 11.2, 12.5):
        agg.add(Outcome(t, 200, 1.0, version="1.0.0"))
    f.write(agg.close_until(13))
    with open(path, "a") as raw:
        raw.write('{"t": 13, "tot')  # a row being written
    rows = read_rows(path)
    assert [r["t"] for r in rows] == [10, 11, 12]
    assert [r["t"] for r in read_rows(path, since=11)] == [11, 12]
    assert [r["t"] for r in read_rows(path, limit=1)] == [12]
    s = summarize(rows)
    assert (s["seconds"], s["total"], s["by_version"]) == (3, 4, {"1.0.0": 4})
    f.close()
    RecordFile(path, truncate=True).close()
    assert read_rows(path) == []
