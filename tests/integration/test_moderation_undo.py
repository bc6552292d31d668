"""Undo on ``/moderate``: a decision's webhook waits for the window; an undo in it sends nothing
and restores the comment, labels and all; after an attempt, or on another's decision, it is 409."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from service.db import session_scope
from service.models import AuditEntry, Comment, LabeledExample, WebhookDelivery, utcnow
from service.moderators import create_moderator
from service.undo import UNDO_SECONDS
from tests.browser.support import store_held

pytestmark = pytest.mark.integration
JSON = {"Accept": "application/json"}


def signed_in(client, token: str) -> str:
    """Sign the test client in; the page's CSRF token."""
    page = client.get("/moderate")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert client.post("/moderate/sign-in", data={"token": token, "csrf_token": csrf}).status_code
    queue = client.get("/moderate")
    return re.search(r'name="csrf-token" content="([^"]+)"', queue.text).group(1)


def test_undo_restores_the_comment_and_sends_nothing_until_too_late(app, client, make_site) -> None:
    site = make_site()
    sessions = app.extensions["commentgate"].sessions
    with session_scope(sessions) as session:
        [comment_id] = store_held(session, site.site.id, [{"external_id": "u-1", "content": "Hi"}])
        ana = create_moderator(session, site.site, "ana@example.org", "moderator").token
        ben = create_moderator(session, site.site, "ben@example.org", "moderator").token
    csrf = signed_in(client, ana)

    def decide(decision: str) -> dict:
        response = client.post(
            f"/moderate/comments/{comment_id}/decision",
            data={"decision": decision, "csrf_token": csrf},
            headers=JSON,
        )
        assert response.status_code == 200, response.text
        return response.get_json()

    def undo(decided: dict, token: str = csrf):
        data = {"decision_id": decided["decision_id"], "csrf_token": token}
        return client.post(decided["undo_url"], data=data, headers=JSON)

    decided = decide("reject:spam")
    assert decided["delivery"] == "holding" and decided["undo_seconds"] == UNDO_SECONDS
    with session_scope(sessions) as session:
        [delivery] = session.scalars(select(WebhookDelivery).filter_by(comment_id=comment_id))
        assert delivery.next_attempt_at >= utcnow() + timedelta(seconds=UNDO_SECONDS - 2)
        assert session.scalars(select(LabeledExample).filter_by(comment_id=comment_id)).all()

    undone = undo(decided)
    assert undone.status_code == 200, undone.text
    body = undone.get_json()
    assert {k: body[k] for k in ("id", "external_id", "status", "decided_by", "delivery")} == {
        "id": comment_id,
        "external_id": "u-1",
        "status": "held",
        "decided_by": "model",
        "delivery": None,
    }
    assert body["counts"]["held"] == 1 and len(body["items"]) == 1
    with session_scope(sessions) as session:
        comment = session.get(Comment, comment_id)
        assert (comment.status, comment.action, comment.decided_by) == ("held", "hold", "model")
        assert [d.decided_by for d in comment.decisions] == ["model"]
        assert not session.scalars(select(WebhookDelivery).filter_by(comment_id=comment_id)).all()
        assert not session.scalars(select(LabeledExample).filter_by(comment_id=comment_id)).all()
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
        assert actions[-2:] == ["comment.decide", "comment.undo"]
    assert undo(decided).status_code == 409  # already undone

    decided = decide("approve")
    with session_scope(sessions) as session:  # the worker made its first attempt
        session.execute(update(WebhookDelivery).values(attempts=1))
    too_late = undo(decided)
    assert too_late.status_code == 409
    assert too_late.get_json()["error"]["message"].startswith("Too late to undo")
    with session_scope(sessions) as session:
        assert session.get(Comment, comment_id).status == "approved"

    decided = decide("reject")
    client.post("/moderate/sign-out", data={"csrf_token": csrf})
    other = undo(decided, signed_in(client, ben))
    assert other.status_code == 409
    with session_scope(sessions) as session:
        assert session.get(Comment, comment_id).status == "rejected"


def test_a_bulk_decision_is_undone_all_or_nothing(app, client, make_site) -> None:
    site = make_site()
    sessions = app.extensions["commentgate"].sessions
    rows = [{"external_id": f"b-{n}", "content": f"Comment {n}"} for n in range(3)]
    with session_scope(sessions) as session:
        ids = store_held(session, site.site.id, rows)
        token = create_moderator(session, site.site, "ana@example.org", "moderator").token
    csrf = signed_in(client, token)
    bulk = client.post(
        "/moderate/decisions",
        data={"ids": ids[:2], "decision": "reject:spam", "csrf_token": csrf},
        headers=JSON,
    ).get_json()
    assert bulk["decided"] == 2 and bulk["status"] == "rejected"
    assert bulk["message"] == "Rejected 2 comments as spam."
    with session_scope(sessions) as session:
        labels = session.scalars(select(LabeledExample.label).filter_by(task="spam")).all()
        assert labels == [1, 1]
    assert bulk["counts"]["held"] == 1 and bulk["counts"]["rejected"] == 2

    def undo(decisions: list[str]):
        data = {"decisions": decisions, "csrf_token": csrf}
        return client.post(bulk["undo_url"], data=data, headers=JSON)

    assert undo([*bulk["decisions"], f"{ids[2]}:1"]).status_code == 409
    with session_scope(sessions) as session:
        assert [session.get(Comment, i).status for i in ids] == ["rejected", "rejected", "held"]
    undone = undo(bulk["decisions"])
    assert undone.status_code == 200, undone.text
    assert [item["status"] for item in undone.get_json()["items"]] == ["held", "held"]
    with session_scope(sessions) as session:
        assert {session.get(Comment, i).status for i in ids} == {"held"}
        assert not session.scalars(select(WebhookDelivery)).all()
