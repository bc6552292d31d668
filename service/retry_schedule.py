"""When a failed webhook is tried again: a list of delays, as Standard Webhooks suggests.

The default (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after the first attempt) keeps an event
for about 27.6 hours, so a platform down for minutes or hours gets everything once it is back.
Each delay varies by ±10%, so events that failed together do not return together; even at
-10% the default schedule spans more than 24 hours.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

DEFAULT_SCHEDULE = "5s,5m,30m,2h,5h,10h,10h"
JITTER = 0.1
UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*")


def parse_duration(text: str) -> float:
    """Seconds in ``text``: a number with an optional unit (``ms``, ``s``, ``m``, ``h``, ``d``,
    ``w``); a bare number is seconds."""
    match = _DURATION.fullmatch(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 5m, 2h, 1d)")
    return float(match.group(1)) * UNITS[match.group(2) or "s"]


def format_duration(seconds: float) -> str:
    """The largest unit that keeps the value whole, e.g. ``2h``, ``90s``, ``0.5s``."""
    for unit in ("w", "d", "h", "m", "s"):
        size = UNITS[unit]
        if seconds >= size and float(seconds / size).is_integer():
            return f"{int(seconds / size)}{unit}"
    return f"{seconds:g}s"


@dataclass(frozen=True)
class RetrySchedule:
    """The delays before the second, third, … attempt; their count plus one is the attempts."""

    delays: tuple[float, ...]

    @classmethod
    def parse(cls, text: str) -> RetrySchedule:
        """Comma-separated durations, e.g. ``5s,5m,30m,2h``; an empty text means no retry."""
        parts = [part for part in text.split(",") if part.strip()]
        delays = tuple(parse_duration(part) for part in parts)
        if any(delay <= 0 for delay in delays):
            raise ValueError("retry delays must be positive")
        return cls(delays)

    @property
    def attempts(self) -> int:
        return len(self.delays) + 1

    @property
    def span(self) -> float:
        """Seconds from the first attempt to the last, before jitter."""
        return sum(self.delays)

    @property
    def longest(self) -> float:
        """The longest wait, with jitter: a delayed message is held at most this long."""
        return max(self.delays, default=0.0) * (1 + JITTER)

    def delay_after(self, attempts: int, rng: random.Random | None = None) -> float | None:
        """Seconds to wait after ``attempts`` failed attempts; None when that was the last."""
        if attempts < 1 or attempts > len(self.delays):
            return None
        factor = (rng or random).uniform(1 - JITTER, 1 + JITTER)
        return self.delays[attempts - 1] * factor

    def describe(self) -> str:
        return ",".join(format_duration(delay) for delay in self.delays)
