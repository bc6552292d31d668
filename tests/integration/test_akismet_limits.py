"""Rate limits on the Akismet endpoints: a platform's "Check for Spam" over its pending queue
fits the default limits; a key over its own limit hears it the way the plugin reads. Both back
ends (the limiter counts in memory, or in Redis beside the broker)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import Flask

from service import create_app
from service.config import DEFAULT_RATE_LIMITS
from service.db import session_scope
from service.sites import NewSite, create_site
from tests.conftest import Stack

pytestmark = pytest.mark.integration

BLOG = "https://blog.example"


def limited_app(stack: Stack, **env: str) -> Iterator[Flask]:
    stack.env["COMMENTGATE_RATE_LIMITS"] = DEFAULT_RATE_LIMITS
    stack.env.update({f"COMMENTGATE_{k.upper()}": v for k, v in env.items()})
    app = create_app(stack.settings)
    yield app
    app.extensions["commentgate"].engine.dispose()


@pytest.fixture
def default_limits(stack: Stack) -> Iterator[Flask]:
    yield from limited_app(stack)


@pytest.fixture
def tight_limits(stack: Stack) -> Iterator[Flask]:
    yield from limited_app(stack, compat_rate_limits="3/minute")


def new_site(app: Flask) -> NewSite:
    settings = app.extensions["commentgate"].settings
    with session_scope(app.extensions["commentgate"].sessions) as session:
        return create_site(
            session,
            "blog",
            "http://127.0.0.1:9/h",
            allow_private=True,
            secret_key=settings.secret_key,
        )


def recheck(app: Flask, site: NewSite, n: int) -> list[int]:
    """WordPress's re-check: one comment-check per pending comment, back to back, the key in
    the host name as older plugins send it."""
    client = app.test_client()
    host = {"Host": f"{site.akismet_key}.rest.akismet.com"}
    codes = []
    for i in range(n):
        form = {
            "blog": BLOG,
            "user_ip": f"198.51.100.{i % 250}",
            "comment_post_ID": "7",
            "comment_author": f"reader {i}",
            "comment_content": f"Pending comment number {i}: thanks for the post.",
            "comment_date_gmt": "2026-11-30 10:00:00",
            "recheck_reason": "recheck_queue",
        }
        codes.append(client.post("/1.1/comment-check", data=form, headers=host).status_code)
    return codes


def test_a_recheck_of_60_pending_comments_meets_no_429_at_the_default_limits(
    default_limits: Flask,
) -> None:
    site = new_site(default_limits)
    started = time.monotonic()
    codes = recheck(default_limits, site, 60)
    assert codes == [200] * 60
    # Fast enough that the general per-key limit (20/second) would have refused some.
    assert time.monotonic() - started < 60 / 20


def test_a_key_over_its_akismet_limit_hears_429_with_the_plugin_s_headers(
    tight_limits: Flask,
) -> None:
    site = new_site(tight_limits)
    assert recheck(tight_limits, site, 3) == [200] * 3
    refused = tight_limits.test_client().post(
        "/1.1/comment-check",
        data={"api_key": site.akismet_key, "blog": BLOG, "user_ip": "198.51.100.9"},
    )
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.headers["X-akismet-error"]
    assert refused.headers["X-akismet-alert-code"] == "10429"
    assert refused.headers["X-akismet-alert-msg"]
    other = tight_limits.test_client().post(
        "/1.1/verify-key", data={"key": site.api_key, "blog": BLOG}
    )
    assert other.text == "valid", "another key of the site has its own budget"
