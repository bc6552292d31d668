"""``/v1/moderation``: the queue, decisions, bulk, site isolation, labels, audit and webhooks.

Comments are stored directly with known scores so filters and sorting have exact answers; the
webhook test runs a real worker and a real receiver. Every test runs on both back ends.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook

from service.db import session_scope
from service.models import (
    AuditEntry,
    Comment,
    LabeledExample,
    WebhookDelivery,
    utcnow,
)
from service.moderators import revoke_moderator
from tests.conftest import auth, wait_for
from tests.support.stored import bearer, moderator_token, store_decided

pytestmark = pytest.mark.integration
QUEUE = "/v1/moderation/queue"


def external_ids(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["external_id"] for item in response.get_json()["items"]]


def test_queue_filters_and_sorts(app, client, make_site) -> None:
    site = make_site()
    store_decided(
        app,
        site,
        [
            {"external_id": "h1", "spam": 0.90, "toxicity": 0.10, "age": 50, "author": "Ann"},
            {"external_id": "h2", "spam": 0.55, "toxicity": 0.80, "age": 40, "content": "You fool"},
            {"external_id": "h3", "spam": 0.70, "toxicity": 0.30, "age": 30},
            {"external_id": "h4", "spam": 0.20, "toxicity": 0.95, "age": 3 * 24 * 60},
            {"external_id": "a1", "status": "approved", "spam": 0.05, "age": 20},
            {"external_id": "r1", "status": "rejected", "spam": 0.99, "age": 10},
            {"external_id": "p1", "status": "pending", "age": 5},
        ],
    )
    headers = bearer(moderator_token(app, site))
    get = lambda query="": client.get(QUEUE + query, headers=headers)  # noqa: E731

    body = get().get_json()
    assert [i["external_id"] for i in body["items"]] == ["h4", "h1", "h2", "h3"]
    assert body["next"] is None
    item = body["items"][1]
    assert {"id", "external_id", "status", "content", "scores", "reasons"} <= set(item)
    assert item["status"] == "held" and item["scores"]["spam"] == 0.9
    assert item["author"]["name"] == "Ann" and item["decided_by"] == "model"

    assert external_ids(get("?status=approved")) == ["a1"]
    assert external_ids(get("?status=rejected")) == ["r1"]
    assert external_ids(get("?status=pending")) == ["p1"]
    assert external_ids(get("?sort=newest")) == ["h3", "h2", "h1", "h4"]
    assert external_ids(get("?sort=spam")) == ["h1", "h3", "h2", "h4"]
    assert external_ids(get("?sort=toxicity")) == ["h4", "h2", "h3", "h1"]
    assert external_ids(get("?spam_min=0.5&spam_max=0.8")) == ["h2", "h3"]
    assert external_ids(get("?toxicity_min=0.8")) == ["h4", "h2"]
    assert external_ids(get("?toxicity_max=0.3&sort=spam")) == ["h1", "h3"]
    assert external_ids(get("?q=FOOL")) == ["h2"]
    assert external_ids(get("?q=ann")) == ["h1"]
    assert external_ids(get("?q=h3")) == ["h3"]
    assert external_ids(get("?q=100%25")) == []
    since = (utcnow() - timedelta(hours=1)).isoformat()
    assert external_ids(client.get(QUEUE, query_string={"since": since}, headers=headers)) == [
        "h1",
        "h2",
        "h3",
    ]
    day_ago = (utcnow() - timedelta(days=1)).isoformat()
    assert external_ids(client.get(QUEUE, query_string={"until": day_ago}, headers=headers)) == [
        "h4"
    ]
    assert external_ids(get("?until=2000-01-01")) == []
    assert len(external_ids(get("?since=2000-01-01"))) == 4

    for bad in ("?status=spam", "?sort=best", "?spam_min=2", "?spam_min=0.9&spam_max=0.1", "?x=1"):
        response = get(bad)
        assert response.status_code == 422, bad
        assert response.get_json()["error"]["code"] == "validation_error"


def test_queue_filters_by_whole_author_and_by_post_and_says_where_terms_matched(
    app, client, make_site
) -> None:
    site = make_site()
    suspect = {"code": "suspect_term", "term": "casino", "field": "content", "message": "held"}
    store_decided(
        app,
        site,
        [
            {
                "external_id": "x1",
                "author": "Ann Lee",
                "content": "Fine post",
                "post_id": "p1",
                "age": 2,
            },
            {"external_id": "x2", "author": "Bob", "content": "Ann Lee, see my c4sino"}
            | {"post_id": "p2", "reasons": [suspect], "age": 1},
        ],
    )
    headers = bearer(moderator_token(app, site))
    get = lambda query: client.get(QUEUE + query, headers=headers)  # noqa: E731

    assert external_ids(get("?author=ann%20lee")) == ["x1"]
    assert external_ids(get("?author=Ann")) == []
    assert external_ids(get("?q=ann")) == ["x1", "x2"]
    assert external_ids(get("?post=p2")) == ["x2"]
    assert external_ids(get("?reason=suspect_term")) == ["x2"]
    assert external_ids(get("?reason=spam_score")) == ["x1"]
    assert external_ids(get("?reason=spam_score&post=p2")) == []
    assert get("?reason=spam%25").status_code == 422
    [item] = get("?post=p2").get_json()["items"]
    [mark] = item["highlights"]
    assert item["content"][mark["start"] : mark["end"]] == "c4sino"
    assert (mark["kind"], mark["code"], mark["term"]) == ("rule", "suspect_term", "casino")


def test_cursor_pagination_is_complete_and_stable_under_inserts(app, client, make_site) -> None:
    site = make_site()
    store_decided(
        app, site, [{"external_id": f"c{n}", "age": 100 - n, "spam": 0.5} for n in range(7)]
    )
    headers = bearer(moderator_token(app, site))

    for sort in ("oldest", "newest", "spam"):
        seen, cursor = [], None
        while True:
            query = {"sort": sort, "limit": 3, **({"cursor": cursor} if cursor else {})}
            body = client.get(QUEUE, query_string=query, headers=headers).get_json()
            seen += [i["external_id"] for i in body["items"]]
            cursor = body["next"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(f"c{n}" for n in range(7)), sort
        assert len(seen) == len(set(seen)) == 7

    first = client.get(QUEUE, query_string={"sort": "newest", "limit": 3}, headers=headers)
    assert external_ids(first) == ["c6", "c5", "c4"]
    store_decided(
        app, site, [{"external_id": "fresh", "age": 0}, {"external_id": "old", "age": 500}]
    )
    cursor = first.get_json()["next"]
    rest = client.get(
        QUEUE, query_string={"sort": "newest", "limit": 10, "cursor": cursor}, headers=headers
    )
    assert external_ids(rest) == ["c3", "c2", "c1", "c0", "old"]

    for cursor in ("not-a-cursor", "e30", first.get_json()["next"][:-3]):
        response = client.get(QUEUE, query_string={"cursor": cursor}, headers=headers)
        assert response.status_code == 422
    other_sort = {"sort": "oldest", "cursor": first.get_json()["next"]}
    assert client.get(QUEUE, query_string=other_sort, headers=headers).status_code == 422


def test_score_sorts_page_one_by_one_with_unscored_comments_last(app, client, make_site) -> None:
    """The sort key is the database's copy of the score: a cursor taken from it lands exactly
    between comments whose scores no short decimal writes, and a comment without scores (an
    error hold) comes after every scored one."""
    site = make_site()
    odd = 0.1 + 0.2  # 0.30000000000000004
    store_decided(
        app,
        site,
        [
            {"external_id": "none", "scores": None, "age": 1},
            {"external_id": "toxic-only", "scores": {"toxicity": 0.9}, "age": 2},
            {"external_id": "odd-a", "spam": odd, "age": 3},
            {"external_id": "odd-b", "spam": odd, "age": 4},
            {"external_id": "long", "spam": 0.7312345678901234, "age": 5},
            {"external_id": "zero", "spam": 0.0, "age": 6},
        ],
    )
    headers = bearer(moderator_token(app, site))
    seen, cursor = [], None
    while True:
        query = {"sort": "spam", "limit": 1, **({"cursor": cursor} if cursor else {})}
        body = client.get(QUEUE, query_string=query, headers=headers).get_json()
        seen += [i["external_id"] for i in body["items"]]
        if (cursor := body["next"]) is None:
            break
    assert len(seen) == 6 and seen[0] == "long" and seen[3] == "zero"
    assert set(seen[1:3]) == {"odd-a", "odd-b"}
    assert set(seen[4:]) == {"none", "toxic-only"}
    by_toxicity = external_ids(
        client.get(QUEUE, query_string={"sort": "toxicity"}, headers=headers)
    )
    assert by_toxicity[0] == "toxic-only" and by_toxicity[-1] == "none"


def test_moderators_see_and_decide_only_their_own_site(app, client, make_site) -> None:
    site_a, site_b = make_site(), make_site()
    [a_id] = store_decided(app, site_a, [{"external_id": "a"}])
    [b_id] = store_decided(app, site_b, [{"external_id": "b"}])
    token_a = moderator_token(app, site_a, email="a@example.org")
    headers = bearer(token_a)

    assert external_ids(client.get(QUEUE, headers=headers)) == ["a"]
    assert client.get(f"/v1/moderation/comments/{b_id}", headers=headers).status_code == 404
    decide_b = client.post(
        f"/v1/moderation/comments/{b_id}/decision", json={"action": "approve"}, headers=headers
    )
    assert decide_b.status_code == 404
    bulk = client.post(
        "/v1/moderation/decisions", json={"ids": [a_id, b_id], "action": "reject"}, headers=headers
    )
    assert bulk.status_code == 404
    assert bulk.get_json()["error"]["details"]["missing"] == [b_id]
    other = client.get(QUEUE, query_string={"site": site_b.site.name}, headers=headers)
    assert other.status_code == 404
    own = client.get(QUEUE, query_string={"site": site_a.site.name}, headers=headers)
    assert external_ids(own) == ["a"]
    with session_scope(app.extensions["commentgate"].sessions) as session:
        assert session.get(Comment, a_id).status == "held"
        assert session.get(Comment, b_id).status == "held"

    assert client.get(QUEUE).status_code == 401
    assert client.get(QUEUE, headers=auth(site_a)).status_code == 401, "a site key is no token"
    with session_scope(app.extensions["commentgate"].sessions) as session:
        revoke_moderator(session, site_a.site, "a@example.org")
    revoked = client.get(QUEUE, headers=headers)
    assert revoked.status_code == 401
    assert revoked.get_json()["error"]["code"] == "unauthorized"


def test_decision_updates_comment_keeps_history_labels_and_audit(app, client, make_site) -> None:
    site = make_site()
    reasons = [
        {"code": "spam_score", "message": "spam", "task": "spam"},
        {"code": "model_terms", "message": "terms", "task": "spam", "terms": ["cheap", "pills"]},
    ]
    ids = store_decided(
        app,
        site,
        [
            {"external_id": "x", "spam": 0.8, "email": "max@example.org", "reasons": reasons},
            {"external_id": "y", "status": "approved", "email": "MAX@example.org", "age": 60},
            {"external_id": "z", "ip": "203.0.113.9", "age": 30, "toxicity": 0.7, "spam": 0.1},
            {"external_id": "w", "ip": "203.0.113.9", "age": 90, "status": "rejected"},
        ],
    )
    headers = bearer(moderator_token(app, site, email="ana@example.org"))
    url = f"/v1/moderation/comments/{ids[0]}/decision"

    assert client.post(url, json={"action": "defer"}, headers=headers).status_code == 422
    hold_as_spam = {"action": "hold", "label": "spam"}
    assert client.post(url, json=hold_as_spam, headers=headers).status_code == 422
    assert (
        client.post(url, json={"action": "approve", "label": "meh"}, headers=headers).status_code
        == 422
    )
    answer = client.post(
        url, json={"action": "reject", "reason": "Pharma spam", "label": "spam"}, headers=headers
    )
    assert answer.status_code == 200
    decided = answer.get_json()
    assert decided["status"] == "rejected" and decided["decided_by"] == "moderator"
    assert decided["reasons"][0]["code"] == "moderator"
    assert decided["reasons"][0]["message"] == "Pharma spam"
    assert decided["scores"]["spam"] == 0.8, "the model's scores are kept"

    detail = client.get(f"/v1/moderation/comments/{ids[0]}", headers=headers).get_json()
    assert detail["terms"] == {"spam": ["cheap", "pills"]}
    assert detail["author"]["email"] == "max@example.org"
    history = detail["author_history"]
    assert history["matched_by"] == "email"
    assert [c["external_id"] for c in history["comments"]] == ["y"]
    assert history["counts"]["approved"] == 1
    [decision] = detail["decisions"]
    assert decision["moderator"] == "ana@example.org" and decision["note"] == "Pharma spam"
    by_ip = client.get(f"/v1/moderation/comments/{ids[2]}", headers=headers).get_json()
    assert by_ip["author_history"]["matched_by"] == "ip"
    assert [c["external_id"] for c in by_ip["author_history"]["comments"]] == ["w"]

    sessions = app.extensions["commentgate"].sessions

    def labels(comment_id: str) -> set[tuple[str, int]]:
        with session_scope(sessions) as session:
            rows = session.scalars(
                select(LabeledExample).where(LabeledExample.comment_id == comment_id)
            )
            return {(r.task, r.label) for r in rows}

    assert labels(ids[0]) == {("spam", 1)}
    client.post(url, json={"action": "approve"}, headers=headers)
    assert labels(ids[0]) == {("spam", 0), ("toxicity", 0)}, "the latest decision is the label"
    client.post(
        f"/v1/moderation/comments/{ids[2]}/decision", json={"action": "reject"}, headers=headers
    )
    assert labels(ids[2]) == {("toxicity", 1)}, "no label: the task the model scored higher"

    detail = client.get(f"/v1/moderation/comments/{ids[0]}", headers=headers).get_json()
    assert [d["action"] for d in detail["decisions"]] == ["reject", "approve"]
    audit = client.get("/v1/moderation/audit", headers=headers).get_json()
    assert [(e["comment_id"], e["details"]["action"]) for e in audit["items"]] == [
        (ids[2], "reject"),
        (ids[0], "approve"),
        (ids[0], "reject"),
    ]
    entry = audit["items"][2]
    assert entry["moderator"] == "ana@example.org"
    assert entry["details"]["previous_status"] == "held" and entry["details"]["label"] == "spam"
    page = client.get("/v1/moderation/audit?limit=2", headers=headers).get_json()
    rest = client.get(f"/v1/moderation/audit?cursor={page['next']}", headers=headers).get_json()
    assert [e["id"] for e in page["items"] + rest["items"]] == [e["id"] for e in audit["items"]]
    only = client.get(f"/v1/moderation/audit?comment={ids[2]}", headers=headers).get_json()
    assert [e["comment_id"] for e in only["items"]] == [ids[2]]

    unapproved = client.post(
        url, json={"action": "hold", "expected_status": "approved"}, headers=headers
    )
    assert unapproved.status_code == 200 and unapproved.get_json()["status"] == "held"
    assert labels(ids[0]) == set(), "back in the queue: it teaches nothing until decided again"
    queue = client.get(QUEUE, headers=headers).get_json()
    assert ids[0] in [item["id"] for item in queue["items"]]


def test_bulk_decisions_are_all_or_nothing(app, client, make_site) -> None:
    site = make_site()
    ids = store_decided(app, site, [{"external_id": f"b{n}", "spam": 0.9} for n in range(3)])
    headers = bearer(moderator_token(app, site))
    sessions = app.extensions["commentgate"].sessions

    def counts() -> tuple[int, int, int, int]:
        with session_scope(sessions) as session:
            held = session.scalar(
                select(func.count()).where(
                    Comment.site_id == site.site.id, Comment.status == "held"
                )
            )
            audit = session.scalar(select(func.count()).select_from(AuditEntry))
            labels = session.scalar(select(func.count()).select_from(LabeledExample))
            deliveries = session.scalar(select(func.count()).select_from(WebhookDelivery))
            return held, audit, labels, deliveries

    before = counts()
    assert before == (3, 0, 0, 0)
    missing = client.post(
        "/v1/moderation/decisions",
        json={"ids": [*ids, "0" * 32], "action": "reject", "label": "spam"},
        headers=headers,
    )
    assert missing.status_code == 404
    assert counts() == before
    too_many = client.post(
        "/v1/moderation/decisions",
        json={"ids": [f"{n:032x}" for n in range(501)], "action": "approve"},
        headers=headers,
    )
    assert too_many.status_code == 422
    for body in ({"ids": [], "action": "approve"}, {"ids": ids, "action": "defer"}, {"ids": ids}):
        assert (
            client.post("/v1/moderation/decisions", json=body, headers=headers).status_code == 422
        )
    assert counts() == before

    done = client.post(
        "/v1/moderation/decisions",
        json={"ids": [*ids, ids[0]], "action": "reject", "label": "spam", "reason": "Link farm"},
        headers=headers,
    )
    assert done.status_code == 200
    body = done.get_json()
    assert body["decided"] == 3
    assert {i["status"] for i in body["items"]} == {"rejected"}
    assert counts() == (0, 3, 3, 3)
    audit = client.get("/v1/moderation/audit", headers=headers).get_json()["items"]
    assert sorted(e["comment_id"] for e in audit) == sorted(ids)
    assert all(e["details"]["bulk"] for e in audit)


def test_moderator_decision_reaches_the_platform_by_webhook(
    app, client, make_site, worker, webhook_receiver
) -> None:
    site = make_site(webhook_receiver.url)
    [comment_id] = store_decided(app, site, [{"external_id": "wp-77", "spam": 0.6}])
    headers = bearer(moderator_token(app, site))
    response = client.post(
        f"/v1/moderation/comments/{comment_id}/decision",
        json={"action": "reject", "reason": "Off-topic advertising", "label": "spam"},
        headers=headers,
    )
    assert response.status_code == 200

    [event] = wait_for(lambda: webhook_receiver.events_for(comment_id), timeout=30)
    payload = Webhook(site.site.webhook_secret).verify(event["body"], event["headers"])
    data = payload["data"]
    assert payload["type"] == "comment.decided"
    assert data["external_id"] == "wp-77"
    assert data["action"] == "reject" and data["decided_by"] == "moderator"
    assert data["status"] == "rejected"
    assert data["reasons"][0] == {
        "code": "moderator",
        "message": "Off-topic advertising",
        "moderator_id": data["reasons"][0]["moderator_id"],
        "label": "spam",
    }
    assert json.loads(event["body"])["data"]["scores"]["spam"] == 0.6

    client.post(
        f"/v1/moderation/comments/{comment_id}/decision",
        json={"action": "approve"},
        headers=headers,
    )
    wait_for(lambda: len(webhook_receiver.events_for(comment_id)) == 2, timeout=30)
    events = webhook_receiver.events_for(comment_id)
    data = [json.loads(e["body"])["data"] for e in events]
    outcomes = sorted((d["action"], d["status"]) for d in data)
    assert outcomes == [("approve", "approved"), ("reject", "rejected")], (
        "a later decision sends a new event"
    )

    client.post(
        f"/v1/moderation/comments/{comment_id}/decision",
        json={"action": "hold"},
        headers=headers,
    )
    wait_for(lambda: len(webhook_receiver.events_for(comment_id)) == 3, timeout=30)
    data = [json.loads(e["body"])["data"] for e in webhook_receiver.events_for(comment_id)]
    assert ("hold", "held") in [(d["action"], d["status"]) for d in data], "unapproved"


def test_page_session_csrf_headers_and_site_isolation(app, client, make_site) -> None:
    site_a, site_b = make_site(), make_site()
    [a_id] = store_decided(app, site_a, [{"external_id": "mine", "content": "<b>bold</b> claim"}])
    [b_id] = store_decided(app, site_b, [{"external_id": "theirs"}])
    token = moderator_token(app, site_a, email="page@example.org")

    signed_out = client.get("/moderate")
    assert signed_out.status_code == 200 and 'name="token"' in signed_out.text
    headers = signed_out.headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', signed_out.text).group(1)

    assert client.post("/moderate/sign-in", data={"token": token}).status_code == 403
    bad = client.post("/moderate/sign-in", data={"token": "cgm_nope", "csrf_token": csrf})
    assert bad.status_code == 401
    signed_in = client.post("/moderate/sign-in", data={"token": token, "csrf_token": csrf})
    assert signed_in.status_code == 303
    cookie = signed_in.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and token not in cookie

    queue = client.get("/moderate")
    assert "mine" in queue.text and "theirs" not in queue.text
    assert "&lt;b&gt;bold&lt;/b&gt;" in queue.text and "<b>bold</b>" not in queue.text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', queue.text).group(1)
    assert client.get(f"/moderate/comments/{b_id}").status_code == 404
    foreign = client.post(
        f"/moderate/comments/{b_id}/decision", data={"decision": "approve", "csrf_token": csrf}
    )
    assert foreign.status_code == 404
    forged = client.post(f"/moderate/comments/{a_id}/decision", data={"decision": "approve"})
    assert forged.status_code == 403
    decided = client.post(
        f"/moderate/comments/{a_id}/decision",
        data={"decision": "reject:toxic", "csrf_token": csrf},
        headers={"Accept": "application/json"},
    )
    assert decided.status_code == 200
    assert decided.get_json()["status"] == "rejected"
    assert "mine" in client.get(f"/moderate/comments/{a_id}").text

    with session_scope(app.extensions["commentgate"].sessions) as session:
        assert session.get(Comment, b_id).status == "held"
        labels = session.scalars(
            select(LabeledExample.task).where(LabeledExample.comment_id == a_id)
        )
        assert list(labels) == ["toxicity"]
        revoke_moderator(session, site_a.site, "page@example.org")
    assert 'name="token"' in client.get("/moderate").text, "revoking the token ends the session"


def test_a_decision_on_a_stale_view_gets_409_with_the_current_decision(
    app, client, make_site
) -> None:
    site = make_site()
    [comment_id] = store_decided(app, site, [{"external_id": "s-1"}])
    ana = bearer(moderator_token(app, site, email="ana@example.org"))
    ben = bearer(moderator_token(app, site, email="ben@example.org"))
    url = f"/v1/moderation/comments/{comment_id}/decision"
    first = client.post(url, json={"action": "approve", "expected_status": "held"}, headers=ana)
    assert first.status_code == 200 and first.get_json()["status"] == "approved"

    stale = client.post(url, json={"action": "reject", "expected_status": "held"}, headers=ben)
    assert stale.status_code == 409
    error = stale.get_json()["error"]
    current = error["details"]["current"]
    assert (current["status"], current["action"], current["moderator"]) == (
        "approved",
        "approve",
        "ana@example.org",
    )
    assert "already approved by ana@example.org" in error["message"]
    with session_scope(app.extensions["commentgate"].sessions) as session:
        assert session.get(Comment, comment_id).status == "approved"
        deliveries = session.scalar(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.comment_id == comment_id)
        )
    assert deliveries == 1, "the stale decision sent nothing to the platform"

    override = client.post(url, json={"action": "reject"}, headers=ben)
    assert override.status_code == 200 and override.get_json()["status"] == "rejected"
    bad = client.post(url, json={"action": "approve", "expected_status": "gone"}, headers=ben)
    assert bad.status_code == 422


def test_bulk_with_a_stale_comment_decides_nothing(app, client, make_site) -> None:
    site = make_site()
    ids = store_decided(app, site, [{"external_id": f"b-{i}"} for i in range(3)])
    token = bearer(moderator_token(app, site))
    one = client.post(
        f"/v1/moderation/comments/{ids[1]}/decision", json={"action": "approve"}, headers=token
    )
    assert one.status_code == 200
    body = {"ids": ids, "action": "reject", "expected_status": "held"}
    stale = client.post("/v1/moderation/decisions", json=body, headers=token)
    assert stale.status_code == 409
    [current] = stale.get_json()["error"]["details"]["current"]
    assert (current["comment_id"], current["status"]) == (ids[1], "approved")
    with session_scope(app.extensions["commentgate"].sessions) as session:
        statuses = [session.get(Comment, i).status for i in ids]
    assert statuses == ["held", "approved", "held"]
    fresh = client.post(
        "/v1/moderation/decisions",
        json={"ids": [ids[0], ids[2]], "action": "reject", "expected_status": "held"},
        headers=token,
    )
    assert fresh.status_code == 200 and fresh.get_json()["decided"] == 2
