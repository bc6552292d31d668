"""CommentGate's web service: ``create_app`` wires settings, storage, queue and the HTTP API."""

from __future__ import annotations

from flask import Flask

from service.config import Settings


def create_app(config: Settings | None = None) -> Flask:
    """Build the Flask app; nothing is created at import time."""
    from service import state, web
    from service.api import errors, inputs, limits, metrics, register_api

    settings = config or Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        JSON_SORT_KEYS=False,
    )
    _trust_proxies(app, settings.trusted_proxies)
    state.init_app(app, settings)
    metrics.init_app(app)
    inputs.init_app(app)
    register_api(app)
    web.init_app(app)
    limits.init_app(app, settings)
    errors.init_app(app)
    return app


def _trust_proxies(app: Flask, hops: int) -> None:
    """Behind ``hops`` reverse proxies, the client's address and scheme are the ones they
    forward: per-IP limits and logs see clients, not the proxy."""
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
