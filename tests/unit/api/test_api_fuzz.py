"""Seeded fuzzed specs through the pure validation path: an answer for every one, never an exception.

The generator (``bench.robustness.specs``) is the one ``make bench-robustness`` applies
through the real API server; here the same cases go through ``parse_spec`` alone.
"""
from __future__ import annotations

import json
from collections import Counter
from typing import Union

import pytest

from bench.robustness.specs import CATEGORY_NAMES, FuzzCase, fuzz_case, fuzz_cases
from ripcord.api import limits
from ripcord.api.validation import ParsedSpec, SpecProblem, parse_spec

SEED = 20260701
COUNT = 600


Answer = Union[ParsedSpec, SpecProblem]


@pytest.fixture(scope="module")
def cases() -> list[FuzzCase]:
    return fuzz_cases(SEED, COUNT)


@pytest.fixture(scope="module")
def answers(cases: list[FuzzCase]) -> list[tuple[FuzzCase, Answer]]:
    return [(case, parse_spec(case.spec, case.name)) for case in cases]  # an exception here fails every test


def test_every_case_gets_an_answer_and_never_an_exception(answers: list[tuple[FuzzCase, Answer]]) -> None:
    kinds = Counter(type(parsed).__name__ for _, parsed in answers)
    assert len(answers) >= 500 and set(kinds) == {"ParsedSpec", "SpecProblem"}
    assert kinds["ParsedSpec"] >= 50 and kinds["SpecProblem"] >= 300, kinds


def test_the_answer_is_the_one_each_case_promises(answers: list[tuple[FuzzCase, Answer]]) -> None:
    wrong = []
    for case, parsed in answers:
        got = "valid" if isinstance(parsed, ParsedSpec) else "invalid"
        if case.expect != "either" and got != case.expect:
            wrong.append(f"#{case.index} {case.category}: {case.note}: expected {case.expect}, got "
                         f"{getattr(parsed, 'message', 'a spec')}")
    assert not wrong, "\n".join(wrong[:20])


def test_every_problem_names_a_field_and_fits_a_condition_and_an_event(answers: list[tuple[FuzzCase, Answer]]) -> None:
    for case, parsed in answers:
        if isinstance(parsed, SpecProblem):
            assert parsed.path.startswith(("spec", "metadata.name")), (case.note, parsed.path)
            assert parsed.message.startswith(parsed.path), (case.note, parsed.message[:200])
            assert len(parsed.message) <= limits.SPEC_PROBLEM_MAX


def test_every_accepted_spec_round_trips(answers: list[tuple[FuzzCase, Answer]]) -> None:
    for case, parsed in answers:
        if isinstance(parsed, ParsedSpec):
            again = parse_spec(parsed.spec.model_dump(by_alias=True, mode="json"), case.name)
            assert isinstance(again, ParsedSpec) and again.spec == parsed.spec, case.note
            wire = parse_spec(json.loads(json.dumps(parsed.spec.wire())), case.name)
            assert isinstance(wire, ParsedSpec), (case.note, getattr(wire, "message", ""))


def test_the_cases_cover_every_category(cases: list[FuzzCase]) -> None:
    seen = Counter(c.category for c in cases)
    assert set(seen) == set(CATEGORY_NAMES) and min(seen.values()) >= 10, seen


def test_the_same_seed_gives_the_same_cases() -> None:
    again = fuzz_cases(SEED, 40)
    assert [json.dumps(c.spec, sort_keys=True) for c in again] == \
           [json.dumps(c.spec, sort_keys=True) for c in fuzz_cases(SEED, 40)]
    assert fuzz_case(SEED, 17) == again[17]
    assert [c.spec for c in fuzz_cases(SEED + 1, 40)] != [c.spec for c in again]
