"""The moderator page at ``/moderate``: server-rendered, a little JavaScript, all assets local."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

SESSION_COOKIE_NAME = "commentgate_session"


def init_app(app: Flask) -> None:
    """Session cookies the page can rely on, then the page's blueprint.

    The cookie's name is set, not defaulted: Flask's config already holds ``session``, which a
    default would leave in place (and another app on the same host may use that name)."""
    from service.web import author_panel, live  # noqa: F401 - their routes join the page's blueprint
    from service.web.views import blp

    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
    )
    app.register_blueprint(blp)
