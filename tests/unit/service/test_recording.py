"""Recording a decision: the comment's new status, the decision and its event, or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service.db import make_engine, make_session_factory, session_scope
from service.decisions import recording
from service.models import Comment, Decision, WebhookDelivery, new_id, utcnow
from tests.support.domain import Domain
from tests.support.stored import new_site, store_comment


def rows(db: Session, model: type) -> int:
    return db.scalar(select(func.count()).select_from(model))


def values(comment_id: str, expect: str | None, revisions: int | None = 0) -> tuple[Any, ...]:
    now = utcnow()
    comment = {
        "id": comment_id,
        "status": "held",
        "action": "hold",
        "decided_by": "model",
        "decided_at": now,
        "scores": {"spam": 0.7},
        "reasons": [{"code": "spam_score"}],
        "model_version": "v-1",
        "expect": expect,
        "revisions": revisions,
    }
    decision = {
        "comment_id": comment_id,
        "action": "hold",
        "scores": {"spam": 0.7},
        "reasons": [{"code": "spam_score"}],
        "model_version": "v-1",
        "decided_by": "model",
        "moderator_id": None,
        "note": None,
        "decided_at": now,
    }
    return comment, decision


def delivery_of(site_id: str, comment_id: str) -> dict[str, Any]:
    return {
        "id": new_id(),
        "site_id": site_id,
        "comment_id": comment_id,
        "event_id": "msg_" + new_id(),
        "event_type": "comment.decided",
        "payload": {"type": "comment.decided"},
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": utcnow(),
        "created_at": utcnow(),
        "delivered_at": None,
        "last_error": None,
    }


def write_one(connection: Any, *rows: Any) -> int | None:
    """One decision's rows, through the batch writer."""
    return recording.write_many(connection, [rows])[0]


def test_the_expected_status_records_all_three_rows(domain: Domain, db: Session) -> None:
    site = new_site(domain)
    comment_id = store_comment(domain, site)
    comment, decision = values(comment_id, expect="pending")
    decision_id = write_one(
        db.connection(), comment, decision, delivery_of(site.site.id, comment_id)
    )
    assert isinstance(decision_id, int)
    stored = db.get_one(Comment, comment_id)
    assert (stored.status, stored.action, stored.model_version) == ("held", "hold", "v-1")
    assert db.get_one(Decision, decision_id).comment_id == comment_id
    assert db.scalar(select(WebhookDelivery.comment_id)) == comment_id


def test_another_status_than_expected_records_nothing(domain: Domain, db: Session) -> None:
    site = new_site(domain)
    comment_id = store_comment(domain, site)
    comment, decision = values(comment_id, expect="held")  # it is still pending
    event = delivery_of(site.site.id, comment_id)
    assert write_one(db.connection(), comment, decision, event) is None
    assert db.get_one(Comment, comment_id).status == "pending"
    assert (rows(db, Decision), rows(db, WebhookDelivery)) == (0, 0)


def test_a_text_edited_since_the_decision_began_records_nothing(
    domain: Domain, db: Session
) -> None:
    site = new_site(domain)
    comment_id = store_comment(domain, site)
    db.execute(update(Comment).where(Comment.id == comment_id).values(revisions=1))
    comment, decision = values(comment_id, expect="pending", revisions=0)
    assert write_one(db.connection(), comment, decision, None) is None
    comment, decision = values(comment_id, expect="pending", revisions=1)
    assert write_one(db.connection(), comment, decision, None) is not None


def test_without_an_expected_status_any_status_changes_and_no_event_is_optional(
    domain: Domain, db: Session
) -> None:
    site = new_site(domain)
    comment_id = store_comment(domain, site)
    for _ in range(2):
        comment, decision = values(comment_id, expect=None)
        assert write_one(db.connection(), comment, decision, None) is not None
    assert (rows(db, Decision), rows(db, WebhookDelivery)) == (2, 0)


@pytest.fixture(params=["sqlite", "postgresql"])
def either(request: pytest.FixtureRequest, domain: Domain) -> Iterator[Domain]:
    """The domain on SQLite, or the same on a migrated PostgreSQL database."""
    if request.param == "sqlite":
        yield domain
        return
    engine = make_engine(request.getfixturevalue("migrated_postgres_url"))
    yield replace(domain, engine=engine, sessions=make_session_factory(engine))
    engine.dispose()


def test_a_batch_is_recorded_in_order_and_a_lost_race_records_nothing(either: Domain) -> None:
    site = new_site(either)
    ids = [store_comment(either, site) for _ in range(3)]
    first, lost, quiet = (
        values(i, expect) for i, expect in zip(ids, ["pending", "held", "pending"], strict=True)
    )
    batch = [
        (*first, delivery_of(site.site.id, ids[0])),
        (*lost, delivery_of(site.site.id, ids[1])),  # it is still pending, not held
        (*quiet, None),
    ]
    with session_scope(either.sessions) as session:
        found = recording.write_many(session.connection(), batch)
    assert isinstance(found[0], int) and found[1] is None and isinstance(found[2], int)
    with either.sessions() as session:
        statuses = [session.get_one(Comment, i).status for i in ids]
        assert statuses == ["held", "pending", "held"]
        decisions = session.scalars(select(Decision).order_by(Decision.id)).all()
        assert [(d.id, d.comment_id) for d in decisions] == [(found[0], ids[0]), (found[2], ids[2])]
        assert decisions[0].reasons == [{"code": "spam_score"}], "JSON kept as JSON"
        [event] = session.scalars(select(WebhookDelivery)).all()
        assert (event.comment_id, event.payload) == (ids[0], {"type": "comment.decided"})
