"""Webhook events: the payload a decision becomes, its signature, finding and replaying it.

Signatures during a secret rotation are in test_webhook_signing.py, attempts in
test_webhook_delivery.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from service import webhooks
from service.decisions.pipeline import decide_pending
from service.errors import NotFoundError
from service.models import Comment, Decision, WebhookDelivery, utcnow
from service.security import new_webhook_secret
from tests.support.domain import Domain
from tests.support.stored import ConstantModel, new_site, store_comment

WHEN = datetime(2026, 11, 30, 12, 0, 5, tzinfo=UTC)


def decision_on(comment: Comment) -> Decision:
    return Decision(
        comment_id=comment.id,
        action="reject",
        scores={"spam": 0.97},
        reasons=[{"code": "spam_score"}],
        model_version="v-1",
        decided_by="model",
        decided_at=WHEN,
    )


def test_the_event_says_what_was_decided_and_marks_a_trial() -> None:
    comment = Comment(id="c1", site_id="s1", external_id="wp-9", content="x")
    payload = webhooks.event_payload(comment, decision_on(comment), "rejected")
    assert payload == {
        "type": "comment.decided",
        "timestamp": "2026-11-30T12:00:05Z",
        "data": {
            "comment_id": "c1",
            "external_id": "wp-9",
            "action": "reject",
            "status": "rejected",
            "scores": {"spam": 0.97},
            "reasons": [{"code": "spam_score"}],
            "model_version": "v-1",
            "decided_by": "model",
            "decided_at": "2026-11-30T12:00:05Z",
        },
    }
    trial = webhooks.event_payload(comment, decision_on(comment), "rejected", trial=True)
    assert trial["trial"] is True and trial["data"]["trial"] is True


def test_a_new_delivery_is_pending_with_an_event_id_of_its_own() -> None:
    comment = Comment(id="c1", site_id="s1", external_id="wp-9", content="x")
    first, second = (
        webhooks.new_delivery(comment, decision_on(comment), "rejected") for _ in range(2)
    )
    assert first.event_id.startswith("msg_") and first.event_id != second.event_id
    assert (first.status, first.attempts, first.site_id) == ("pending", 0, "s1")
    assert first.next_attempt_at == first.created_at and first.delivered_at is None


def test_signed_headers_verify_for_exactly_that_body_id_and_time() -> None:
    secret, when = new_webhook_secret(), datetime.now(UTC).replace(microsecond=0)
    body = '{"type":"comment.decided"}'
    headers = webhooks.signed_headers(secret, "msg_1", body, when)
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == str(int(when.timestamp()))
    assert headers["user-agent"] == webhooks.USER_AGENT
    assert headers["webhook-signature"] == webhooks.signature([secret], "msg_1", body, when)
    verifier = Webhook(secret)
    assert verifier.verify(body, headers) == {"type": "comment.decided"}
    for changed in (
        {**headers, "webhook-id": "msg_2"},
        {**headers, "webhook-timestamp": str(int(when.timestamp()) - 1)},
    ):
        with pytest.raises(WebhookVerificationError):
            verifier.verify(body, changed)
    with pytest.raises(WebhookVerificationError):
        verifier.verify(body.replace("decided", "deleted"), headers)


@pytest.fixture
def events(domain: Domain) -> list[str]:
    """Two sites' events, one each from a decided comment."""
    ids = []
    for _ in range(2):
        site = new_site(domain)
        comment_id = store_comment(domain, site)
        events = decide_pending(domain.sessions, [comment_id], ConstantModel())
        ids += [event.delivery_id for event in events]
    return ids


def test_a_delivery_is_found_by_its_id_or_its_event_id(db: Session, events: list[str]) -> None:
    delivery = db.get_one(WebhookDelivery, events[0])
    assert webhooks.find_delivery(db, delivery.id) is delivery
    assert webhooks.find_delivery(db, delivery.event_id) is delivery
    with pytest.raises(NotFoundError):
        webhooks.find_delivery(db, "msg_unknown")


def test_listing_filters_by_status_and_site(db: Session, events: list[str]) -> None:
    first = db.get_one(WebhookDelivery, events[0])
    first.status = "failed"
    assert [d.id for d in webhooks.list_deliveries(db, status="failed")] == [first.id]
    assert [d.id for d in webhooks.list_deliveries(db, site_id=first.site_id)] == [first.id]
    assert len(webhooks.list_deliveries(db)) == 2


def test_a_replay_puts_events_back_in_line_from_the_first_attempt(
    db: Session, events: list[str]
) -> None:
    db.execute(
        update(WebhookDelivery).values(
            status="failed", attempts=8, next_attempt_at=None, created_at=utcnow()
        )
    )
    assert webhooks.reopen_for_replay(db, [events[0]]) == [events[0]]
    db.flush()
    db.expire_all()
    replayed = db.get_one(WebhookDelivery, events[0])
    assert (replayed.status, replayed.attempts) == ("pending", 0)
    assert db.get_one(WebhookDelivery, events[1]).status == "failed"


def test_a_replay_since_a_time_takes_that_sites_events_of_that_status(
    db: Session, events: list[str]
) -> None:
    old = utcnow() - timedelta(days=2)
    db.execute(update(WebhookDelivery).values(status="failed"))
    db.execute(
        update(WebhookDelivery).where(WebhookDelivery.id == events[1]).values(created_at=old)
    )
    since = utcnow() - timedelta(days=1)
    assert webhooks.reopen_since(db, since, status="delivered") == []
    assert sorted(webhooks.reopen_since(db, old, status="failed")) == sorted(events)
    statuses = db.scalars(select(WebhookDelivery.status)).all()
    assert statuses == ["pending", "pending"]
    site_id = db.get_one(WebhookDelivery, events[0]).site_id
    assert webhooks.reopen_since(db, since, site_id=site_id) == [events[0]]
