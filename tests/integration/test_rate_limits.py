"""Rate limits charge the site or moderator a credential proves, and anyone else by address.

A made-up key proves nothing, so it buys no budget of its own: it counts against the address it
came from. Behind ``COMMENTGATE_TRUSTED_PROXIES`` reverse proxies the address is the client's
from ``X-Forwarded-For``; without it that header is the client's to write, so it is ignored.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from service import create_app
from service.security import new_api_key
from service.sites import NewSite
from tests.conftest import Stack, serve, stop_process
from tests.support.stored import moderator_token

pytestmark = pytest.mark.integration

LIMIT = 5
PROXY = "10.0.0.2"


@pytest.fixture
def limited(stack: Stack) -> Iterator[Callable[..., Flask]]:
    """Apps of this stack with a small limit (and other settings), disposed afterwards."""
    apps: list[Flask] = []

    def make(**env: str) -> Flask:
        limit = f"{LIMIT}/minute"
        stack.env.update(COMMENTGATE_RATE_LIMITS=limit, COMMENTGATE_COMPAT_RATE_LIMITS=limit, **env)
        apps.append(create_app(stack.settings))
        return apps[-1]

    yield make
    for app in apps:
        app.extensions["commentgate"].engine.dispose()


KINDS = ("rest", "akismet", "perspective")


def made_up_key_request(client: FlaskClient, kind: str, **options: Any) -> int:
    """One request with a fresh random key: the REST API's bearer token, Akismet's ``api_key``
    field or Perspective's ``key`` parameter."""
    key = new_api_key()
    if kind == "rest":
        headers = {"Authorization": f"Bearer {key}", **options.pop("headers", {})}
        body = {"external_id": "x", "content": "hello"}
        return client.post("/v1/comments", json=body, headers=headers, **options).status_code
    if kind == "akismet":
        form = {"api_key": key, "blog": "https://b.example", "user_ip": "203.0.113.1"}
        return client.post("/1.1/comment-check", data=form, **options).status_code
    body = {"comment": {"text": "hello"}, "requestedAttributes": {"TOXICITY": {}}}
    path = f"/v1alpha1/comments:analyze?key={key}"
    return client.post(path, json=body, **options).status_code


def post_comment(client: FlaskClient, site: NewSite, number: int) -> int:
    body = {"external_id": f"c{number}-{secrets.token_hex(4)}", "content": "hello"}
    headers = {"Authorization": f"Bearer {site.api_key}"}
    return client.post("/v1/comments", json=body, headers=headers).status_code


def test_made_up_keys_count_against_their_address(limited, make_site_for, stack) -> None:
    app = limited()
    client = app.test_client()
    for kind in KINDS:
        codes = [made_up_key_request(client, kind) for _ in range(LIMIT + 2)]
        assert 429 not in codes[:LIMIT], (kind, codes)
        assert codes[LIMIT:] == [429, 429], f"{kind}: a fresh key each time buys no fresh budget"

    site = make_site_for(stack, "http://127.0.0.1:9/h")
    assert post_comment(client, site, 0) == 202, "a real site from the same address has its own"


def test_each_site_and_moderator_has_a_budget_of_its_own(limited, make_site_for, stack) -> None:
    app = limited()
    client = app.test_client()
    noisy, quiet = (make_site_for(stack, "http://127.0.0.1:9/h") for _ in range(2))
    codes = [post_comment(client, noisy, number) for number in range(LIMIT + 1)]
    assert codes == [202] * LIMIT + [429]
    assert post_comment(client, quiet, 0) == 202, "another site does not share it"
    tokens = [moderator_token(app, noisy, email=f"m{n}@example.org") for n in range(2)]

    def queue(token: str) -> int:
        headers = {"Authorization": f"Bearer {token}"}
        return client.get("/v1/moderation/queue", headers=headers).status_code

    assert [queue(tokens[0]) for _ in range(LIMIT + 1)] == [200] * LIMIT + [429]
    assert queue(tokens[1]) == 200, "each moderator has a budget of their own"


def test_behind_a_trusted_proxy_forwarded_clients_have_their_own_budget(limited) -> None:
    client = limited(COMMENTGATE_TRUSTED_PROXIES="1").test_client()

    def from_client(address: str, number: int) -> int:
        options = {"headers": {"X-Forwarded-For": address}, "environ_base": {"REMOTE_ADDR": PROXY}}
        return made_up_key_request(client, "rest", **options)

    codes = [from_client("198.51.100.1", number) for number in range(LIMIT + 1)]
    assert codes[-1] == 429 and 429 not in codes[:LIMIT]
    assert from_client("198.51.100.2", 0) != 429, "another client behind the same proxy"


def test_without_trusted_proxies_forwarded_for_is_ignored(limited) -> None:
    client = limited(COMMENTGATE_TRUSTED_PROXIES="0").test_client()
    codes = [
        made_up_key_request(
            client,
            "rest",
            headers={"X-Forwarded-For": f"198.51.100.{number + 1}"},
            environ_base={"REMOTE_ADDR": PROXY},
        )
        for number in range(LIMIT + 2)
    ]
    assert codes[LIMIT:] == [429, 429], "a header the client writes does not make it new"


def test_the_served_api_limits_forwarded_clients_across_processes(
    pg_stack: Stack, make_site_for
) -> None:
    """gunicorn with two processes and the limits in Redis, reached through one proxy hop."""
    pg_stack.env.update(COMMENTGATE_RATE_LIMITS=f"{LIMIT}/minute", COMMENTGATE_TRUSTED_PROXIES="1")
    process, base = serve(pg_stack)
    try:
        with requests.Session() as http:

            def call(address: str) -> int:
                headers = {"Authorization": f"Bearer {new_api_key()}", "X-Forwarded-For": address}
                body = {"external_id": "x", "content": "hello"}
                return http.post(f"{base}/v1/comments", json=body, headers=headers).status_code

            codes = [call("198.51.100.7") for _ in range(LIMIT + 2)]
            assert codes[:LIMIT] == [401] * LIMIT and codes[LIMIT:] == [429, 429]
            assert call("198.51.100.8") == 401, "another client behind the proxy is not limited"
            site = make_site_for(pg_stack, "http://127.0.0.1:9/h")
            answer = http.post(
                f"{base}/v1/comments",
                json={"external_id": "real", "content": "hello"},
                headers={
                    "Authorization": f"Bearer {site.api_key}",
                    "X-Forwarded-For": "198.51.100.7",
                },
            )
            assert answer.status_code == 202, "a real site from a limited address has its own"
    finally:
        stop_process(process)
