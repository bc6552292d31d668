"""Edits through the real service: the earlier text is kept, the new one goes through the queue
again, and the platform hears only of a changed action. Also Akismet's ``recheck_reason=edit``.

The end-to-end test runs on PostgreSQL + Redis only: the edit path shares the queue and the
recording with new comments, which run on both back ends elsewhere; the requests that need no
worker run on both.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from service.db import session_scope
from service.decisions.edits import EDITED_AFTER_APPROVAL
from service.decisions.pipeline import record_verdict
from service.decisions.policy import ModelOutput, Verdict
from service.models import Comment, CommentRevision, Decision, LabeledExample, WebhookDelivery
from tests.conftest import auth, wait_for
from tests.support.stored import bearer, count_rows, moderator_token, store_policy
from tests.support.texts import HAM, MORE_SPAM, SPAM, SPAM_THRESHOLDS

pytestmark = pytest.mark.integration

POLICY = {"thresholds": SPAM_THRESHOLDS}
ONE_BACK_END = pytest.mark.parametrize("stack", ["postgres-redis"], indirect=True)


def decided(client, site, comment_id: str, decisions: int, app) -> dict[str, Any]:
    """The comment once its ``decisions``-th decision is recorded."""

    def done() -> dict[str, Any] | None:
        if count_rows(app, Decision, Decision.comment_id == comment_id) < decisions:
            return None
        body = client.get(f"/v1/comments/{comment_id}", headers=auth(site)).get_json()
        return body if body["status"] != "pending" else None

    return wait_for(done, timeout=15)


def edit(client, site, comment_id: str, content: str) -> dict[str, Any]:
    response = client.patch(
        f"/v1/comments/{comment_id}", json={"content": content}, headers=auth(site)
    )
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["status"] == "pending"
    return body


@ONE_BACK_END
def test_an_edit_is_decided_again_and_only_a_changed_action_is_sent(
    app, client, make_site, worker, webhook_receiver
) -> None:
    site = make_site(webhook_receiver.url)
    store_policy(app, site, POLICY)
    body = {"external_id": "c-1", "content": HAM, "post": {"id": "p-1"}}
    comment_id = client.post("/v1/comments", json=body, headers=auth(site)).get_json()["id"]
    assert decided(client, site, comment_id, 1, app)["decision"]["action"] == "approve"
    wait_for(lambda: len(webhook_receiver.events_for(comment_id)) == 1, timeout=10)

    # approved, then spam added: a new decision and a new event
    assert edit(client, site, comment_id, SPAM)["revisions"] == 1
    shown = decided(client, site, comment_id, 2, app)
    assert shown["decision"]["action"] == "reject" and shown["status"] == "rejected"
    assert shown["revisions"] == 1 and shown["edited_at"]
    events = wait_for(lambda: (e := webhook_receiver.events_for(comment_id)) and len(e) == 2 and e)
    payload = Webhook(site.site.webhook_secret).verify(events[1]["body"], events[1]["headers"])
    assert payload["data"]["action"] == "reject" and payload["data"]["comment_id"] == comment_id

    # more spam: decided again, the action is the same, so no event
    edit(client, site, comment_id, MORE_SPAM)
    assert decided(client, site, comment_id, 3, app)["decision"]["action"] == "reject"
    assert count_rows(app, WebhookDelivery, WebhookDelivery.comment_id == comment_id) == 2

    # a moderator approves; spam edited in after that is held for them, not rejected unseen
    token = moderator_token(app, site)
    approved = client.post(
        f"/v1/moderation/comments/{comment_id}/decision",
        json={"action": "approve"},
        headers=bearer(token),
    )
    assert approved.status_code == 200, approved.get_json()
    edit(client, site, comment_id, SPAM + " Visit again!")
    shown = decided(client, site, comment_id, 5, app)
    assert shown["status"] == "held" and shown["revisions"] == 3
    assert shown["decision"]["reasons"][0]["code"] == EDITED_AFTER_APPROVAL
    events = wait_for(lambda: (e := webhook_receiver.events_for(comment_id)) and len(e) == 4 and e)
    payloads = [Webhook(site.site.webhook_secret).verify(e["body"], e["headers"]) for e in events]
    # Webhooks may arrive out of order; a platform follows them by `decided_at`, as ours does.
    payloads.sort(key=lambda p: datetime.fromisoformat(p["data"]["decided_at"]))
    assert [p["data"]["action"] for p in payloads] == ["approve", "reject", "approve", "hold"]

    detail = client.get(
        f"/v1/moderation/comments/{comment_id}",
        headers=bearer(token),
    ).get_json()
    assert [r["content"] for r in detail["revisions"]] == [HAM, SPAM, MORE_SPAM]
    assert detail["edited_at"] and detail["content"] == SPAM + " Visit again!"

    with session_scope(app.extensions["commentgate"].sessions) as session:
        kept = session.scalars(
            select(CommentRevision)
            .where(CommentRevision.comment_id == comment_id)
            .order_by(CommentRevision.number)
        ).all()
        assert [r.content for r in kept] == [HAM, SPAM, MORE_SPAM]
        assert [r.number for r in kept] == [1, 2, 3]
        assert kept[0].received_at < kept[1].received_at < kept[2].received_at
        assert session.get(Comment, comment_id).content == SPAM + " Visit again!"


def test_a_decision_on_the_text_before_an_edit_is_not_kept(app, client, make_site) -> None:
    """A worker that scored the old text while the edit came in loses: the new text's own
    decision (queued by the edit) is the one that counts."""
    site = make_site()
    body = {"external_id": "c-race", "content": HAM}
    comment_id = client.post("/v1/comments", json=body, headers=auth(site)).get_json()["id"]
    sessions = app.extensions["commentgate"].sessions
    with session_scope(sessions) as session:
        stale = session.get(Comment, comment_id)
        assert stale.status == "pending" and stale.revisions == 0
        session.expunge(stale)
    edit(client, site, comment_id, SPAM)
    verdict = Verdict("approve", "model", [{"code": "below_thresholds", "action": "approve"}])
    output = ModelOutput({"spam": 0.1, "toxicity": 0.1}, {}, "v", {})
    with session_scope(sessions) as session:
        session.add(stale)
        assert record_verdict(session, stale, verdict, output) is None
    assert count_rows(app, Decision, Decision.comment_id == comment_id) == 0
    assert count_rows(app, Comment, Comment.id == comment_id, Comment.status == "pending") == 1


def test_put_same_text_and_bad_edits(app, client, make_site) -> None:
    site, other = make_site(), make_site()
    body = {"external_id": "c-2", "content": HAM}
    comment_id = client.post("/v1/comments", json=body, headers=auth(site)).get_json()["id"]
    url = f"/v1/comments/{comment_id}"

    same = client.put(url, json=body, headers=auth(site))
    assert same.status_code == 200 and same.get_json()["revisions"] == 0
    edited = client.put(url, json={**body, "content": SPAM}, headers=auth(site))
    assert edited.status_code == 202 and edited.get_json()["revisions"] == 1
    assert count_rows(app, CommentRevision, CommentRevision.comment_id == comment_id) == 1

    wrong_id = client.put(url, json={**body, "external_id": "c-3"}, headers=auth(site))
    assert wrong_id.status_code == 409 and wrong_id.get_json()["error"]["code"]
    for bad in ({}, {"content": ""}, {"content": 5}, {"content": HAM, "author": {}}):
        answer = client.patch(url, json=bad, headers=auth(site))
        assert answer.status_code == 422, bad
        assert answer.get_json()["error"]["message"]
    assert client.patch(url, json={"content": HAM}, headers=auth(other)).status_code == 404
    assert client.patch(url, json={"content": HAM}).status_code == 401

    spec = client.get("/openapi.json").get_json()
    operations = spec["paths"]["/v1/comments/{comment_id}"]
    assert {"get", "patch", "put"} <= set(operations)
    schemas = spec["components"]["schemas"]
    assert "content" in schemas["CommentEditIn"]["properties"]
    assert {"revisions", "edited_at"} <= set(schemas["CommentOut"]["properties"])


def test_akismet_recheck_for_an_edit_decides_the_same_comment_again(app, client, make_site) -> None:
    site = make_site()
    store_policy(app, site, POLICY)
    form = {
        "api_key": site.api_key,
        "blog": "https://blog.example",
        "user_ip": "203.0.113.7",
        "comment_post_ID": "17",
        "permalink": "https://blog.example/2024/01/on-iraq/",
        "comment_author": "Max",
        "comment_author_email": "max@example.org",
        "comment_content": HAM,
    }
    first = client.post("/1.1/comment-check", data=form)
    assert first.get_data(as_text=True) == "false"
    guid = first.headers["X-akismet-guid"]

    edited = {**form, "comment_content": SPAM, "recheck_reason": "edit", "comment_ID": "501"}
    again = client.post("/1.1/comment-check", data=edited)
    assert again.get_data(as_text=True) == "true"
    assert again.headers["X-akismet-guid"] == guid
    assert count_rows(app, Comment, Comment.site_id == site.site.id) == 1
    assert count_rows(app, Decision, Decision.comment_id == guid) == 2
    with session_scope(app.extensions["commentgate"].sessions) as session:
        comment = session.get(Comment, guid)
        assert (comment.content, comment.status, comment.revisions) == (SPAM, "rejected", 1)
        first_identity = comment.external_id

    # the same edit checked again, and feedback on the new text, find the same comment by the
    # identity of its new text
    recheck = {**edited, "recheck_reason": "recheck_queue"}
    assert client.post("/1.1/comment-check", data=recheck).headers["X-akismet-guid"] == guid
    with session_scope(app.extensions["commentgate"].sessions) as session:
        assert session.get(Comment, guid).external_id == first_identity
    assert count_rows(app, Decision, Decision.comment_id == guid) == 2
    client.post("/1.1/submit-ham", data={**form, "comment_content": SPAM})
    assert count_rows(app, LabeledExample, LabeledExample.comment_id == guid) == 1
    assert count_rows(app, Comment, Comment.site_id == site.site.id) == 1
