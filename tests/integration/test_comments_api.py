"""``/v1/comments`` on both back ends: idempotency, validation, authentication, isolation."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from service.api import docs_security_headers
from tests.conftest import BEFORE_STORAGE, auth

pytestmark = pytest.mark.integration


def test_resubmission_answers_200_with_the_same_comment(client, make_site) -> None:
    site = make_site()
    first = client.post(
        "/v1/comments", json={"external_id": "a", "content": "hi"}, headers=auth(site)
    )
    again = client.post(
        "/v1/comments", json={"external_id": "a", "content": "hi"}, headers=auth(site)
    )
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.get_json()["id"] == first.get_json()["id"]


def test_twenty_concurrent_duplicates_make_one_comment(live_server, make_site, app) -> None:
    site = make_site()
    body = {"external_id": "dup-1", "content": "Posted twenty times at once by a retrying plugin."}

    def post(_: int) -> tuple[int, str]:
        response = requests.post(
            f"{live_server}/v1/comments", json=body, headers=auth(site), timeout=30
        )
        return response.status_code, response.json()["id"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(post, range(20)))
    statuses = sorted(code for code, _ in results)
    assert statuses.count(202) == 1 and statuses.count(200) == 19, statuses
    assert len({comment_id for _, comment_id in results}) == 1
    from sqlalchemy import func, select

    from service.models import Comment

    with app.extensions["commentgate"].sessions() as session:
        count = session.scalar(
            select(func.count()).select_from(Comment).where(Comment.external_id == "dup-1")
        )
    assert count == 1


@BEFORE_STORAGE
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"content": "no id"}, "external_id"),
        ({"external_id": "x"}, "content"),
        ({"external_id": "x", "content": ""}, "content"),
        ({"external_id": "x", "content": 12}, "content"),
        ({"external_id": "x", "content": "y" * 20_001}, "content"),
        ({"external_id": "x", "content": "hi", "author": {"email": "not-an-email"}}, "author"),
        ({"external_id": "x", "content": "hi", "author": {"ip": "999.1.1.1"}}, "author"),
        ({"external_id": "x", "content": "hi", "created_at": "yesterday"}, "created_at"),
        ({"external_id": "x", "content": "hi", "post": {"url": "https://x.example/p"}}, "post"),
        ({"external_id": "x", "content": "hi", "surprise": True}, "surprise"),
    ],
)
def test_invalid_bodies_get_field_level_422(client, make_site, body, field) -> None:
    response = client.post("/v1/comments", json=body, headers=auth(make_site()))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["details"]


def test_malformed_json_is_400_and_huge_body_is_413(client, make_site) -> None:
    headers = {**auth(make_site()), "Content-Type": "application/json"}
    bad = client.post("/v1/comments", data="{not json", headers=headers)
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_request"
    huge = client.post("/v1/comments", data="x" * 200_000, headers=headers)
    assert huge.status_code == 413 and huge.get_json()["error"]["code"] == "payload_too_large"
    array = client.post("/v1/comments", json=[1, 2], headers=headers)
    assert array.status_code == 422


@BEFORE_STORAGE
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer "},
    ],
)
def test_missing_or_wrong_key_is_401(client, headers) -> None:
    response = client.post(
        "/v1/comments", json={"external_id": "x", "content": "hi"}, headers=headers
    )
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert client.get("/v1/comments/abc", headers=headers).status_code == 401


def test_sites_cannot_see_each_others_comments(client, make_site) -> None:
    alice, bob = make_site(), make_site()
    created = client.post(
        "/v1/comments", json={"external_id": "same", "content": "alice's"}, headers=auth(alice)
    ).get_json()
    assert client.get(f"/v1/comments/{created['id']}", headers=auth(bob)).status_code == 404
    assert client.get(f"/v1/comments/{created['id']}", headers=auth(alice)).status_code == 200
    # the same external id is a different comment for another site
    other = client.post(
        "/v1/comments", json={"external_id": "same", "content": "bob's"}, headers=auth(bob)
    )
    assert other.status_code == 202 and other.get_json()["id"] != created["id"]


def test_health_readiness_openapi_docs_and_metrics(client) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz").get_json()
    assert ready["status"] == "ready" and ready["checks"] == {"database": "ok", "broker": "ok"}
    spec = client.get("/openapi.json").get_json()
    assert "/v1/comments" in spec["paths"] and "/v1/comments/{comment_id}" in spec["paths"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and b"/docs/assets/swagger-ui-bundle.js" in docs.data
    with client.get("/docs/assets/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200 and b"SwaggerUIBundle" in asset.data
    # The same protections as the moderator page: no framing, no sniffing, nothing off-site.
    for name in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"):
        assert docs.headers[name] == docs_security_headers()[name]
    assert "frame-ancestors 'none'" in docs.headers["Content-Security-Policy"]
    assert b"commentgate_comments" in client.get("/metrics").data
