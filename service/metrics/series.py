"""Every counter and histogram the processes record, and the calls that record them.

The series are built on first use, not at import: prometheus_client picks its multiprocess
storage when a value is first created, and by then the process that started this one has set
up the folder (``service.metrics.folders``). Decisions count once their transaction commits.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

PREFIX = "commentgate_"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SCORING_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
UNMATCHED = "unmatched"
_PENDING_DECISIONS = "commentgate.metrics.decisions"


@dataclass(frozen=True)
class Series:
    http_requests: Any
    http_duration: Any
    decisions: Any
    decision_reasons: Any
    scoring_seconds: Any
    batch_size: Any
    webhook_attempts: Any
    webhook_duration: Any
    webhook_failures: Any


_CREATING = threading.Lock()


_built: Series | None = None


def series() -> Series:
    """The process's series; the first requests of a process arrive on several threads at once,
    and registering a series twice raises, so they are built once, under a lock."""
    global _built
    if _built is None:
        with _CREATING:
            _built = _built or _build()
    return _built


@cache
def _build() -> Series:
    from prometheus_client import Counter, Histogram

    return Series(
        http_requests=Counter(
            PREFIX + "http_requests",
            "HTTP requests answered, by Flask endpoint, method and status class (2xx..5xx).",
            ["endpoint", "method", "status_class"],
        ),
        http_duration=Histogram(
            PREFIX + "http_request_duration_seconds",
            "Time to answer an HTTP request, by Flask endpoint.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
        ),
        decisions=Counter(
            PREFIX + "decisions",
            "Decisions recorded, by action, the code of the reason that decided, and decider.",
            ["action", "reason", "decided_by"],
        ),
        decision_reasons=Counter(
            PREFIX + "decision_reasons",
            "Reasons given with recorded decisions (each code once per decision).",
            ["reason", "action", "decided_by"],
        ),
        scoring_seconds=Histogram(
            PREFIX + "model_scoring_seconds",
            "Time the model takes to score one worker batch.",
            buckets=SCORING_BUCKETS,
        ),
        batch_size=Histogram(
            PREFIX + "worker_batch_size",
            "Messages a worker task call takes together, by task.",
            ["task"],
            buckets=BATCH_BUCKETS,
        ),
        webhook_attempts=Counter(
            PREFIX + "webhook_attempts",
            "Webhook attempts, by site, outcome and the answer's status class "
            "(error: no HTTP answer).",
            ["site", "outcome", "status_class"],
        ),
        webhook_duration=Histogram(
            PREFIX + "webhook_attempt_duration_seconds",
            "Time of one webhook attempt, by outcome.",
            ["outcome"],
            buckets=LATENCY_BUCKETS,
        ),
        webhook_failures=Counter(
            PREFIX + "webhook_deliveries_failed",
            "Webhook deliveries given up after the last attempt (dead-lettered), by site.",
            ["site"],
        ),
    )


def status_class(status: int | None) -> str:
    return "error" if status is None else f"{status // 100}xx"


def observe_request(endpoint: str | None, method: str, status: int, seconds: float | None) -> None:
    s = series()
    endpoint = endpoint or UNMATCHED
    s.http_requests.labels(endpoint, method, status_class(status)).inc()
    if seconds is not None:
        s.http_duration.labels(endpoint).observe(seconds)


def deciding_reason(action: str, decided_by: str, reasons: Sequence[Any]) -> str:
    """The code of the reason that made the decision: the first whose action it is."""
    codes = [r for r in reasons if isinstance(r, Mapping) and r.get("code")]
    if decided_by != "moderator":
        for reason in codes:
            if reason.get("action") == action:
                return str(reason["code"])
    return str(codes[0]["code"]) if codes else "none"


def count_decision_on_commit(
    session: Session, action: str, decided_by: str, reasons: Sequence[Any]
) -> None:
    """Count a decision when its transaction commits; a rolled-back one is not counted."""
    pending = session.info.get(_PENDING_DECISIONS)
    if pending is None:
        pending = session.info[_PENDING_DECISIONS] = []
        event.listen(session, "after_commit", _count_committed)
        event.listen(session, "after_soft_rollback", _forget_rolled_back)
    codes = dict.fromkeys(
        str(r["code"]) for r in reasons if isinstance(r, Mapping) and r.get("code")
    )
    pending.append((action, deciding_reason(action, decided_by, reasons), decided_by, codes))


def _count_committed(session: Session) -> None:
    pending = session.info.get(_PENDING_DECISIONS) or []
    committed = list(pending)
    pending.clear()
    s = series()
    for action, reason, decided_by, codes in committed:
        s.decisions.labels(action, reason, decided_by).inc()
        for code in codes:
            s.decision_reasons.labels(code, action, decided_by).inc()


def _forget_rolled_back(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # the outermost transaction, not a savepoint
        (session.info.get(_PENDING_DECISIONS) or []).clear()


def observe_scoring(seconds: float) -> None:
    series().scoring_seconds.observe(seconds)


def observe_batch(task: str, size: int) -> None:
    series().batch_size.labels(task).observe(size)


def observe_webhook_attempt(
    site: str, status: int | None, delivered: bool, seconds: float, gave_up: bool
) -> None:
    s = series()
    outcome = "success" if delivered else "failure"
    s.webhook_attempts.labels(site, outcome, status_class(status)).inc()
    s.webhook_duration.labels(outcome).observe(seconds)
    if gave_up:
        s.webhook_failures.labels(site).inc()
