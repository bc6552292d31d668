"""Deciding pending comments: one verdict and one event each, failures isolated and counted."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from service.decisions import pipeline as decisions
from service.decisions import policy
from service.decisions.pipeline import (
    MAX_DECIDE_ATTEMPTS,
    decide_pending,
    prepare_decision,
    record_decision,
    score_facts_safely,
)
from service.models import Comment, Decision, WebhookDelivery
from tests.support.domain import Domain
from tests.support.failing_model import FailsOn
from tests.support.stored import (
    ConstantModel,
    count_rows,
    new_site,
    reason_codes,
    store_comment,
)

POISON = "The one text the policy cannot cope with."


def comment(domain: Domain, comment_id: str) -> Comment:
    with domain.sessions() as session:
        return session.get_one(Comment, comment_id)


def test_each_comment_gets_the_policys_verdict_a_decision_and_an_event(domain: Domain) -> None:
    site = new_site(domain)
    low, high = store_comment(domain, site, "A kind remark."), store_comment(domain, site, "Hm.")
    deliveries = decide_pending(domain.sessions, [low], ConstantModel(spam=0.1))
    deliveries += decide_pending(domain.sessions, [high], ConstantModel(spam=0.7))

    approved, held = comment(domain, low), comment(domain, high)
    assert (approved.status, approved.decided_by, reason_codes(approved)) == (
        "approved",
        "model",
        ["below_thresholds"],
    )
    assert (held.status, reason_codes(held)) == ("held", ["spam_score"])
    assert held.scores == {"spam": 0.7, "toxicity": 0.01} and held.model_version == "constant-1"
    with domain.sessions() as session:
        events = {d.comment_id: d for d in session.scalars(select(WebhookDelivery))}
    assert sorted(e.delivery_id for e in deliveries) == sorted(d.id for d in events.values())
    assert events[high].payload["data"]["action"] == "hold"
    assert events[high].payload["data"]["status"] == "held"
    assert count_rows(domain, Decision) == 2


def test_a_comment_is_decided_once_however_often_its_message_comes(domain: Domain) -> None:
    site = new_site(domain)
    comment_id = store_comment(domain, site)
    assert len(decide_pending(domain.sessions, [comment_id, comment_id], ConstantModel())) == 1
    assert decide_pending(domain.sessions, [comment_id], ConstantModel(spam=0.99)) == []
    assert comment(domain, comment_id).status == "approved"
    assert count_rows(domain, Decision) == 1


@pytest.mark.parametrize(("webhooks", "events"), [("send", 1), ("none", 0)])
def test_a_trial_site_is_decided_as_usual_and_its_event_says_trial(
    domain: Domain, webhooks: str, events: int
) -> None:
    site = new_site(domain, policy={"mode": "trial", "trial_webhooks": webhooks})
    comment_id = store_comment(domain, site)
    deliveries = decide_pending(domain.sessions, [comment_id], ConstantModel(spam=0.99))
    assert comment(domain, comment_id).status == "rejected"
    assert len(deliveries) == events
    with domain.sessions() as session:
        for delivery in session.scalars(select(WebhookDelivery)):
            assert delivery.payload["trial"] is True and delivery.payload["data"]["trial"] is True


@pytest.fixture
def policy_fails_on_poison(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in the policy for one text (the model scores it fine)."""
    judge = policy.judge

    def failing(facts: policy.Facts, *args: Any) -> policy.Verdict:
        if facts.content == POISON:
            raise RuntimeError("the policy cannot cope with this text")
        return judge(facts, *args)

    monkeypatch.setattr(policy, "judge", failing)


@pytest.mark.usefixtures("policy_fails_on_poison")
def test_a_comment_that_fails_alone_stays_pending_until_its_last_attempt_holds_it(
    domain: Domain,
) -> None:
    site = new_site(domain)
    ids = [store_comment(domain, site, text) for text in ("Nice post.", POISON, "Well argued.")]
    first = decide_pending(domain.sessions, ids, ConstantModel())
    assert [comment(domain, i).status for i in ids] == ["approved", "pending", "approved"]
    assert comment(domain, ids[1]).decide_failures == 1 and len(first) == 2

    for attempt in range(2, MAX_DECIDE_ATTEMPTS + 1):
        last = decide_pending(domain.sessions, [ids[1]], ConstantModel())
        assert comment(domain, ids[1]).decide_failures == attempt
    failed = comment(domain, ids[1])
    assert (failed.status, failed.decided_by, reason_codes(failed)) == (
        "held",
        "rule",
        ["processing_error"],
    )
    assert failed.reasons[0]["attempts"] == MAX_DECIDE_ATTEMPTS
    assert len(last) == 1 and count_rows(domain, WebhookDelivery) == 3


def test_a_database_error_fails_the_batch_rather_than_counting_failures(
    domain: Domain, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = new_site(domain)
    ids = [store_comment(domain, site) for _ in range(2)]

    def unreachable(*_: Any) -> list[str]:
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))

    monkeypatch.setattr(decisions, "_decide", unreachable)
    with pytest.raises(OperationalError):
        decide_pending(domain.sessions, ids, ConstantModel())
    assert [comment(domain, i).decide_failures for i in ids] == [0, 0]


def test_a_text_the_model_fails_on_is_marked_failed_and_the_rest_are_scored() -> None:
    facts = [
        policy.Facts(content=text, author_name=None, author_email=None, author_url=None)
        for text in ("fine", "poison", "also fine")
    ]
    outputs = score_facts_safely(FailsOn("poison", ConstantModel(spam=0.3)), facts)
    assert [o.failed for o in outputs] == [False, True, False]
    assert outputs[0].scores == {"spam": 0.3, "toxicity": 0.01}
    assert outputs[1].scores == {} and outputs[1].version == "constant-1"


def test_a_moderators_decision_without_notify_creates_no_event(domain: Domain, db: Session) -> None:
    site = new_site(domain)
    row = db.get_one(Comment, store_comment(domain, site))
    recorded = record_decision(
        db,
        prepare_decision(
            db,
            row,
            action="reject",
            scores={},
            reasons=[{"code": "moderator"}],
            model_version=None,
            decided_by="moderator",
            notify=False,
        ),
    )
    assert recorded is not None and recorded.delivery is None
    assert (row.status, row.action, recorded.decision.action) == ("rejected", "reject", "reject")
    stale = record_decision(
        db,
        prepare_decision(
            db,
            row,
            action="approve",
            scores={},
            reasons=[],
            model_version=None,
            decided_by="model",
            expect_status="pending",
        ),
    )
    assert stale is None and row.status == "rejected"
