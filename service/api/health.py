"""Liveness and readiness (database and broker reachable); metrics live in ``metrics``."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from service.state import state

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


def _check_database() -> str | None:
    try:
        with state().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}"
    return None


def _check_broker() -> str | None:
    try:
        with state().celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}"
    return None


@blp.get("/readyz")
def readyz() -> tuple[Response, int]:
    checks = {"database": _check_database(), "broker": _check_broker()}
    ready = not any(checks.values())
    body = {
        "status": "ready" if ready else "unavailable",
        "checks": {name: error or "ok" for name, error in checks.items()},
    }
    response = jsonify(body)
    if not ready:
        response.headers["Retry-After"] = "5"
    return response, 200 if ready else 503
