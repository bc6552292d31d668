"""A site's webhook endpoint: its health, and disabling it when it fails for long or is gone.

Each attempt's outcome updates the site's row in the transaction that records the attempt. A
success clears the failures and notes the time (at most once a second, so a busy healthy site
rarely writes its row); a failure counts one more in a row. A site failing for
``COMMENTGATE_WEBHOOK_DISABLE_AFTER``, or answered ``410 Gone`` (Standard Webhooks: the endpoint
is gone for good), is disabled: its pending events are kept, with no next attempt, and new ones
join them without a request, until ``sites enable-webhook`` or a new URL resumes them.

Every statement that changes a site's health or disabled state takes the site's row before its
deliveries' rows: concurrent attempts, disabling and enabling neither deadlock nor leave a kept
event behind an enabled site.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, or_, select, update
from sqlalchemy.orm import Session

from service.db import rowcount
from service.models import AuditEntry, Site, WebhookDelivery

SUCCESS_NOTED_EVERY = timedelta(seconds=1)
# A site whose last attempts failed gets its new events' first attempts on the retry lane too,
# where a dead endpoint holds the retry threads rather than those of every site's first attempts.
# Only while failures are recent: once they stop (the site's retries wait their turn) a new
# event goes first again and, if the endpoint is back, ends the streak.
HANDOVER_STREAK = 3
HANDOVER_WINDOW = timedelta(seconds=10)
GONE = 410
AUDIT_DISABLED = "site.webhook_disabled"
AUDIT_ENABLED = "site.webhook_enabled"


@dataclass(frozen=True)
class Failure:
    """The site after one more failed attempt."""

    failures: int
    disabled: bool
    disabled_now: bool
    reason: str | None = None


def hands_over(failures: int, last_failure_at: datetime | None, now: datetime) -> bool:
    """Whether a new event of this site should make its first attempt on the retry lane."""
    recent = last_failure_at is not None and now - last_failure_at < HANDOVER_WINDOW
    return failures >= HANDOVER_STREAK and recent


def record_success(session: Session, site_id: str, now: datetime) -> None:
    """The streak ends; the success time is noted unless noted within the last second."""
    sites = Site.__table__.c
    session.execute(
        update(Site.__table__)
        .where(
            sites.id == site_id,
            or_(
                sites.webhook_failures > 0,
                sites.webhook_last_success_at.is_(None),
                sites.webhook_last_success_at < now - SUCCESS_NOTED_EVERY,
            ),
        )
        .values(webhook_failures=0, webhook_failing_since=None, webhook_last_success_at=now)
    )


def record_failure(
    session: Session, site_id: str, now: datetime, status_code: int | None, disable_after: float
) -> Failure:
    """One more failure in a row; disables the site at ``410 Gone`` or after failing for
    ``disable_after`` seconds."""
    sites = Site.__table__.c
    stamp = literal(now, Site.__table__.c.webhook_failing_since.type)
    failures, since, disabled_at = session.execute(
        update(Site.__table__)
        .where(sites.id == site_id)
        .values(
            webhook_failures=sites.webhook_failures + 1,
            webhook_failing_since=func.coalesce(sites.webhook_failing_since, stamp),
            webhook_last_failure_at=now,
        )
        .returning(sites.webhook_failures, sites.webhook_failing_since, sites.webhook_disabled_at)
    ).one()
    if disabled_at is not None:
        return Failure(failures, disabled=True, disabled_now=False)
    reason = None
    if status_code == GONE:
        reason = "the endpoint answered 410 Gone"
    elif since is not None and (now - since).total_seconds() >= disable_after:
        reason = f"{failures} failed attempts in a row since {_iso(since)}"
    if reason is None or not disable(session, site_id, now, reason):
        return Failure(failures, disabled=reason is not None, disabled_now=False)
    return Failure(failures, disabled=True, disabled_now=True, reason=reason)


def disable(
    session: Session,
    site_id: str,
    now: datetime,
    reason: str,
    *,
    moderator_id: str | None = None,
) -> bool:
    """Disable the site's webhooks; False if they already were. Audited."""
    sites = Site.__table__.c
    changed = rowcount(
        session.execute(
            update(Site.__table__)
            .where(sites.id == site_id, sites.webhook_disabled_at.is_(None))
            .values(webhook_disabled_at=now, webhook_disabled_reason=reason)
        )
    )
    if changed:
        session.add(
            AuditEntry(
                site_id=site_id,
                moderator_id=moderator_id,
                action=AUDIT_DISABLED,
                details={"reason": reason},
                created_at=now,
            )
        )
    return bool(changed)


def enable(session: Session, site: Site, now: datetime, *, why: str) -> list[str]:
    """Clear the site's health and disabled state; its kept events are due now, each with a
    fresh run of attempts. Returns their ids, to send. Audited."""
    was_disabled = site.webhook_disabled_at is not None
    site.webhook_disabled_at = None
    site.webhook_disabled_reason = None
    site.webhook_failures = 0
    site.webhook_failing_since = None
    session.flush()  # the site's row first, then its deliveries'
    deliveries = WebhookDelivery.__table__.c
    kept = list(
        session.scalars(
            update(WebhookDelivery.__table__)
            .where(
                deliveries.site_id == site.id,
                deliveries.status == "pending",
                deliveries.next_attempt_at.is_(None),
            )
            .values(next_attempt_at=now, attempts=0)
            .returning(deliveries.id)
        )
    )
    session.add(
        AuditEntry(
            site_id=site.id,
            action=AUDIT_ENABLED,
            details={"why": why, "was_disabled": was_disabled, "resent": len(kept)},
            created_at=now,
        )
    )
    return kept


def is_disabled(session: Session, site_id: str) -> bool:
    """The site's disabled state, its row held until the transaction ends (PostgreSQL), so it
    cannot be enabled between this answer and what the caller does with it."""
    return (
        session.scalar(
            select(Site.webhook_disabled_at).where(Site.id == site_id).with_for_update(read=True)
        )
        is not None
    )


def state_of(site: Site) -> str:
    if site.webhook_disabled_at is not None:
        return "disabled"
    return "failing" if site.webhook_failures else "ok"


def health_of(site: Site) -> dict[str, Any]:
    """What the CLI shows of a site's endpoint."""
    return {
        "status": state_of(site),
        "consecutive_failures": site.webhook_failures,
        "failing_since": _iso(site.webhook_failing_since),
        "last_failure_at": _iso(site.webhook_last_failure_at),
        "last_success_at": _iso(site.webhook_last_success_at),
        "disabled_at": _iso(site.webhook_disabled_at),
        "disabled_reason": site.webhook_disabled_reason,
    }


def delivery_counts(session: Session, site_id: str) -> dict[str, int]:
    """The site's events not delivered: waiting for an attempt, kept while disabled, failed."""
    deliveries = WebhookDelivery.__table__.c
    pending = deliveries.status == "pending"
    row = session.execute(
        select(
            func.count().filter(pending, deliveries.next_attempt_at.is_not(None)),
            func.count().filter(pending, deliveries.next_attempt_at.is_(None)),
            func.count().filter(deliveries.status == "failed"),
        ).where(deliveries.site_id == site_id)
    ).one()
    return {"waiting": int(row[0]), "kept": int(row[1]), "failed": int(row[2])}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None
