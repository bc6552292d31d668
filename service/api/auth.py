"""Bearer-token authentication for platforms (site API keys)."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

from flask import g, request

from service.errors import UnauthorizedError
from service.models import Site
from service.security import API_KEY_PREFIX, hash_token, is_akismet_key
from service.sites import authenticate_site
from service.state import db, state


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def presented_key(values: Mapping[str, str] | None = None) -> str | None:
    """A credential wherever a client may send one: Akismet's ``api_key`` or ``key`` field (and
    Perspective's ``key`` parameter), a bearer token, or Akismet's legacy ``KEY.rest.akismet.com``
    host."""
    values = request.values if values is None else values
    key = values.get("api_key") or values.get("key") or bearer_token()
    if key and key.strip():
        return key.strip()
    # The raw header: werkzeug's ``request.host`` drops hosts with "_", which our keys contain.
    label, _, rest = request.environ.get("HTTP_HOST", "").partition(".")
    known = label.startswith(API_KEY_PREFIX) or is_akismet_key(label)
    return label if rest and known else None


class _RecentKeys:
    """Sites of recently seen API keys, so the ingest path needs no lookup per request.

    A revoked or rotated-out key stops working within ``ttl`` seconds.
    """

    def __init__(self, ttl: float = 10.0, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._items: dict[str, tuple[float, Site]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> Site | None:
        item = self._items.get(digest)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def put(self, digest: str, site: Site) -> None:
        with self._lock:
            if len(self._items) >= self.size:
                self._items.clear()
            self._items[digest] = (time.monotonic() + self.ttl, site)


_recent_keys = _RecentKeys()


def site_for_key(token: str) -> Site | None:
    """The site an API key belongs to (recently seen keys need no lookup), else None."""
    digest = hash_token(token)
    site = _recent_keys.get(digest)
    if site is None:
        site = authenticate_site(db(), token, secret_key=state().settings.secret_key)
        if site is None:
            return None
        db().expunge(site)
        _recent_keys.put(digest, site)
    return site


def require_site() -> Site:
    """The site the request's API key belongs to, or a 401."""
    if "site" in g:
        return g.site
    token = bearer_token()
    if token is None:
        raise UnauthorizedError("Missing API key: send 'Authorization: Bearer <site API key>'.")
    site = site_for_key(token)
    if site is None:
        raise UnauthorizedError("Invalid API key.")
    g.site = site
    return site
