"""The review queue's rules: a moderator's site only, revisable decisions, stale views refused,
labels kept once, all-or-nothing bulk, and cursors that cannot be forged."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import moderation
from service.errors import ConflictError, NotFoundError, ValidationError
from service.models import AuditEntry, Comment, Decision, LabeledExample, Moderator
from service.moderation import QueueFilter
from service.sites import NewSite
from tests.support.domain import Domain
from tests.support.stored import new_moderator, new_site, store_decided

MODEL_REASON = {"code": "spam_score", "message": "held", "action": "hold"}


@pytest.fixture
def held(domain: Domain, domain_site: NewSite) -> list[str]:
    return store_decided(
        domain,
        domain_site,
        [
            {"external_id": "a", "spam": 0.9, "age": 30, "reasons": [MODEL_REASON]},
            {"external_id": "b", "spam": 0.6, "age": 20, "email": "ann@example.org"},
            {"external_id": "c", "spam": 0.7, "age": 10, "email": "ann@example.org"},
        ],
    )


def test_a_moderators_decision_comes_first_and_keeps_the_models_reasons(
    db: Session, moderator: Moderator, held: list[str]
) -> None:
    recorded = moderation.decide(db, moderator, held[0], "approve", reason="Fine by me.")
    comment = db.get_one(Comment, held[0])
    assert (comment.status, comment.decided_by) == ("approved", "moderator")
    assert comment.reasons == [
        {"code": "moderator", "message": "Fine by me.", "moderator_id": moderator.id},
        MODEL_REASON,
    ]
    assert recorded.decision.moderator_id == moderator.id and recorded.delivery is not None
    assert recorded.delivery.payload["data"]["decided_by"] == "moderator"
    entry = db.scalar(select(AuditEntry).where(AuditEntry.comment_id == held[0]))
    assert entry.details["previous_status"] == "held" and entry.details["status"] == "approved"
    assert entry.moderator_id == moderator.id and entry.details["bulk"] is False

    moderation.decide(db, moderator, held[0], "reject")  # revisable: the newest reason replaces
    codes = [r["code"] for r in db.get_one(Comment, held[0]).reasons]
    assert codes == ["moderator", "spam_score"]
    assert db.get_one(Comment, held[0]).status == "rejected"


def test_a_decision_on_a_stale_view_changes_nothing(
    db: Session, moderator: Moderator, held: list[str]
) -> None:
    moderation.decide(db, moderator, held[0], "reject")
    with pytest.raises(ConflictError) as refused:
        moderation.decide(db, moderator, held[0], "approve", expected_status="held")
    current = refused.value.details["current"]
    assert (current["status"], current["moderator"]) == ("rejected", "mod@example.org")
    assert db.get_one(Comment, held[0]).status == "rejected"
    moderation.decide(db, moderator, held[0], "approve", expected_status="rejected")
    assert db.get_one(Comment, held[0]).status == "approved"


def test_another_sites_comment_and_unknown_choices_are_refused(
    domain: Domain, db: Session, moderator: Moderator, held: list[str]
) -> None:
    stranger = new_moderator(domain, new_site(domain), email="other@example.org").moderator
    db.commit()
    with pytest.raises(NotFoundError):
        moderation.decide(db, db.get_one(Moderator, stranger.id), held[0], "approve")
    with pytest.raises(ValidationError):
        moderation.decide(db, moderator, held[0], "defer")
    with pytest.raises(ValidationError):  # back to the queue teaches nothing: no label
        moderation.decide(db, moderator, held[0], "hold", label="spam")
    with pytest.raises(ValidationError):
        moderation.decide(db, moderator, held[0], "reject", label="rude")
    assert db.get_one(Comment, held[0]).status == "held"
    assert db.scalars(select(Decision).where(Decision.moderator_id.is_not(None))).all() == []


def test_only_the_latest_label_of_a_comment_is_kept(
    db: Session, moderator: Moderator, held: list[str]
) -> None:
    moderation.decide(db, moderator, held[0], "reject", label="spam")
    moderation.decide(db, moderator, held[0], "approve", label="ham")
    labels = db.scalars(select(LabeledExample).where(LabeledExample.comment_id == held[0])).all()
    assert {(label.task, label.label) for label in labels} == {("spam", 0)}
    assert db.get_one(Comment, held[0]).reasons[0]["label"] == "ham"


def test_a_bulk_decision_is_all_or_nothing(
    db: Session, moderator: Moderator, held: list[str]
) -> None:
    with pytest.raises(NotFoundError) as missing:
        moderation.decide_many(db, moderator, [held[0], "nope", held[1]], "reject")
    assert missing.value.details == {"missing": ["nope"]}
    moderation.decide(db, moderator, held[1], "approve")
    with pytest.raises(ConflictError):
        moderation.decide_many(db, moderator, held, "reject", expected_status="held")
    assert [db.get_one(Comment, i).status for i in held] == ["held", "approved", "held"]

    done = moderation.decide_many(db, moderator, [held[0], held[2], held[0]], "reject")
    assert [r.decision.comment_id for r in done] == [held[0], held[2]]
    entries = db.scalars(select(AuditEntry).where(AuditEntry.details["bulk"].as_boolean())).all()
    assert len(entries) == 2
    with pytest.raises(ValidationError):
        moderation.decide_many(db, moderator, [], "reject")


def test_a_platforms_moderator_is_named_and_audited_without_an_account(
    db: Session, held: list[str], domain_site: NewSite
) -> None:
    moderation.decide_for_platform(db, domain_site.site.id, held[0], "reject", moderator="wp-ann")
    comment = db.get_one(Comment, held[0])
    assert comment.reasons[0] == {
        "code": "moderator",
        "message": "A moderator chose to reject the comment.",
        "platform": True,
        "platform_moderator": "wp-ann",
    }
    entry = db.scalar(select(AuditEntry).where(AuditEntry.comment_id == held[0]))
    assert entry.moderator_id is None and entry.details["platform_moderator"] == "wp-ann"
    assert moderation.deciders(db, [comment])[comment.id].moderator == "wp-ann"


def test_the_queue_pages_through_every_match_once_in_its_order(
    db: Session, domain_site: NewSite, held: list[str]
) -> None:
    site_id = domain_site.site.id
    seen, cursor = [], None
    while True:
        page = moderation.queue(db, site_id, QueueFilter(sort="spam", limit=2, cursor=cursor))
        seen += [c.external_id for c in page.items]
        if page.next is None:
            break
        cursor = page.next
    assert seen == ["a", "c", "b"]
    oldest = moderation.queue(db, site_id, QueueFilter(spam_min=0.65)).items
    assert [c.external_id for c in oldest] == ["a", "c"]
    assert moderation.status_counts(db, site_id) == {
        "pending": 0,
        "approved": 0,
        "held": 3,
        "rejected": 0,
    }


def test_a_forged_or_foreign_cursor_is_refused(db: Session, domain_site: NewSite) -> None:
    site_id = domain_site.site.id
    newest = moderation.encode_cursor({"s": "newest", "v": "2026-01-01T00:00:00", "i": "x"})
    for cursor in ("%%%not-base64", moderation.encode_cursor({"i": "x"}), newest):
        with pytest.raises(ValidationError):
            moderation.queue(db, site_id, QueueFilter(sort="spam", cursor=cursor))
    with pytest.raises(ValidationError):
        moderation.queue(db, site_id, QueueFilter(status="deleted"))
    with pytest.raises(ValidationError):
        moderation.queue(db, site_id, QueueFilter(reason="Spam Score"))


def test_the_author_history_matches_by_email_and_leaves_the_comment_out(
    db: Session, held: list[str]
) -> None:
    history = moderation.author_history(db, db.get_one(Comment, held[1]))
    assert history.matched_by == "email"
    assert [c.id for c in history.comments] == [held[2]]
    assert history.counts["held"] == 1
    assert moderation.author_history(db, db.get_one(Comment, held[0])).matched_by is None


def test_reason_terms_group_the_terms_by_what_raised_them() -> None:
    reasons = [
        {"code": "model_terms", "task": "spam", "terms": ["cheap", "pills", "cheap"]},
        {"code": "blocked_term", "term": "casino"},
        {"code": "spam_score", "terms": ["ignored"]},
        "not a reason",
    ]
    assert moderation.reason_terms(reasons) == {
        "spam": ["cheap", "pills"],
        "blocked_term": ["casino"],
    }


def test_the_audit_log_pages_newest_first(
    db: Session, moderator: Moderator, held: list[str]
) -> None:
    for comment_id in held:
        moderation.decide(db, moderator, comment_id, "approve")
    first = moderation.audit_log(db, moderator.site_id, limit=2)
    assert [entry.comment_id for entry, _ in first.items] == [held[2], held[1]]
    assert {email for _, email in first.items} == {"mod@example.org"}
    rest = moderation.audit_log(db, moderator.site_id, limit=2, cursor=first.next)
    assert [entry.comment_id for entry, _ in rest.items] == [held[0]] and rest.next is None


def test_hold_sends_a_decided_comment_back_to_the_queue_and_forgets_its_label(
    db: Session, moderator: Moderator, held: list[str]
) -> None:
    moderation.decide(db, moderator, held[0], "approve")
    assert db.scalars(select(LabeledExample).filter_by(comment_id=held[0])).all()
    moderation.decide(db, moderator, held[0], "hold", expected_status="approved")
    comment = db.get_one(Comment, held[0])
    assert (comment.status, comment.action, comment.decided_by) == ("held", "hold", "moderator")
    assert not db.scalars(select(LabeledExample).filter_by(comment_id=held[0])).all()
