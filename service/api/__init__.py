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


def docs_security_headers() -> dict[str, str]:
    """The moderator page's headers, but a policy that lets Swagger UI's one inline start-up
    script (written by flask-smorest) and its inline styles run; nothing from other sites."""
    from service.web.views import CONTENT_SECURITY_POLICY, SECURITY_HEADERS

    policy = CONTENT_SECURITY_POLICY.replace(
        "script-src 'self'", "script-src 'self' 'unsafe-inline'"
    )
    policy = policy.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
    return {**SECURITY_HEADERS, "Content-Security-Policy": policy}


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
    from service.api import authors  # noqa: F401  (adds the author routes to the blueprint)
    from service.api.moderation import blp as moderation_blp

    api.register_blueprint(moderation_blp)
    from service.api import akismet, perspective

    app.register_blueprint(akismet.blp)
    app.register_blueprint(perspective.blp)
    from service.api import platform_decisions, sites

    api.register_blueprint(sites.blp)
    api.register_blueprint(platform_decisions.blp)

    @app.get("/docs/assets/<path:filename>")
    def docs_assets(filename: str) -> Response:
        return send_from_directory(assets, filename)

    docs_headers = docs_security_headers()

    @app.after_request
    def protect_docs(response: Response) -> Response:
        if request.path.startswith("/docs"):
            response.headers.update(docs_headers)
        return response

    app.extensions["commentgate_api"] = api
    return api
