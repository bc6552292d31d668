"""Gauges read at scrape time from the shared state: the database, the broker, the registry.

Every API replica reports the same truth, so any one of them can be scraped. Each value is one
cheap query on an index (the pending rows only), and the values are kept for ``ttl`` seconds:
however many scrapers and replicas there are, the database answers a few queries per interval.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session, sessionmaker

from service.models import Comment, Site, WebhookDelivery, utcnow

log = logging.getLogger(__name__)

CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class Snapshot:
    pending_comments: int | None = None
    oldest_pending_age: float | None = None
    pending_deliveries: int | None = None
    queue_depth: int | None = None
    model_version: str | None = None
    endpoints: tuple[Endpoint, ...] | None = None


@dataclass(frozen=True)
class Endpoint:
    """A site's webhook endpoint as the gauges report it."""

    site: str
    disabled: bool
    failures: int


def read_endpoints(session: Session) -> tuple[Endpoint, ...]:
    """Every site's disabled state and failures in a row: one read of the sites table."""
    rows = session.execute(
        select(Site.name, Site.webhook_disabled_at.is_not(None), Site.webhook_failures)
    )
    return tuple(
        Endpoint(name, bool(disabled), int(failures or 0)) for name, disabled, failures in rows
    )


def read_backlog(session: Session, now: datetime) -> tuple[int, float, int]:
    """Pending comments, the age of the oldest (0 when none) and pending deliveries.

    One query each, kept apart so each is served by an index alone: the oldest pending comment
    is one probe of ``ix_comments_pending_received`` (it holds pending rows only, so it stays
    small), the count scans that index, and the deliveries' count ``ix_deliveries_status_next``.
    """
    pending = Comment.status == literal_column("'pending'")  # inline: the index's predicate
    oldest = session.scalar(select(func.min(Comment.received_at)).where(pending))
    count = session.scalar(select(func.count()).select_from(Comment).where(pending))
    deliveries = session.scalar(
        select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.status == "pending")
    )
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return int(count or 0), age, int(deliveries or 0)


class StoreGauges:
    """A prometheus_client collector over the shared state, cached for a short interval."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        queue_depth: Callable[[], int | None],
        model_version: Callable[[], str | None],
        ttl: float = CACHE_SECONDS,
    ) -> None:
        self.sessions = sessions
        self.queue_depth = queue_depth
        self.model_version = model_version
        self.ttl = ttl
        self._lock = threading.Lock()
        self._snapshot = Snapshot()
        self._expires = 0.0

    def snapshot(self) -> Snapshot:
        with self._lock:
            if time.monotonic() >= self._expires:
                self._snapshot = self._read()
                self._expires = time.monotonic() + self.ttl
            return self._snapshot

    def _read(self) -> Snapshot:
        values: dict[str, Any] = {}
        try:
            with self.sessions() as session:
                count, age, deliveries = read_backlog(session, utcnow())
                endpoints = read_endpoints(session)
            values.update(
                pending_comments=count,
                oldest_pending_age=age,
                pending_deliveries=deliveries,
                endpoints=endpoints,
            )
        except Exception as exc:  # noqa: BLE001 - a scrape reports what it can
            log.warning("metrics: the database could not be read: %s", type(exc).__name__)
        for name, read in (
            ("queue_depth", self.queue_depth),
            ("model_version", self.model_version),
        ):
            try:
                values[name] = read()
            except Exception as exc:  # noqa: BLE001
                log.warning("metrics: %s could not be read: %s", name, type(exc).__name__)
        return Snapshot(**values)

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily

        snap = self.snapshot()
        gauges = (
            (
                "commentgate_oldest_pending_comment_age_seconds",
                "Age of the oldest comment waiting for a decision (0 when none waits).",
                snap.oldest_pending_age,
            ),
            (
                "commentgate_comments_pending",
                "Comments waiting for a decision.",
                snap.pending_comments,
            ),
            (
                "commentgate_webhook_deliveries_pending",
                "Webhook deliveries not yet answered with 2xx and not given up.",
                snap.pending_deliveries,
            ),
            (
                "commentgate_queue_depth",
                "Messages waiting on the broker's task queue (not yet taken by a worker).",
                snap.queue_depth,
            ),
        )
        for name, documentation, value in gauges:
            if value is not None:
                yield GaugeMetricFamily(name, documentation, value=value)
        if snap.endpoints is not None:
            yield from _endpoint_gauges(snap.endpoints)
        if snap.model_version:
            yield InfoMetricFamily(
                "commentgate_model",
                "The model version the registry marks active.",
                value={"version": snap.model_version},
            )


def _endpoint_gauges(endpoints: tuple[Endpoint, ...]) -> Iterator[Any]:
    from prometheus_client.core import GaugeMetricFamily

    disabled = GaugeMetricFamily(
        "commentgate_webhook_disabled",
        "1 when the site's webhooks are disabled (events kept, not sent), else 0.",
        labels=["site"],
    )
    failures = GaugeMetricFamily(
        "commentgate_webhook_consecutive_failures",
        "Webhook attempts to the site's endpoint that failed in a row (0 after a success).",
        labels=["site"],
    )
    for endpoint in endpoints:
        disabled.add_metric([endpoint.site], 1 if endpoint.disabled else 0)
        failures.add_metric([endpoint.site], endpoint.failures)
    yield disabled
    yield failures
