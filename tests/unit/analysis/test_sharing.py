"""Releases judged at the same instant share one query per series family; each keeps its own series."""
from __future__ import annotations

import threading
from typing import Any

from ripcord.analysis import queries
from ripcord.analysis.counters import Sample
from ripcord.analysis.sharing import SharedQueries

APP_REQUESTS = (("default", "http://prom"), queries.APP, "http_requests_total")


def pod(ns: str, workload: str, value: float) -> Sample:
    return Sample({"namespace": ns, "pod": f"{workload}-5d8f9c-abcde", "code": "200"}, value)


class Prom:
    def __init__(self, *samples: Sample) -> None:
        self.samples = list(samples)
        self.asked: list[tuple[str, float]] = []
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, promql: str, at: float) -> list[Sample]:
        self.asked.append((promql, at))
        self.gate.wait(5)
        return list(self.samples)


def test_releases_judged_at_one_instant_share_one_query_and_get_only_their_series() -> None:
    prom = Prom(pod("shop", "web-a", 1), pod("shop", "web-b", 2), pod("blog", "web-a", 3), pod("blog", "api-a", 4))
    shared = SharedQueries()
    shared.samples(prom, APP_REQUESTS, "shop", ["web-a", "web-b"], 990.0, keep_s=30, wait_s=1)  # an earlier instant
    shared.samples(prom, APP_REQUESTS, "blog", ["api-a", "api-b"], 990.0, keep_s=30, wait_s=1)
    prom.asked.clear()
    shop = shared.samples(prom, APP_REQUESTS, "shop", ["web-a", "web-b"], 1000.0, keep_s=30, wait_s=1)
    blog = shared.samples(prom, APP_REQUESTS, "blog", ["api-a", "api-b"], 1000.0, keep_s=30, wait_s=1)
    assert len(prom.asked) == 1  # the first asked for both Releases (both analysed recently)
    promql = prom.asked[0][0]
    assert 'namespace=~"blog|shop"' in promql and "api-a|api-b|web-a|web-b" in promql
    assert [s.value for s in shop] == [1, 2]  # blog's web-a is another Release's: not shop's
    assert [s.value for s in blog] == [4]


def test_a_release_not_yet_in_the_answer_asks_again_with_itself_included() -> None:
    prom = Prom(pod("shop", "web-a", 1), pod("blog", "api-a", 4))
    shared = SharedQueries()
    shared.samples(prom, APP_REQUESTS, "shop", ["web-a", "web-b"], 1000.0, keep_s=30, wait_s=1)
    got = shared.samples(prom, APP_REQUESTS, "blog", ["api-a", "api-b"], 1000.0, keep_s=30, wait_s=1)
    assert len(prom.asked) == 2 and [s.value for s in got] == [4]


def test_concurrent_releases_wait_for_the_answer_being_fetched() -> None:
    prom = Prom(pod("shop", "web-a", 1), pod("shop", "api-a", 2))
    shared = SharedQueries()
    for ns_workloads in (["web-a", "web-b"], ["api-a", "api-b"]):
        shared.samples(prom, APP_REQUESTS, "shop", ns_workloads, 990.0, keep_s=30, wait_s=1)
    prom.asked.clear()
    prom.gate.clear()
    results: dict[str, Any] = {}

    def judge(names: list[str]) -> None:
        results[names[0]] = shared.samples(prom, APP_REQUESTS, "shop", names, 1000.0, keep_s=30, wait_s=5)

    threads = [threading.Thread(target=judge, args=(n,)) for n in (["web-a", "web-b"], ["api-a", "api-b"])]
    for t in threads:
        t.start()
    while not prom.asked:  # the first one is fetching
        threading.Event().wait(0.01)
    prom.gate.set()
    for t in threads:
        t.join(5)
    assert len(prom.asked) == 1
    assert [s.value for s in results["web-a"]] == [1] and [s.value for s in results["api-a"]] == [2]


def test_a_failed_answer_is_raised_to_every_waiter_and_not_kept() -> None:
    calls = []

    def broken(promql: str, at: float) -> list[Sample]:
        calls.append(promql)
        raise RuntimeError("down")

    shared = SharedQueries()
    for _ in range(2):
        try:
            shared.samples(broken, APP_REQUESTS, "shop", ["web-a"], 1000.0, keep_s=30, wait_s=1)
        except RuntimeError:
            pass
    assert len(calls) == 2  # asked again: a failure is not an answer


def test_answers_are_kept_only_while_they_can_still_be_an_interval_s_start() -> None:
    now = [0.0]
    prom = Prom(pod("shop", "web-a", 1))
    shared = SharedQueries(clock=lambda: now[0])
    shared.samples(prom, APP_REQUESTS, "shop", ["web-a", "web-b"], 1000.0, keep_s=30, wait_s=1)
    now[0] = 20.0
    shared.samples(prom, APP_REQUESTS, "shop", ["web-a", "web-b"], 1000.0, keep_s=30, wait_s=1)
    assert len(prom.asked) == 1  # still kept: the next interval starts from it
    now[0] = 31.0
    shared.samples(prom, APP_REQUESTS, "shop", ["web-a", "web-b"], 1010.0, keep_s=30, wait_s=1)
    shared.samples(prom, APP_REQUESTS, "shop", ["web-a", "web-b"], 1000.0, keep_s=30, wait_s=1)
    assert len(prom.asked) == 3  # 1000's answer expired, so it was asked again
