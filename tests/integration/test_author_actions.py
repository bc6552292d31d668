"""Author actions through ``/v1/moderation``, decided by a real worker on PostgreSQL and Redis:
each standing decides the author's next comment, and every action is audited."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from service.db import session_scope
from service.models import AuditEntry, AuthorStanding, Comment, Site, utcnow
from service.sites import set_policy
from tests.conftest import auth, wait_for
from tests.support.stored import bearer, moderator_token, store_decided

pytestmark = pytest.mark.integration
ANN = {"name": "Ann", "email": "ann@example.org", "ip": "203.0.113.9"}


def post_and_decide(client, site, external_id: str, author: dict[str, Any]) -> dict[str, Any]:
    """The author's next comment, as the platform sends it, once the worker decided it."""
    body = {"external_id": external_id, "content": "Thanks, a thoughtful post.", "author": author}
    created = client.post("/v1/comments", json=body, headers=auth(site)).get_json()

    def decided() -> dict[str, Any] | None:
        got = client.get(f"/v1/comments/{created['id']}", headers=auth(site)).get_json()
        return got if got["status"] != "pending" else None

    return wait_for(decided, timeout=20)


def codes(comment: dict[str, Any]) -> list[str]:
    return [r["code"] for r in comment["decision"]["reasons"]]


@pytest.mark.parametrize("stack", ["postgres-redis"], indirect=True)
def test_author_actions_decide_the_authors_next_comment(app, client, make_site, worker) -> None:
    site = make_site()
    with session_scope(app.extensions["commentgate"].sessions) as session:
        # any spam score holds and none rejects: only a standing rejects, only trust approves
        thresholds = {
            "spam": {"approve_below": 0.0, "reject_at": 1.0},
            "toxicity": {"approve_below": 1.0, "reject_at": 1.0},
        }
        set_policy(session, session.get(Site, site.site.id), {"thresholds": thresholds})
    [first] = store_decided(app, site, [{"external_id": "s1", "email": ANN["email"], "spam": 0.6}])
    headers = bearer(moderator_token(app, site))
    url = f"/v1/moderation/comments/{first}/author"

    panel = client.get(url, headers=headers).get_json()
    assert panel["standing"] is None and panel["known_by"] == "email"

    def act(**body: Any) -> dict[str, Any]:
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    assert act(standing="banned", reason="abuse")["standing"]["kind"] == "banned"
    banned = post_and_decide(client, site, "n1", ANN)
    assert (banned["status"], codes(banned)[-1]) == ("rejected", "author_banned")

    act(standing="premoderated")
    held = post_and_decide(client, site, "n2", ANN)
    assert held["status"] == "held" and "author_premoderated" in codes(held)

    act(standing="trusted")
    trusted = post_and_decide(client, site, "n3", ANN)
    assert trusted["status"] == "approved" and trusted["decision"]["decided_by"] == "rule"
    assert "spam_score" in codes(trusted) and "author_trusted" in codes(trusted)

    until = (utcnow() + timedelta(hours=24)).isoformat()
    assert act(standing="suspended", until=until)["standing"]["until"]
    suspended = post_and_decide(client, site, "n4", ANN)
    assert (suspended["status"], codes(suspended)[-1]) == ("rejected", "author_suspended")

    panel = act(standing="none")
    assert panel["standing"] is None
    assert {c["external_id"] for c in panel["history"]["comments"]} == {"n1", "n2", "n3", "n4"}
    cleared = post_and_decide(client, site, "n5", ANN)
    assert cleared["status"] == "held" and not {"author_banned", "author_trusted"} & set(
        codes(cleared)
    )

    other = post_and_decide(client, site, "o1", {"name": "Bo", "email": "bo@example.org"})
    assert other["status"] == "held" and "author_trusted" not in codes(other)

    # "reject all held by this author": s1, n2 and n5, and only this author's
    response = client.post(f"{url}/reject-held", json={"reason": "troll"}, headers=headers)
    assert response.status_code == 200
    rejected = response.get_json()
    assert rejected["decided"] == 3
    assert {i["external_id"] for i in rejected["items"]} == {"s1", "n2", "n5"}
    assert all(i["status"] == "rejected" for i in rejected["items"])
    still = client.get(f"/v1/comments/{other['id']}", headers=auth(site)).get_json()
    assert still["status"] == "held"

    with session_scope(app.extensions["commentgate"].sessions) as session:
        actions = session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.site_id == site.site.id)
            .order_by(AuditEntry.id)
        ).all()
    assert actions.count("author.standing") == 5
    assert actions.count("author.reject_held") == 1
    assert actions.count("comment.decide") == 3


@pytest.mark.parametrize("stack", ["embedded"], indirect=True)
def test_author_actions_answer_bad_input_with_json_errors(app, client, make_site) -> None:
    site = make_site()
    ids = store_decided(app, site, [{"external_id": "a"}, {"external_id": "b", "ip": "10.1.1.1"}])
    headers = bearer(moderator_token(app, site))
    url = f"/v1/moderation/comments/{ids[1]}/author"
    cases = [
        ({"standing": "sainted"}, 422),
        ({"standing": "suspended"}, 422),
        ({"standing": "suspended", "until": "yesterday"}, 422),
        ({"standing": "suspended", "until": (utcnow() - timedelta(hours=1)).isoformat()}, 422),
        ({"standing": "banned", "until": (utcnow() + timedelta(hours=1)).isoformat()}, 422),
        ({"standing": "banned", "extra": 1}, 422),
        ([], 422),
    ]
    for body, status in cases:
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == status, (body, response.get_json())
        assert response.get_json()["error"]["code"]
    unknown = client.post(
        f"/v1/moderation/comments/{ids[0]}/author", json={"standing": "banned"}, headers=headers
    )
    assert unknown.status_code == 422  # no e-mail, no IP: nobody to act on
    missing = client.get("/v1/moderation/comments/nope/author", headers=headers)
    assert missing.status_code == 404
    assert client.get(url).status_code == 401
    spec = client.get("/openapi.json").get_json()
    assert "/v1/moderation/comments/{comment_id}/author" in spec["paths"]
    assert "/v1/moderation/comments/{comment_id}/author/reject-held" in spec["paths"]
    assert "StandingIn" in spec["components"]["schemas"]


@pytest.mark.parametrize("stack", ["embedded"], indirect=True)
def test_page_author_actions_need_csrf_and_stay_on_the_moderators_site(
    app, client, make_site
) -> None:
    site, other = make_site(), make_site()
    ann = {"email": "ann@example.org"}
    mine = store_decided(app, site, [{"external_id": "m1", **ann}, {"external_id": "m2", **ann}])
    [theirs] = store_decided(app, other, [{"external_id": "t1", **ann}])
    token = moderator_token(app, site, email="page@example.org")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/moderate").text).group(1)
    client.post("/moderate/sign-in", data={"token": token, "csrf_token": csrf})
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/moderate").text).group(1)
    url = f"/moderate/comments/{mine[0]}/author"

    assert 'aria-label="Ban Anonymous"' in client.get(url).text
    assert client.post(url, data={"standing": "banned"}).status_code == 403
    assert (
        client.post(
            f"/moderate/comments/{theirs}/author", data={"standing": "banned", "csrf_token": csrf}
        ).status_code
        == 404
    )
    odd = client.post(
        url,
        data={"standing": "sainted", "csrf_token": csrf},
        headers={"Accept": "application/json"},
    )
    assert odd.status_code == 422 and odd.get_json()["error"]["code"]
    done = client.post(url, data={"standing": "suspended", "csrf_token": csrf, "next": "/moderate"})
    assert done.status_code == 303
    panel = client.get(url).text
    assert 'data-standing="suspended"' in panel and "1 held" in panel
    rejected = client.post(
        f"{url}/reject-held", data={"csrf_token": csrf}, headers={"Accept": "application/json"}
    )
    assert rejected.get_json()["decided"] == 2
    with session_scope(app.extensions["commentgate"].sessions) as session:
        statuses = {c.id: c.status for c in session.scalars(select(Comment))}
        until = session.scalars(select(AuthorStanding.until)).one()
    assert [statuses[i] for i in mine] == ["rejected", "rejected"] and statuses[theirs] == "held"
    assert timedelta(hours=23) < until - utcnow() <= timedelta(hours=24)
