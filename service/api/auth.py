"""Bearer-token authentication for platforms (site API keys)."""

from __future__ import annotations

from flask import g, request

from service.errors import UnauthorizedError
from service.models import Site
from service.sites import authenticate_site
from service.state import db


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_site() -> Site:
    """The site the request's API key belongs to, or a 401."""
    if "site" in g:
        return g.site
    token = bearer_token()
    if token is None:
        raise UnauthorizedError("Missing API key: send 'Authorization: Bearer <site API key>'.")
    site = authenticate_site(db(), token)
    if site is None:
        raise UnauthorizedError("Invalid API key.")
    g.site = site
    return site
