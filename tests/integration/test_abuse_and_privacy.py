"""Abuse limits and privacy: rate limits, body and nesting limits, hashed PII, clean logs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy import select

from service import create_app
from service.db import session_scope
from service.models import Comment
from tests.conftest import REPO, auth, wait_for

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("stack", ["embedded"], indirect=True)
def test_rate_limit_answers_429_with_retry_after_per_key(stack, make_site_for) -> None:
    stack.env["COMMENTGATE_RATE_LIMITS"] = "5/minute"
    app = create_app(stack.settings)
    client = app.test_client()
    noisy, quiet = (
        make_site_for(stack, "http://127.0.0.1:9/h"),
        make_site_for(stack, "http://127.0.0.1:9/h"),
    )
    codes = [
        client.post(
            "/v1/comments", json={"external_id": f"r{i}", "content": "hi"}, headers=auth(noisy)
        ).status_code
        for i in range(7)
    ]
    assert codes[:5] == [202] * 5 and codes[5:] == [429, 429]
    limited = client.post(
        "/v1/comments", json={"external_id": "r9", "content": "hi"}, headers=auth(noisy)
    )
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0
    other = client.post(
        "/v1/comments", json={"external_id": "q", "content": "hi"}, headers=auth(quiet)
    )
    assert other.status_code == 202, "another key has its own budget"
    assert client.get("/healthz").status_code == 200
    app.extensions["commentgate"].engine.dispose()


def test_deeply_nested_metadata_is_refused(client, make_site) -> None:
    nested: dict = {"a": 1}
    for _ in range(6):
        nested = {"n": nested}
    response = client.post(
        "/v1/comments",
        json={"external_id": "deep", "content": "hi", "metadata": nested},
        headers=auth(make_site()),
    )
    assert response.status_code == 422
    assert "metadata" in response.get_json()["error"]["details"]
    wide = {f"k{i}": i for i in range(150)}
    response = client.post(
        "/v1/comments",
        json={"external_id": "wide", "content": "hi", "metadata": wide},
        headers=auth(make_site()),
    )
    assert response.status_code == 422


@pytest.mark.parametrize("stack", ["embedded"], indirect=True)
def test_pii_can_be_stored_as_hashes(stack, make_site_for) -> None:
    stack.env["COMMENTGATE_STORE_PII_HASHED"] = "true"
    app = create_app(stack.settings)
    site = make_site_for(stack, "http://127.0.0.1:9/h")
    response = app.test_client().post(
        "/v1/comments",
        json={
            "external_id": "pii",
            "content": "hello",
            "author": {"email": "Jane@Example.org", "ip": "198.51.100.23"},
        },
        headers=auth(site),
    )
    assert response.status_code == 202
    with session_scope(app.extensions["commentgate"].sessions) as session:
        comment = session.scalar(select(Comment).where(Comment.external_id == "pii"))
        assert "jane" not in (comment.author_email or "").lower()
        assert comment.author_ip != "198.51.100.23" and len(comment.author_ip) == 64
        assert comment.author_email_hash == comment.author_email
    app.extensions["commentgate"].engine.dispose()


def test_purge_removes_personal_data_of_old_comments(stack, client, make_site) -> None:
    site = make_site()
    client.post(
        "/v1/comments",
        json={
            "external_id": "old",
            "content": "hello",
            "author": {"email": "old@example.org", "ip": "198.51.100.7", "user_agent": "UA"},
        },
        headers=auth(site),
    )
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "purge", "--older-than", "0d", "--json"],
        cwd=REPO,
        env=stack.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout)["purged_comments"] >= 1
    app = create_app(stack.settings)
    with session_scope(app.extensions["commentgate"].sessions) as session:
        comment = session.scalar(select(Comment).where(Comment.external_id == "old"))
        assert (comment.author_email, comment.author_ip, comment.author_user_agent) == (
            None,
            None,
            None,
        )
        assert comment.author_email_hash and comment.content == "hello"
    app.extensions["commentgate"].engine.dispose()


def test_logs_hold_no_secrets_or_raw_personal_data(
    stack, client, make_site, worker, start_receiver
) -> None:
    receiver = start_receiver("--fail-first", "1")
    site = make_site(receiver.url)
    email, ip = "secret.person@example.org", "198.51.100.77"
    comment_id = client.post(
        "/v1/comments",
        json={"external_id": "log-1", "content": "hello", "author": {"email": email, "ip": ip}},
        headers=auth(site),
    ).get_json()["id"]
    wait_for(lambda: receiver.events_for(comment_id), timeout=20)
    logs = "".join(path.read_text(errors="replace") for path in stack.home.glob("*.log"))
    assert "webhook" in logs or "Task" in logs, "the worker log was captured"
    for secret in (site.api_key, site.site.webhook_secret, email, ip):
        assert secret not in logs
