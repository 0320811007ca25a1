from __future__ import annotations

from typing import Iterator

import pytest

from tests.webhook_receiver import Receiver


@pytest.fixture
def rx() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()
