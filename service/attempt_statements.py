"""PostgreSQL: a webhook attempt's claim, and the record of one that succeeded, one statement each.

Every webhook attempt is claimed and recorded, so these are the statements the delivery threads
run most. On PostgreSQL the common case of each is one statement on an autocommit connection:
one round trip, no transaction left open between statements.

- The claim moves the attempt count on and returns the delivery's target (the site's endpoint,
  secrets and health) in one ``UPDATE … FROM sites … RETURNING``. It matches only the plain
  case: the delivery pending with the expected count, the site enabled and, on the first lane,
  not failing. Anything else matches no row, and ``service.attempts`` takes its general path,
  which reads the delivery and works out what to do.
- The record of a success notes the site's health, marks the delivery delivered and logs the
  attempt as data-modifying CTEs. The site's row is taken before the delivery's, as
  ``service.endpoint_health`` requires of every statement that touches both.

Neither waits for its commit to reach the disk (``synchronous_commit`` off for its own
transaction alone): should the PostgreSQL server itself crash, the last fraction of a second of
claims and records may be forgotten, and those deliveries are then attempted again, with the
same ``webhook-id``, which receivers use to drop a repeat. Nothing else is committed this way.

Statements are built once, with bound parameters, and reused.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Insert,
    Row,
    Update,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)

from service import endpoint_health
from service.models import Site, WebhookAttempt, WebhookDelivery

TARGET_COLUMNS = (
    "name",
    "webhook_url",
    "webhook_secret",
    "previous_webhook_secret",
    "previous_webhook_secret_expires_at",
    "webhook_failures",
    "webhook_last_failure_at",
)
ATTEMPT_FIELDS = ("delivery_id", "attempted_at", "status_code", "latency_ms", "error")


def _without_waiting_for_disk() -> ColumnElement[bool]:
    """A condition that always holds and, evaluated once as the statement starts, turns
    ``synchronous_commit`` off for the statement's own transaction: the commit returns without
    waiting for the WAL flush, the one wait left in an attempt's statements."""
    relaxed = select(func.set_config("synchronous_commit", "off", True)).scalar_subquery()
    return relaxed.is_not(None)


@cache
def _claim(first_lane: bool, any_count: bool) -> Update:
    deliveries, sites = WebhookDelivery.__table__, Site.__table__
    statement = (
        update(deliveries)
        .where(
            deliveries.c.id == bindparam("b_delivery"),
            deliveries.c.status == "pending",
            sites.c.id == deliveries.c.site_id,
            sites.c.webhook_disabled_at.is_(None),
            _without_waiting_for_disk(),
        )
        .values(
            attempts=deliveries.c.attempts + 1,
            next_attempt_at=bindparam("b_next_attempt", type_=deliveries.c.next_attempt_at.type),
        )
        .returning(
            *(sites.c[name] for name in TARGET_COLUMNS),
            deliveries.c.event_id,
            deliveries.c.payload,
            deliveries.c.attempts,
            deliveries.c.site_id,
        )
    )
    if not any_count:
        statement = statement.where(deliveries.c.attempts == bindparam("b_expected"))
    if first_lane:  # the negation of ``endpoint_health.hands_over``
        last_failure = sites.c.webhook_last_failure_at
        statement = statement.where(
            or_(
                sites.c.webhook_failures < endpoint_health.HANDOVER_STREAK,
                last_failure.is_(None),
                last_failure <= bindparam("b_failing_since", type_=last_failure.type),
            )
        )
    return statement


def claim(
    connection: Connection,
    delivery_id: str,
    *,
    expected: int | None,
    first_lane: bool,
    now: datetime,
    timeout: float,
) -> Row[Any] | None:
    """Claim the attempt in the plain case; the site's and delivery's columns (``attempts`` as
    it now is, this attempt counted), or None when the general path must decide."""
    params: dict[str, Any] = {
        "b_delivery": delivery_id,
        "b_next_attempt": now + timedelta(seconds=timeout),
    }
    if expected is not None:
        params["b_expected"] = expected
    if first_lane:
        params["b_failing_since"] = now - endpoint_health.HANDOVER_WINDOW
    return connection.execute(_claim(first_lane, expected is None), params).first()


@cache
def _delivered() -> Insert:
    deliveries, sites = WebhookDelivery.__table__, Site.__table__
    attempts = WebhookAttempt.__table__
    now = bindparam("b_now", type_=deliveries.c.delivered_at.type)
    noted = (
        update(sites)
        .where(
            sites.c.id == bindparam("b_site"),
            _without_waiting_for_disk(),
            or_(
                sites.c.webhook_failures > 0,
                sites.c.webhook_last_success_at.is_(None),
                sites.c.webhook_last_success_at
                < bindparam("b_noted_before", type_=sites.c.webhook_last_success_at.type),
            ),
        )
        .values(webhook_failures=0, webhook_failing_since=None, webhook_last_success_at=now)
        .returning(sites.c.id)
        .cte("noted")
    )
    # Referring to ``noted`` from the delivery's update makes it run first: the site's row is
    # locked before the delivery's.
    after_site = select(func.count()).select_from(noted).scalar_subquery() >= 0
    delivered = (
        update(deliveries)
        .where(deliveries.c.id == bindparam("b_delivery"), after_site)
        .values(status="delivered", last_error=None, delivered_at=now, next_attempt_at=None)
        .returning(deliveries.c.id)
        .cte("delivered")
    )
    values = [
        delivered.c.id
        if name == "delivery_id"
        else bindparam(f"b_{name}", type_=attempts.c[name].type)
        for name in ATTEMPT_FIELDS
    ]
    return insert(attempts).from_select(
        list(ATTEMPT_FIELDS), select(*values).select_from(delivered)
    )


def record_delivered(
    connection: Connection,
    delivery_id: str,
    site_id: str,
    *,
    now: datetime,
    status_code: int | None,
    latency_ms: float,
) -> None:
    """The successful attempt, the site's health and the delivered delivery, in one statement."""
    connection.execute(
        _delivered(),
        {
            "b_delivery": delivery_id,
            "b_site": site_id,
            "b_now": now,
            "b_noted_before": now - endpoint_health.SUCCESS_NOTED_EVERY,
            "b_attempted_at": now,
            "b_status_code": status_code,
            "b_latency_ms": latency_ms,
            "b_error": None,
        },
    )
