"""Abuse limits: per-API-key (or moderator token) and per-IP request rates, 429 with Retry-After."""

from __future__ import annotations

import hashlib

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from service.api.auth import bearer_token
from service.config import Settings

EXEMPT_PREFIXES = ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json", "/static")


COMPAT_PREFIXES = ("/1.1/", "/1.2/")


def client_key() -> str:
    """Limit a credential wherever it is used from; anonymous callers by their address."""
    token = (
        bearer_token()
        or request.args.get("key")
        or request.form.get("api_key")
        or request.form.get("key")
        or _host_key()
    )
    if token:
        return "key:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:24]
    return "ip:" + (get_remote_address() or "unknown")


def _host_key() -> str | None:
    """Akismet's legacy form, the key as the host's first label (``KEY.rest.akismet.com``)."""
    if not request.path.startswith(COMPAT_PREFIXES):
        return None
    label, _, rest = request.environ.get("HTTP_HOST", "").partition(".")
    return label if rest and label else None


def _exempt() -> bool:
    return request.path.startswith(EXEMPT_PREFIXES)


def init_app(app: Flask, settings: Settings) -> Limiter | None:
    """Install the limiter unless limits are ``off``; Redis storage is shared by every replica."""
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


def _limit_compat(app: Flask, limiter: Limiter, settings: Settings) -> None:
    """Akismet's endpoints get their own per-key limit instead of the default: a platform's
    re-check of its pending queue is a legitimate burst. The per-IP limit still applies."""
    compat = settings.compat_rate_limits.strip()
    akismet = app.blueprints.get("akismet")
    if akismet is not None and compat.lower() not in {"off", "none", ""}:
        limiter.limit(compat, key_func=client_key)(akismet)
    elif akismet is not None:
        limiter.exempt(akismet)


def _per_ip(limits: str) -> str:
    """One address may carry several sites' traffic (a shared host): allow it ten times more."""
    parts = []
    for part in limits.split(";"):
        amount, _, period = part.strip().partition("/")
        parts.append(f"{int(amount) * 10}/{period}")
    return ";".join(parts)
