"""Signing in to the page with a moderator token, and CSRF tokens for every form and fetch.

The session cookie (signed, HttpOnly, SameSite=Lax) holds the moderator's id, a fingerprint of
the token's hash (never the token) and the moderator's session generation when they signed in:
revoking the token ends the session at its next request, and signing out moves the generation
on, so a copy of the cookie taken before signing out no longer works either.
"""

from __future__ import annotations

import hmac
import secrets

from flask import g, request, session

from service.errors import ForbiddenError
from service.models import Moderator
from service.moderators import authenticate_moderator, end_page_sessions
from service.state import db

FINGERPRINT_CHARS = 24


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Every POST carries the session's token in the form or the ``X-CSRF-Token`` header."""
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf") or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise ForbiddenError("The form has expired or did not come from this page; reload it.")


def sign_in(token: str) -> Moderator | None:
    moderator = authenticate_moderator(db(), token.strip())
    if moderator is None:
        return None
    session.clear()
    session.permanent = True
    session["moderator"] = moderator.id
    session["fingerprint"] = moderator.token_hash[:FINGERPRINT_CHARS]
    session["generation"] = moderator.session_generation
    session["csrf"] = secrets.token_urlsafe(32)
    return moderator


def sign_out() -> None:
    """End the moderator's page sessions for good, not just this browser's cookie."""
    moderator = current_moderator()
    if moderator is not None:
        end_page_sessions(db(), moderator.id)
        db().commit()
    session.clear()


def current_moderator() -> Moderator | None:
    """The signed-in moderator, if their token is still the one they signed in with and they
    have not signed out since."""
    if "web_moderator" in g:
        return g.web_moderator
    moderator = None
    moderator_id, fingerprint = session.get("moderator"), session.get("fingerprint")
    if moderator_id and fingerprint:
        found = db().get(Moderator, moderator_id)
        if (
            found is not None
            and found.revoked_at is None
            and session.get("generation") == found.session_generation
            and hmac.compare_digest(found.token_hash[:FINGERPRINT_CHARS], str(fingerprint))
        ):
            moderator = found
    g.web_moderator = moderator
    return moderator
