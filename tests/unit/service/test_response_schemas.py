"""The Out schemas dump stored objects as they are: no view builds the response first."""

from __future__ import annotations

from datetime import UTC, datetime

from service.api.moderation_schemas import AuditEntryOut, AuthorPanelOut, QueueItemOut
from service.api.schemas import CommentOut
from service.authors import AuthorView
from service.models import AuditEntry, Comment
from service.moderation import AuthorHistory

RECEIVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _comment(**columns: object) -> Comment:
    values: dict[str, object] = {
        "id": "c1",
        "site_id": "s1",
        "external_id": "17",
        "status": "pending",
        "content": "Buy cheap pills",
        "received_at": RECEIVED,
        "revisions": 0,
        **columns,
    }
    return Comment(**values)


def test_a_pending_comment_has_no_decision_yet() -> None:
    assert CommentOut().dump(_comment()) == {
        "id": "c1",
        "external_id": "17",
        "status": "pending",
        "received_at": RECEIVED.isoformat(),
        "decision": None,
        "revisions": 0,
        "edited_at": None,
    }


def test_the_decision_is_the_comments_own_columns() -> None:
    comment = _comment(status="held", action="hold", decided_by="rule", decided_at=RECEIVED)
    decision = CommentOut().dump(comment)["decision"]
    # scores and reasons not written show as empty, as the schema documents them
    assert decision == {
        "action": "hold",
        "scores": {},
        "reasons": [],
        "model_version": None,
        "decided_by": "rule",
        "decided_at": RECEIVED.isoformat(),
    }


def test_a_new_comments_columns_dump_without_reading_it_back() -> None:
    row = {"id": "c1", "external_id": "17", "status": "pending", "received_at": RECEIVED}
    assert CommentOut().dump(row) == {
        "id": "c1",
        "external_id": "17",
        "status": "pending",
        "received_at": RECEIVED.isoformat(),
        "decision": None,
    }


def test_a_queue_item_shows_the_author_and_post_columns_and_highlights() -> None:
    reasons = [{"code": "blocked_term", "term": "pills", "message": "Blocked term."}]
    comment = _comment(
        status="rejected",
        author_name="Ann",
        author_email="ann@example.org",
        post_id="p1",
        reasons=reasons,
    )
    item = QueueItemOut().dump(comment)
    assert item["author"] == {"name": "Ann", "url": None}  # never the e-mail
    assert item["post"] == {"id": "p1", "url": None, "title": None}
    assert item["scores"] == {} and item["reasons"] == reasons
    assert [(h["start"], h["end"], h["term"]) for h in item["highlights"]] == [(10, 15, "pills")]


def test_an_author_without_email_or_ip_is_known_by_nothing() -> None:
    view = AuthorView(_comment(author_name="Ann"), None, None, AuthorHistory(None))
    panel = AuthorPanelOut().dump(view)
    assert panel["comment_id"] == "c1" and panel["known_by"] is None
    assert panel["standing"] is None
    assert panel["author"]["name"] == "Ann" and panel["author"]["email"] is None


def test_an_audit_entry_carries_its_moderators_email() -> None:
    entry = AuditEntry(
        id=3, action="comment.decide", comment_id="c1", details={}, created_at=RECEIVED
    )
    dumped = AuditEntryOut().dump((entry, "mod@example.org"))
    assert dumped["moderator"] == "mod@example.org" and dumped["id"] == 3
    assert dumped["moderator_id"] is None
