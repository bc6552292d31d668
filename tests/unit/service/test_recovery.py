"""The sweep's claims: pending work whose message is overdue, re-stamped so it is claimed once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from service.decisions.pipeline import prepare_decision, record_decision
from service.models import Comment, WebhookDelivery, utcnow
from service.recovery import claim_overdue_deliveries, claim_stale_comments
from tests.support.domain import Domain
from tests.support.stored import new_site, store_comment


def enqueued_ago(db: Session, comment_id: str, seconds: float) -> None:
    stamp = utcnow() - timedelta(seconds=seconds)
    db.execute(update(Comment).where(Comment.id == comment_id).values(enqueued_at=stamp))


def test_only_pending_comments_enqueued_too_long_ago_are_claimed_once(
    domain: Domain, db: Session
) -> None:
    site = new_site(domain)
    stale, fresh, decided = (store_comment(domain, site) for _ in range(3))
    for comment_id, age in ((stale, 120), (fresh, 5), (decided, 120)):
        enqueued_ago(db, comment_id, age)
    record_decision(
        db,
        prepare_decision(
            db,
            db.get_one(Comment, decided),
            action="approve",
            scores={},
            reasons=[],
            model_version="v",
            decided_by="model",
            notify=False,
        ),
    )
    now = utcnow()
    assert claim_stale_comments(db, now, timeout=30) == [stale]
    db.expire_all()
    assert db.get_one(Comment, stale).enqueued_at == now
    assert claim_stale_comments(db, now + timedelta(seconds=10), timeout=30) == []
    # the fresh one has waited too long by now as well, and was enqueued before the claim
    assert claim_stale_comments(db, now + timedelta(seconds=31), timeout=30) == [fresh, stale]


def test_the_oldest_are_claimed_first_up_to_the_limit(domain: Domain, db: Session) -> None:
    site = new_site(domain)
    ids = [store_comment(domain, site) for _ in range(3)]
    for age, comment_id in zip((100, 300, 200), ids, strict=True):
        enqueued_ago(db, comment_id, age)
    assert claim_stale_comments(db, utcnow(), timeout=30, limit=2) == [ids[1], ids[2]]


def delivery(db: Session, site_id: str, overdue: float, status: str, attempts: int) -> str:
    row = WebhookDelivery(
        site_id=site_id,
        event_id=f"msg_{overdue}_{status}",
        event_type="comment.decided",
        payload={},
        status=status,
        attempts=attempts,
        next_attempt_at=utcnow() - timedelta(seconds=overdue),
    )
    db.add(row)
    db.flush()
    return row.id


def test_overdue_pending_deliveries_are_claimed_with_their_attempt_counts(
    domain: Domain, db: Session
) -> None:
    site_id = new_site(domain).site.id
    overdue = delivery(db, site_id, 60, "pending", 3)
    delivery(db, site_id, 1, "pending", 0)  # within the grace
    delivery(db, site_id, 60, "delivered", 1)
    delivery(db, site_id, 60, "failed", 8)
    now = utcnow()
    assert claim_overdue_deliveries(db, now, grace=10) == [(overdue, 3)]
    db.expire_all()
    assert db.get_one(WebhookDelivery, overdue).next_attempt_at == now
    assert claim_overdue_deliveries(db, now, grace=10) == []
