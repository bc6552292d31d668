"""Bearer-token authentication for moderators, with role checks."""

from __future__ import annotations

from flask import g

from service.api.auth import bearer_token
from service.errors import ForbiddenError, UnauthorizedError
from service.models import Moderator
from service.moderators import authenticate_moderator
from service.state import db


def require_moderator(role: str | None = None) -> Moderator:
    """The moderator whose token the request carries; 401 without one, 403 for a missing role."""
    moderator = g.get("moderator")
    if moderator is None:
        token = bearer_token()
        if token is None:
            raise UnauthorizedError(
                "Missing moderator token: send 'Authorization: Bearer <moderator token>'."
            )
        moderator = authenticate_moderator(db(), token)
        if moderator is None:
            raise UnauthorizedError("Invalid or revoked moderator token.")
        g.moderator = moderator
    if role == "admin" and moderator.role != "admin":
        raise ForbiddenError("This needs an admin moderator of the site.")
    return moderator
