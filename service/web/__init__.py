"""The moderator page at ``/moderate``: server-rendered, a little JavaScript, all assets local."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask


def init_app(app: Flask) -> None:
    """Session cookies the page can rely on, then the page's blueprint."""
    from service.web.views import blp

    app.config.setdefault("SESSION_COOKIE_NAME", "commentgate_session")
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
    )
    app.register_blueprint(blp)
