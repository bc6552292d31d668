"""Cross-site access on every endpoint: site B's credentials never reach site A's data.

Each endpoint that takes a site's key or a moderator's token is called by B with A's ids; the
answer is 404 (never A's data), and A's comment is left exactly as it was.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from service.db import session_scope
from service.models import AuditEntry, Comment, LabeledExample
from tests.conftest import auth
from tests.support.stored import bearer, moderator_token

pytestmark = pytest.mark.integration


@pytest.fixture
def tenants(app, client, make_site):
    """Site A with a comment and an audit entry; site B with an admin moderator."""
    site_a, site_b = make_site(), make_site()
    admin_a = moderator_token(app, site_a, "admin", "a@example.org")
    admin_b = moderator_token(app, site_b, "admin", "b@example.org")
    comment_id = client.post(
        "/v1/comments",
        json={"external_id": "a-1", "content": "Site A's own comment, kept private."},
        headers=auth(site_a),
    ).get_json()["id"]
    with session_scope(app.extensions["commentgate"].sessions) as session:
        session.get(Comment, comment_id).status = "held"
    decided = client.post(
        f"/v1/moderation/comments/{comment_id}/decision",
        json={"action": "reject", "label": "spam"},
        headers=bearer(admin_a),
    )
    assert decided.status_code == 200, decided.get_json()
    return site_a, site_b, admin_b, comment_id


def _snapshot(app, comment_id: str) -> tuple:
    with session_scope(app.extensions["commentgate"].sessions) as session:
        comment = session.get(Comment, comment_id)
        labels = session.scalar(
            select(func.count())
            .select_from(LabeledExample)
            .where(LabeledExample.comment_id == comment_id)
        )
        return (comment.status, comment.action, comment.decided_by, labels)


def test_platform_endpoints_refuse_another_sites_comment(app, client, tenants) -> None:
    site_a, site_b, _, comment_id = tenants
    before = _snapshot(app, comment_id)
    assert client.get(f"/v1/comments/{comment_id}", headers=auth(site_b)).status_code == 404
    # Akismet and Perspective feedback from B cannot label A's comment, by guid or by text.
    for path in ("/1.1/submit-spam", "/1.1/submit-ham"):
        answer = client.post(
            path,
            data={
                "api_key": site_b.api_key,
                "blog": "https://b.example",
                "user_ip": "203.0.113.1",
                "comment_content": "Site A's own comment, kept private.",
            },
            headers={"X-akismet-guid": comment_id},
        )
        assert answer.status_code == 200
    client.post(
        f"/v1alpha1/comments:suggestscore?key={site_b.api_key}",
        json={
            "comment": {"text": "Site A's own comment, kept private."},
            "attributeScores": {"TOXICITY": {"summaryScore": {"value": 1.0}}},
        },
    )
    usage = client.post("/1.2/key-sites", data={"api_key": site_b.api_key, "format": "json"})
    assert comment_id not in usage.get_data(as_text=True)
    assert site_a.site.name not in usage.get_data(as_text=True)
    assert _snapshot(app, comment_id) == before


def test_moderation_endpoints_refuse_another_sites_comment(app, client, tenants) -> None:
    site_a, _, admin_b, comment_id = tenants
    before = _snapshot(app, comment_id)
    headers = bearer(admin_b)
    assert client.get(f"/v1/moderation/comments/{comment_id}", headers=headers).status_code == 404
    decide = client.post(
        f"/v1/moderation/comments/{comment_id}/decision",
        json={"action": "approve"},
        headers=headers,
    )
    assert decide.status_code == 404
    bulk = client.post(
        "/v1/moderation/decisions", json={"ids": [comment_id], "action": "approve"}, headers=headers
    )
    assert bulk.status_code in (404, 422)
    for status in ("pending", "approved", "held", "rejected"):
        queue = client.get(
            "/v1/moderation/queue", query_string={"status": status}, headers=headers
        ).get_json()
        assert comment_id not in {item["id"] for item in queue["items"]}
    audit = client.get("/v1/moderation/audit", headers=headers)
    assert audit.status_code == 200 and comment_id not in audit.get_data(as_text=True)
    for method in ("get", "put", "patch"):
        call = getattr(client, method)
        kwargs = {} if method == "get" else {"json": {"max_links": 50}}
        answer = call(f"/v1/sites/{site_a.site.id}/policy", headers=headers, **kwargs)
        assert answer.status_code == 404, (method, answer.get_json())
    with session_scope(app.extensions["commentgate"].sessions) as session:
        entries = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.comment_id == comment_id)
        )
    assert entries == 1, "only A's own decision is in A's audit log"
    assert _snapshot(app, comment_id) == before


def test_moderator_page_refuses_another_sites_comment(app, client, tenants) -> None:
    _, _, admin_b, comment_id = tenants
    before = _snapshot(app, comment_id)
    page = client.get("/moderate")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert client.post(
        "/moderate/sign-in", data={"token": admin_b, "csrf_token": csrf}
    ).status_code in (
        302,
        303,
    )
    assert client.get(f"/moderate/comments/{comment_id}").status_code == 404
    queue = client.get("/moderate", query_string={"status": "rejected"})
    assert comment_id not in queue.text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', queue.text).group(1)
    answer = client.post(
        f"/moderate/comments/{comment_id}/decision",
        data={"decision": "approve", "csrf_token": csrf},
    )
    assert answer.status_code == 404
    assert _snapshot(app, comment_id) == before
