"""``POST /v1/comments/{id}/decision``: a platform's moderator decides with the site API key.

Recorded as a moderator's decision: status, label, audit entry and a `comment.decided` webhook;
another site's key cannot touch the comment. Runs on both back ends.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service.db import session_scope
from service.models import AuditEntry, LabeledExample, WebhookDelivery
from tests.conftest import auth
from tests.support.stored import store_decided

pytestmark = pytest.mark.integration


def test_platform_decision_is_a_moderators_decision(app, client, make_site) -> None:
    site, other = make_site(), make_site()
    [comment_id] = store_decided(app, site, [{"external_id": "17", "spam": 0.7, "toxicity": 0.1}])
    url = f"/v1/comments/{comment_id}/decision"

    assert client.post(url, json={"action": "approve"}).status_code == 401
    assert client.post(url, json={"action": "approve"}, headers=auth(other)).status_code == 404
    assert client.post(url, json={"action": "defer"}, headers=auth(site)).status_code == 422
    answer = client.post(
        url,
        json={"action": "reject", "label": "spam", "moderator": "admin"},
        headers=auth(site),
    )
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["status"] == "rejected"
    assert body["decision"]["decided_by"] == "moderator"
    own = body["decision"]["reasons"][0]
    assert own["code"] == "moderator" and own["platform_moderator"] == "admin"

    stale = client.post(
        url, json={"action": "approve", "expected_status": "held"}, headers=auth(site)
    )
    assert stale.status_code == 409

    sessions = app.extensions["commentgate"].sessions
    with session_scope(sessions) as session:
        labels = session.scalars(
            select(LabeledExample).where(LabeledExample.comment_id == comment_id)
        )
        assert {(r.task, r.label, r.source) for r in labels} == {("spam", 1, "moderator")}
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.comment_id == comment_id))
        assert entry.moderator_id is None
        assert entry.details["platform_moderator"] == "admin"
        assert entry.details["previous_status"] == "held"
        [delivery] = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.comment_id == comment_id)
        )
        assert delivery.payload["data"]["action"] == "reject"
        assert delivery.payload["data"]["decided_by"] == "moderator"

    spec = client.get("/openapi.json").get_json()
    assert "post" in spec["paths"]["/v1/comments/{comment_id}/decision"]
