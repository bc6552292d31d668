"""The HTTP layer: blueprints, OpenAPI document and the docs page (served without a CDN)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, request, send_from_directory
from flask_smorest import Api

API_TITLE = "CommentGate"
API_VERSION = "v1"


class CommentGateApi(Api):
    """flask-smorest, documenting our error shape instead of its default one."""

    from service.api.schemas import ErrorOut as ERROR_SCHEMA  # noqa: N811


DOCS_SECURITY_HEADERS = {
    "Content-Security-Policy": "; ".join(
        [
            "default-src 'none'",
            "script-src 'self' 'unsafe-inline'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "form-action 'none'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def register_api(app: Flask) -> Api:
    import swagger_ui_bundle

    from service.api import comments, health

    assets = Path(swagger_ui_bundle.swagger_ui_path)
    app.config.update(
        API_TITLE=API_TITLE,
        API_VERSION=API_VERSION,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="/docs/assets/",
        API_SPEC_OPTIONS={
            "info": {
                "description": "Self-hosted comment moderation: spam and toxicity scoring, "
                "site policies, moderator review and signed webhooks.",
            },
            "components": {
                "securitySchemes": {
                    "apiKey": {"type": "http", "scheme": "bearer", "description": "Site API key"},
                    "moderatorToken": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "Moderator token",
                    },
                }
            },
        },
    )
    api = CommentGateApi(app)
    api.register_blueprint(comments.blp)
    app.register_blueprint(health.blp)
    from service.api.moderation import blp as moderation_blp

    api.register_blueprint(moderation_blp)
    from service.api import akismet, perspective

    app.register_blueprint(akismet.blp)
    app.register_blueprint(perspective.blp)
    from service.api import sites

    api.register_blueprint(sites.blp)

    @app.get("/docs/assets/<path:filename>")
    def docs_assets(filename: str):  # noqa: ANN202
        return send_from_directory(assets, filename)

    @app.after_request
    def docs_headers(response: Response) -> Response:
        """The docs page gets the moderator page's headers; its one inline script (Swagger UI's
        start-up, written by flask-smorest) needs 'unsafe-inline', nothing outside the site."""
        if request.path.startswith("/docs"):
            response.headers.update(DOCS_SECURITY_HEADERS)
        return response

    app.extensions["commentgate_api"] = api
    return api
