"""A comment that cannot be decided stalls no other comment, of its site or another; both back ends.

The API now refuses metadata the policy cannot read, so the poisoned comment is stored directly,
as a comment received before that check existed would be: ``metadata.honeypot_field_name`` a
list, on which the policy step raises ``TypeError``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from service.comments import comment_row, insert_comment
from service.db import session_scope
from service.models import Comment, Site, WebhookDelivery
from service.sites import NewSite
from tests.conftest import auth, wait_for

pytestmark = pytest.mark.integration

POISON = {"honeypot_field_name": ["website", "email"]}


def store_unchecked(app, site: NewSite, metadata: dict[str, Any]) -> str:
    """Store a comment without the API's checks; returns its id."""
    data = {"external_id": uuid.uuid4().hex, "content": "Old comment.", "metadata": metadata}
    with session_scope(app.extensions["commentgate"].sessions) as session:
        key = app.extensions["commentgate"].settings.identifier_key
        row = comment_row(session.get(Site, site.site.id), data, identifier_key=key)
        comment_id, _ = insert_comment(session, row)
    return comment_id


def comment(app, comment_id: str) -> Comment:
    with session_scope(app.extensions["commentgate"].sessions) as session:
        return session.get(Comment, comment_id)


def test_the_api_refuses_metadata_the_policy_cannot_read(client, app, make_site) -> None:
    body = {"external_id": "p-1", "content": "Hello.", "metadata": POISON}
    response = client.post("/v1/comments", json=body, headers=auth(make_site()))
    assert response.status_code == 422
    assert "honeypot_field_name" in response.get_json()["error"]["details"]["metadata"]


def test_a_poisoned_comment_is_held_and_another_sites_batch_is_decided(
    stack, client, app, make_site, start_receiver
) -> None:
    hook_a, hook_b = start_receiver(), start_receiver()
    site_a, site_b = make_site(hook_a.url), make_site(hook_b.url)
    poison = store_unchecked(app, site_a, POISON)
    app.extensions["commentgate"].enqueue_scoring([poison])
    good = [
        client.post(
            "/v1/comments",
            json={"external_id": f"b-{i}", "content": f"Thanks for part {i}, well argued."},
            headers=auth(site_b),
        ).get_json()["id"]
        for i in range(6)
    ]
    stack.start_worker()  # everything is queued: its first batch takes them together

    def delivered_to_b() -> set[str]:
        return {json.loads(r["body"])["data"]["comment_id"] for r in hook_b.delivered()}

    wait_for(lambda: delivered_to_b() >= set(good), timeout=30)
    assert all(comment(app, i).status != "pending" for i in good)
    log = (stack.home / "worker-0.log").read_text()
    assert "failed; deciding them one at a time" in log, "the poison was batched with others"

    held = wait_for(lambda: comment(app, poison).status == "held" and comment(app, poison), 60)
    assert [r["code"] for r in held.reasons] == ["processing_error"]
    assert held.reasons[0]["message"] and held.reasons[0]["attempts"] == 3
    assert (held.action, held.decided_by, held.decide_failures) == ("hold", "rule", 3)
    [event] = wait_for(lambda: hook_a.events_for(poison), timeout=30)
    data = json.loads(event["body"])["data"]
    assert (data["action"], [r["code"] for r in data["reasons"]]) == ("hold", ["processing_error"])


def test_each_failed_attempt_counts_and_the_third_holds(app, make_site) -> None:
    from service.decisions.pipeline import MAX_DECIDE_ATTEMPTS, decide_pending

    site = make_site()
    sessions = app.extensions["commentgate"].sessions
    model = app.extensions["commentgate"].model()
    poison = store_unchecked(app, site, POISON)
    good = [store_unchecked(app, site, {"n": i}) for i in range(2)]
    for attempt in range(1, MAX_DECIDE_ATTEMPTS):
        decide_pending(sessions, [good[0], poison, good[1]], model)
        assert all(comment(app, i).status != "pending" for i in good)
        assert (comment(app, poison).status, comment(app, poison).decide_failures) == (
            "pending",
            attempt,
        )
    deliveries = decide_pending(sessions, [poison], model)
    held = comment(app, poison)
    assert held.status == "held" and [r["code"] for r in held.reasons] == ["processing_error"]
    assert set(held.scores) >= {"spam", "toxicity"} and held.model_version == model.version
    with session_scope(sessions) as session:
        [delivery] = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.comment_id == poison)
        ).all()
    assert deliveries == [(delivery.id, delivery.site_id)]
    assert decide_pending(sessions, [poison], model) == []  # decided: nothing more happens
