"""Unit tests leave the checkout's ``training_data/`` as they found it: they train from copies
(``seed_set``), and commands they run write into their own temporary folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

TRAINING_DATA = Path(__file__).resolve().parents[2] / "training_data"


def _snapshot() -> dict[str, tuple[int, int]]:
    return {
        str(path.relative_to(TRAINING_DATA)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(TRAINING_DATA.rglob("*"))
    }


@pytest.fixture(scope="session", autouse=True)
def _training_data_untouched() -> Iterator[None]:
    before = _snapshot()
    yield
    assert _snapshot() == before, "a unit test changed the checkout's training_data/"
