"""Fixtures of the gates' integration tests: gateway load (shared with the analysis tests), a webhook receiver."""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.integration.analysis.conftest import load  # noqa: F401 - the gateway load fixture, used here too
from tests.webhook_receiver import Receiver


@pytest.fixture
def rx() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()
