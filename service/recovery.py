"""Finding work whose queue message may have been lost, so nothing accepted is ever dropped.

The database is the source of truth: a comment stays ``pending`` and a delivery stays
``pending`` until done, so a periodic sweep can re-enqueue whatever has waited too long.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from service.models import Comment, WebhookDelivery


def claim_stale_comments(
    session: Session, now: datetime, timeout: float, limit: int = 1000
) -> list[str]:
    """Pending comments enqueued over ``timeout`` seconds ago, re-stamped as enqueued now."""
    return _claim(session, Comment, Comment.enqueued_at, now, timeout, limit)


def claim_overdue_deliveries(
    session: Session, now: datetime, grace: float, limit: int = 1000
) -> list[tuple[str, int]]:
    """Pending deliveries whose next attempt is more than ``grace`` seconds overdue, with their
    attempt counts (a resent message makes an attempt only if no other made it first)."""
    ids = _claim(session, WebhookDelivery, WebhookDelivery.next_attempt_at, now, grace, limit)
    if not ids:
        return []
    rows = session.execute(
        select(WebhookDelivery.id, WebhookDelivery.attempts).where(WebhookDelivery.id.in_(ids))
    )
    attempts = {delivery_id: count for delivery_id, count in rows}
    return [(delivery_id, attempts[delivery_id]) for delivery_id in ids if delivery_id in attempts]


def _claim(
    session: Session,
    model: type[Comment] | type[WebhookDelivery],
    stamp: InstrumentedAttribute[datetime | None],
    now: datetime,
    wait: float,
    limit: int,
) -> list[str]:
    """Ids of ``pending`` rows whose ``stamp`` is over ``wait`` seconds old; stamped ``now``
    so the next sweep leaves them alone while their new message is under way."""
    ids = list(
        session.scalars(
            select(model.id)
            .where(model.status == "pending", stamp < now - timedelta(seconds=wait))
            .order_by(stamp)
            .limit(limit)
        )
    )
    if ids:
        session.execute(
            update(model)
            .where(model.id.in_(ids), model.status == "pending")
            .values({stamp.key: now})
            .execution_options(synchronize_session=False)
        )
    return ids
