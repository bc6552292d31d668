"""Whether the platform got a comment's latest decision, from its webhook delivery records.

A card saying "Approved" means little if the platform never heard of it: each comment shows the
state of its newest event's delivery, and the page warns when the site's endpoint keeps failing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import Site, WebhookDelivery, utcnow

LABELS = {
    "holding": "Held for undo",
    "sending": "Sending",
    "retrying": "Retrying",
    "sent": "Sent",
    "failed": "Not sent",
    "kept": "Kept",
}
WAITING = ("holding", "sending", "retrying")


def delivery_state(delivery: Any) -> str:
    """``sent``, ``failed``, ``kept`` (the site's webhook is disabled), ``retrying``,
    ``holding`` (kept back while the decision can be undone) or ``sending``; of a delivery or a
    row with its ``status``, ``attempts`` and ``next_attempt_at``."""
    if delivery.status == "delivered":
        return "sent"
    if delivery.status == "failed":
        return "failed"
    if delivery.next_attempt_at is None:
        return "kept"
    if delivery.attempts:
        return "retrying"
    return "holding" if delivery.next_attempt_at > utcnow() else "sending"


def delivery_states(session: Session, site_id: str, comment_ids: Sequence[str]) -> dict[str, str]:
    """Each comment's newest delivery state; comments with no event are left out. Only the
    columns the state needs are read: an event's payload can be large."""
    if not comment_ids:
        return {}
    d = WebhookDelivery
    rows = session.execute(
        select(d.comment_id, d.status, d.attempts, d.next_attempt_at)
        .where(d.site_id == site_id, d.comment_id.in_(comment_ids))
        .order_by(d.created_at, d.id)
    )
    return {row.comment_id: delivery_state(row) for row in rows if row.comment_id}


@dataclass(frozen=True)
class SiteDeliveries:
    """The site's endpoint: failing since when (retries go on), or disabled (events are kept)."""

    failing_since: datetime | None
    failures: int
    disabled_at: datetime | None

    @classmethod
    def of(cls, site: Site | None) -> SiteDeliveries:
        if site is None:
            return cls(None, 0, None)
        return cls(site.webhook_failing_since, site.webhook_failures or 0, site.webhook_disabled_at)

    @property
    def failing(self) -> bool:
        return self.failing_since is not None and self.disabled_at is None
