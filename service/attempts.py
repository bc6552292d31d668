"""One webhook attempt, from claiming it to recording what happened and what comes next.

An attempt is claimed before its request: one conditional update moves the delivery's attempt
count on from the count its message expected, so an event whose message arrived twice (a
redelivery, the sweep, a replay racing a retry) is attempted once, and the other copy finds
nothing to do. The claim also stamps the next attempt at the end of this one's timeout: the
sweep leaves an attempt under way alone, and resends one whose worker died.

The record, after the request, writes the attempt, the site's health (``endpoint_health``) and
the delivery's next step in one transaction: delivered; the next attempt on the schedule;
failed after the last one; or kept, with no next attempt, while the site is disabled.

On PostgreSQL the common case of each, a plain claim and a success's record, is one statement
(``service.attempt_statements``); everything else takes the general path described here.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import urllib3
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from service import attempt_statements, endpoint_health
from service.config import Settings
from service.db import rowcount, session_scope
from service.metrics import series
from service.models import Site, WebhookAttempt, WebhookDelivery, utcnow
from service.retry_schedule import RetrySchedule
from service.sites import overlapping_secret
from service.webhooks import Target, post_event

log = logging.getLogger(__name__)

ATTEMPTED, HANDED_OVER, KEPT, WAITING = "attempted", "handed_over", "kept", "waiting"
ENTERED, FULL = "entered", "full"


@dataclass(frozen=True)
class Rules:
    """What an attempt needs of the settings."""

    schedule: RetrySchedule
    disable_after: float
    timeout: float
    allow_private: bool

    @classmethod
    def of(cls, settings: Settings) -> Rules:
        return cls(
            schedule=settings.webhook_retry_schedule,
            disable_after=settings.webhook_disable_after,
            timeout=settings.webhook_timeout,
            allow_private=settings.webhook_allow_private,
        )


@dataclass(frozen=True)
class Outcome:
    """What became of a delivery: ``attempted`` (``retry_in`` seconds to the next attempt, if
    any), ``handed_over`` to the retry lane unattempted, ``waiting`` for its site's turn in this
    process, or ``kept`` for a disabled site."""

    delivery_id: str
    kind: str
    attempts: int
    status: str = "pending"
    retry_in: float | None = None
    status_code: int | None = None
    error: str | None = None
    disabled: str | None = None  # why, when this attempt disabled the site

    @property
    def delivered(self) -> bool:
        return self.status == "delivered"


class SiteShare:
    """At most ``limit`` attempts per site at once in this process: an endpoint that has just
    stopped answering holds some of the delivery threads, not all. Past that, a site's attempts
    wait their turn here, in order, and each one that ends passes its place to the next: a burst
    to a healthy endpoint goes out as fast as it answers, on this lane. Only past ``backlog``
    waiting is an attempt handed over to the retry lane."""

    def __init__(self, limit: int, backlog: int = 256) -> None:
        self.limit = limit
        self.backlog = backlog
        self._running: Counter[str] = Counter()
        self._waiting: dict[str, deque[Callable[[str], None]]] = {}
        self._lock = threading.Lock()

    def enter(self, site_id: str, resume: Callable[[str], None] | None = None) -> str:
        """``ENTERED``: go now. ``WAITING``: ``resume(site_id)`` runs, holding the place, when
        one of the site's attempts ends. ``FULL``: neither (no ``resume``, or a full backlog)."""
        with self._lock:
            waiting = self._waiting.get(site_id)
            if self._running[site_id] < self.limit and not waiting:
                self._running[site_id] += 1
                return ENTERED
            if resume is None or (waiting is not None and len(waiting) >= self.backlog):
                return FULL
            self._waiting.setdefault(site_id, deque()).append(resume)
            return WAITING

    def leave(self, site_id: str) -> None:
        """The place passes to the site's next waiting attempt, if any; else it is free."""
        while True:
            with self._lock:
                waiting = self._waiting.get(site_id)
                if not waiting:
                    self._running[site_id] -= 1
                    if self._running[site_id] <= 0:
                        del self._running[site_id]
                    return
                resume = waiting.popleft()
                if not waiting:
                    del self._waiting[site_id]
            try:
                resume(site_id)
                return
            except Exception:  # noqa: BLE001 - shutting down: the sweep resends that attempt
                log.warning("a waiting webhook attempt could not resume", exc_info=True)


@dataclass(frozen=True)
class Turn:
    """A first attempt's place in its site's share: ``resume`` runs it again once its turn
    comes, then ``holding`` the place of the site it was given. With the event's ``site_id``
    known beforehand, an attempt takes its place, or waits, before it reads anything."""

    share: SiteShare
    resume: Callable[[str], None]
    holding: str | None = None
    site_id: str | None = None


@dataclass(frozen=True)
class _Loaded:
    delivery_id: str
    target: Target
    site_id: str
    failures: int
    last_failure_at: datetime | None
    disabled: bool


def attempt(
    sessions: sessionmaker[Session],
    http: urllib3.PoolManager,
    delivery_id: str,
    rules: Rules,
    *,
    expected: int | None,
    turn: Turn | None = None,
) -> Outcome | None:
    """Attempt a pending delivery once, if its attempt count is still ``expected`` (None: any)
    and no other message claimed it; None when there is nothing to do.

    ``turn`` marks the first-attempt lane: an event of a site that is failing persistently is
    handed over to the retry lane instead of being sent here, and one of a site that already
    has its share of this process's attempts under way waits for its turn."""
    if turn is not None and turn.holding is None and turn.site_id and expected is not None:
        place = turn.share.enter(turn.site_id, turn.resume)
        if place != ENTERED:
            return Outcome(delivery_id, WAITING if place == WAITING else HANDED_OVER, expected)
        turn = replace(turn, holding=turn.site_id)
    claimed = _claim(sessions, delivery_id, rules, expected=expected, turn=turn)
    if not isinstance(claimed, _Loaded):
        return claimed
    target = claimed.target
    try:
        status_code, error, latency = post_event(
            http, target, timeout=rules.timeout, allow_private=rules.allow_private
        )
    finally:
        if turn is not None:
            turn.share.leave(claimed.site_id)
    outcome = _record(sessions, claimed, rules, status_code, error, latency)
    series.observe_webhook_attempt(
        target.site, status_code, error is None, latency / 1000, gave_up=outcome.status == "failed"
    )
    return outcome


def _claim(
    sessions: sessionmaker[Session],
    delivery_id: str,
    rules: Rules,
    *,
    expected: int | None,
    turn: Turn | None,
) -> _Loaded | Outcome | None:
    held = turn.holding if turn is not None else None  # the site whose place this one holds
    try:
        if turn is None or held is not None:
            plain = _claim_plainly(sessions, delivery_id, rules, expected, turn is not None)
            if plain is not None:
                return plain
        with session_scope(sessions) as session:
            loaded = _load(session, delivery_id)
            if loaded is None or (expected is not None and loaded.target.attempts != expected):
                return _passing(turn, held, None)
            attempts = loaded.target.attempts
            if loaded.disabled and _keep(session, loaded):
                return _passing(turn, held, Outcome(delivery_id, KEPT, attempts))
            if turn is not None:
                now = utcnow()
                if endpoint_health.hands_over(loaded.failures, loaded.last_failure_at, now):
                    return _passing(turn, held, Outcome(delivery_id, HANDED_OVER, attempts))
                if held is None:
                    place = turn.share.enter(loaded.site_id, turn.resume)
                    if place != ENTERED:
                        kind = WAITING if place == WAITING else HANDED_OVER
                        return Outcome(delivery_id, kind, attempts)
                    held = loaded.site_id
            claimed = _claim_attempt(session, loaded, rules)
    except BaseException:
        _passing(turn, held, None)
        raise
    return loaded if claimed else _passing(turn, held, None)


def _passing(turn: Turn | None, held: str | None, outcome: Outcome | None) -> Outcome | None:
    """The outcome of a claim that sends nothing: a place held in a site's share passes on."""
    if turn is not None and held is not None:
        turn.share.leave(held)
    return outcome


def _claim_attempt(session: Session, loaded: _Loaded, rules: Rules) -> bool:
    """One more attempt, if no other message made it first; due again after its timeout."""
    attempts = loaded.target.attempts
    now = utcnow()
    table = WebhookDelivery.__table__
    claimed = rowcount(
        session.execute(
            update(table)
            .where(
                table.c.id == loaded.delivery_id,
                table.c.status == "pending",
                table.c.attempts == attempts,
            )
            .values(attempts=attempts + 1, next_attempt_at=now + timedelta(seconds=rules.timeout))
        )
    )
    return bool(claimed)


def _load(session: Session, delivery_id: str) -> _Loaded | None:
    """The pending delivery, its site's endpoint and the endpoint's health, in one query."""
    deliveries, sites = WebhookDelivery.__table__.c, Site.__table__.c
    row = session.execute(
        select(
            sites.name,
            sites.webhook_url,
            sites.webhook_secret,
            sites.previous_webhook_secret,
            sites.previous_webhook_secret_expires_at,
            deliveries.event_id,
            deliveries.payload,
            deliveries.attempts,
            deliveries.site_id,
            sites.webhook_failures,
            sites.webhook_last_failure_at,
            sites.webhook_disabled_at,
        )
        .join_from(WebhookDelivery.__table__, Site.__table__, sites.id == deliveries.site_id)
        .where(deliveries.id == delivery_id, deliveries.status == "pending")
    ).first()
    if row is None:
        return None
    return _loaded_from(row, delivery_id, row.attempts, row.webhook_disabled_at is not None)


def _loaded_from(row: Any, delivery_id: str, attempts: int, disabled: bool) -> _Loaded:
    """A delivery read, or claimed, with its site's columns; ``attempts`` made before this one."""
    target = Target(
        site=row.name,
        url=row.webhook_url,
        secret=row.webhook_secret,
        event_id=row.event_id,
        body=json.dumps(row.payload, separators=(",", ":"), sort_keys=True),
        attempts=attempts,
        previous_secret=overlapping_secret(
            row.previous_webhook_secret, row.previous_webhook_secret_expires_at, utcnow()
        ),
    )
    return _Loaded(
        delivery_id=delivery_id,
        target=target,
        site_id=row.site_id,
        failures=row.webhook_failures,
        last_failure_at=row.webhook_last_failure_at,
        disabled=disabled,
    )


def _one_statement(sessions: sessionmaker[Session]) -> Engine | None:
    """The engine, where the claim and a success's record are one statement each (PostgreSQL)."""
    engine = sessions.kw.get("bind")
    if isinstance(engine, Engine) and engine.dialect.name == "postgresql":
        return engine
    return None


def _claim_plainly(
    sessions: sessionmaker[Session],
    delivery_id: str,
    rules: Rules,
    expected: int | None,
    first_lane: bool,
) -> _Loaded | None:
    """The claim of the plain case in one statement (``service.attempt_statements``); None
    where that is not available or the case is not plain."""
    engine = _one_statement(sessions)
    if engine is None:
        return None
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        row = attempt_statements.claim(
            connection,
            delivery_id,
            expected=expected,
            first_lane=first_lane,
            now=utcnow(),
            timeout=rules.timeout,
        )
    return None if row is None else _loaded_from(row, delivery_id, row.attempts - 1, False)


def _keep(session: Session, loaded: _Loaded) -> bool:
    """Keep the event of a disabled site: no next attempt until the site is enabled. False if
    the site was enabled meanwhile (then it is attempted as usual)."""
    if not endpoint_health.is_disabled(session, loaded.site_id):
        return False
    table = WebhookDelivery.__table__
    session.execute(
        update(table)
        .where(table.c.id == loaded.delivery_id, table.c.status == "pending")
        .values(next_attempt_at=None)
    )
    return True


def _record(
    sessions: sessionmaker[Session],
    loaded: _Loaded,
    rules: Rules,
    status_code: int | None,
    error: str | None,
    latency: float,
) -> Outcome:
    """The attempt, the site's health and the delivery's next step, in one transaction."""
    now = utcnow()
    attempts = loaded.target.attempts + 1
    retry_in: float | None = None
    disabled: str | None = None
    table = WebhookDelivery.__table__
    engine = _one_statement(sessions)
    if error is None and engine is not None:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            attempt_statements.record_delivered(
                connection,
                loaded.delivery_id,
                loaded.site_id,
                now=now,
                status_code=status_code,
                latency_ms=round(latency, 3),
            )
        return Outcome(
            loaded.delivery_id, ATTEMPTED, attempts, status="delivered", status_code=status_code
        )
    with session_scope(sessions) as session:
        if error is None:
            endpoint_health.record_success(session, loaded.site_id, now)
            status = "delivered"
            values: dict[str, Any] = {"delivered_at": now, "next_attempt_at": None}
        else:
            failure = endpoint_health.record_failure(
                session, loaded.site_id, now, status_code, rules.disable_after
            )
            disabled = failure.reason
            if not failure.disabled:  # a disabled site's event is kept: no next attempt
                retry_in = rules.schedule.delay_after(attempts)
            status = "failed" if retry_in is None and not failure.disabled else "pending"
            next_attempt = None if retry_in is None else now + timedelta(seconds=retry_in)
            values = {"next_attempt_at": next_attempt}
        session.execute(
            update(table)
            .where(table.c.id == loaded.delivery_id)
            .values(status=status, last_error=error, **values)
        )
        session.execute(
            insert(WebhookAttempt).values(
                delivery_id=loaded.delivery_id,
                attempted_at=now,
                status_code=status_code,
                latency_ms=round(latency, 3),
                error=error,
            )
        )
    return Outcome(
        loaded.delivery_id,
        ATTEMPTED,
        attempts,
        status=status,
        retry_in=retry_in,
        status_code=status_code,
        error=error,
        disabled=disabled,
    )
