"""Finding work whose queue message may have been lost, so nothing accepted is ever dropped.

The database is the source of truth: a comment stays ``pending`` and a delivery stays
``pending`` until done, so a periodic sweep can re-enqueue whatever has waited too long.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.models import Comment, WebhookDelivery


def claim_stale_comments(
    session: Session, now: datetime, timeout: float, limit: int = 1000
) -> list[str]:
    """Pending comments enqueued over ``timeout`` seconds ago, re-stamped as enqueued now."""
    cutoff = now - timedelta(seconds=timeout)
    ids = list(
        session.scalars(
            select(Comment.id)
            .where(Comment.status == "pending", Comment.enqueued_at < cutoff)
            .order_by(Comment.enqueued_at)
            .limit(limit)
        )
    )
    if ids:
        session.execute(
            update(Comment)
            .where(Comment.id.in_(ids), Comment.status == "pending")
            .values(enqueued_at=now)
            .execution_options(synchronize_session=False)
        )
    return ids


def claim_overdue_deliveries(
    session: Session, now: datetime, grace: float, limit: int = 1000
) -> list[str]:
    """Pending deliveries whose next attempt is more than ``grace`` seconds overdue."""
    cutoff = now - timedelta(seconds=grace)
    ids = list(
        session.scalars(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at < cutoff)
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
        )
    )
    if ids:
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids), WebhookDelivery.status == "pending")
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
    return ids
