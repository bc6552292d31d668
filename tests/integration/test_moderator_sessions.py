"""Signing out of ``/moderate`` ends the session for good, on the real server (gunicorn).

A session cookie copied before signing out (from a shared machine, a proxy log, a stolen
backup) must not sign anyone in afterwards; the cookie carries the page's own name.
"""

from __future__ import annotations

import re
import uuid

import pytest
import requests

from service.db import session_scope
from service.models import Comment, Site
from service.moderators import create_moderator
from service.web import SESSION_COOKIE_NAME

pytestmark = pytest.mark.integration

FORM_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SIGN_IN_FORM = 'name="token"'


def held_comment_and_token(app, site) -> tuple[str, str]:
    """A held comment of the site and a moderator token for it."""
    with session_scope(app.extensions["commentgate"].sessions) as session:
        token = create_moderator(
            session, session.get(Site, site.site.id), "ana@example.org", "moderator"
        ).token
        comment = Comment(site_id=site.site.id, external_id=uuid.uuid4().hex, content="Held here.")
        comment.status = "held"
        session.add(comment)
        session.flush()
        return comment.id, token


def sign_in(base: str, token: str) -> tuple[requests.Session, requests.Response]:
    browser = requests.Session()
    csrf = FORM_CSRF.search(browser.get(f"{base}/moderate").text).group(1)
    answer = browser.post(
        f"{base}/moderate/sign-in",
        data={"token": token, "csrf_token": csrf},
        allow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return browser, answer


def copy_of(browser: requests.Session) -> dict[str, str]:
    """The browser's cookies as a raw header, as someone who copied them would send them."""
    return {"Cookie": "; ".join(f"{c.name}={c.value}" for c in browser.cookies)}


def test_a_cookie_copied_before_sign_out_is_refused_after_it(
    app, live_server: str, make_site
) -> None:
    comment_id, token = held_comment_and_token(app, make_site())
    browser, _ = sign_in(live_server, token)
    other_browser, _ = sign_in(live_server, token)
    copied = copy_of(browser)
    queue = requests.get(f"{live_server}/moderate", headers=copied)
    assert SIGN_IN_FORM not in queue.text and "ana@example.org" in queue.text, "the copy works"
    csrf = FORM_CSRF.search(queue.text).group(1)

    signed_out = browser.post(
        f"{live_server}/moderate/sign-out", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert signed_out.status_code == 303

    replayed = requests.get(f"{live_server}/moderate", headers=copied)
    assert SIGN_IN_FORM in replayed.text and "ana@example.org" not in replayed.text
    decided = requests.post(
        f"{live_server}/moderate/comments/{comment_id}/decision",
        data={"decision": "approve", "csrf_token": csrf},
        headers={**copied, "Accept": "application/json"},
    )
    assert decided.status_code == 401, decided.text
    with session_scope(app.extensions["commentgate"].sessions) as session:
        assert session.get(Comment, comment_id).status == "held"
    mine = other_browser.get(f"{live_server}/moderate")
    assert SIGN_IN_FORM in mine.text, "signing out ends the moderator's other sessions too"

    again, _ = sign_in(live_server, token)
    assert SIGN_IN_FORM not in again.get(f"{live_server}/moderate").text, "signing in again works"
    assert SIGN_IN_FORM in requests.get(f"{live_server}/moderate", headers=copied).text


def test_the_session_cookie_has_the_pages_own_name(app, live_server: str, make_site) -> None:
    _, token = held_comment_and_token(app, make_site())
    browser, answer = sign_in(live_server, token)
    assert SESSION_COOKIE_NAME == "commentgate_session"
    assert answer.headers["Set-Cookie"].startswith(f"{SESSION_COOKIE_NAME}=")
    assert "HttpOnly" in answer.headers["Set-Cookie"]
    assert {cookie.name for cookie in browser.cookies} == {SESSION_COOKIE_NAME}
