"""Abuse limits: per site, per moderator and per IP request rates, 429 with Retry-After.

A request is charged to whoever its credential proves it is: the site whose API key it carries,
or the moderator whose token or page session it carries. A credential that proves nothing (a
made-up or revoked key) buys no budget of its own: the request counts against its address, like
one without any, so inventing keys does not get around the limit. Behind trusted reverse
proxies the address is the client's (``COMMENTGATE_TRUSTED_PROXIES``, applied in
``create_app``).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from sqlalchemy.exc import SQLAlchemyError

from service.api.auth import bearer_token, presented_key, site_for_key
from service.config import Settings
from service.moderators import authenticate_moderator
from service.security import MODERATOR_TOKEN_PREFIX
from service.state import db
from service.web.auth import current_moderator

EXEMPT_PREFIXES = ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json", "/static")
log = logging.getLogger(__name__)


def client_key() -> str:
    """The authenticated site or moderator; anyone else (an invalid key too) by address."""
    try:
        principal = _principal()
    except SQLAlchemyError:  # the view will answer for the database; limit by address meanwhile
        log.warning("rate limit: credential lookup failed; counting by address")
        db().rollback()
        principal = None
    return principal or "ip:" + (get_remote_address() or "unknown")


def _principal() -> str | None:
    """``site:<id>`` or ``moderator:<id>`` for a credential that checks out, else None."""
    token = presented_key()
    bearer = token is not None and token == bearer_token()
    if token and token.startswith(MODERATOR_TOKEN_PREFIX):
        moderator = authenticate_moderator(db(), token)
        if moderator is None:
            return None
        if bearer:  # the view's authentication finds it here instead of looking it up again
            g.moderator = moderator
        return f"moderator:{moderator.id}"
    if token:
        site = site_for_key(token)
        if site is None:
            return None
        if bearer:
            g.site = site
        return f"site:{site.id}"
    if request.cookies.get(current_app.config["SESSION_COOKIE_NAME"]):  # the moderator page
        moderator = current_moderator()
        return f"moderator:{moderator.id}" if moderator is not None else None
    return None


def _exempt() -> bool:
    return request.path.startswith(EXEMPT_PREFIXES)


def init_app(app: Flask, settings: Settings) -> Limiter | None:
    """Install the limiters unless limits are ``off``; Redis storage is shared by every replica."""
    limits = settings.rate_limits.strip()
    if limits.lower() in {"off", "none", ""}:
        return None
    limiter = Limiter(
        client_key,
        app=app,
        default_limits=[limits],
        default_limits_exempt_when=_exempt,
        application_limits=None,
        meta_limits=None,
        storage_uri=settings.rate_limit_storage_url,
        strategy="fixed-window",
        headers_enabled=True,
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        key_prefix="commentgate",
    )
    per_ip = Limiter(
        get_remote_address,
        app=app,
        default_limits=[_per_ip(limits)],
        default_limits_exempt_when=_exempt,
        storage_uri=settings.rate_limit_storage_url,
        strategy="fixed-window",
        headers_enabled=True,
        swallow_errors=True,
        key_prefix="commentgate-ip",
    )
    _limit_compat(app, limiter, settings)
    app.extensions["commentgate_limiters"] = (limiter, per_ip)
    return limiter


COMPAT_BLUEPRINTS = ("akismet", "perspective")


def _limit_compat(app: Flask, limiter: Limiter, settings: Settings) -> None:
    """Akismet's and Perspective's endpoints get their own per-key limit instead of the default:
    a platform's re-check of its pending queue, or a busy site's synchronous checks as comments
    arrive, are legitimate bursts. The per-IP limit still applies."""
    compat = settings.compat_rate_limits.strip()
    for name in COMPAT_BLUEPRINTS:
        blueprint = app.blueprints.get(name)
        if not isinstance(blueprint, Blueprint):
            continue
        if compat.lower() not in {"off", "none", ""}:
            limiter.limit(compat, key_func=client_key)(blueprint)
        else:
            limiter.exempt(blueprint)


def _per_ip(limits: str) -> str:
    """One address may carry several sites' traffic (a shared host): allow it ten times more."""
    parts = []
    for part in limits.split(";"):
        amount, _, period = part.strip().partition("/")
        parts.append(f"{int(amount) * 10}/{period}")
    return ";".join(parts)
