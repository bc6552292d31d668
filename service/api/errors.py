"""Every error is JSON ``{"error": {"code", "message", "details"?}}``; no 500 for bad input."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from service.errors import CommentGateError

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}


def error_response(status: int, code: str, message: str, details: Any = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    response = jsonify({"error": body})
    response.status_code = status
    return response


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    details = data.get("messages") if isinstance(data, dict) else None
    if isinstance(details, dict) and len(details) == 1:
        details = next(iter(details.values()))
    message = data.get("message") if isinstance(data, dict) else None
    if status == 422:
        message = "The request body is invalid; see details for each field."
    elif status == 429:
        message = f"Too many requests: the limit is {exc.description}."
    response = error_response(
        status, CODES.get(status, "error"), message or exc.description or exc.name, details
    )
    for key, value in exc.get_headers() or []:
        if key.lower() == "retry-after":
            response.headers[key] = value
    return response


def _domain_error(exc: CommentGateError) -> Response:
    response = error_response(exc.status, exc.code, exc.message, exc.details)
    if exc.status == 503:
        response.headers["Retry-After"] = "5"
    return response


def _database_unavailable(exc: DBAPIError) -> Response:
    """The store is down or restarting: say so, and when to retry; never a 500."""
    log.warning("database unavailable: %s", type(exc.orig).__name__ if exc.orig else exc)
    response = error_response(
        503, "unavailable", "The comment store is temporarily unavailable; retry shortly."
    )
    response.headers["Retry-After"] = "5"
    return response


def _unexpected(exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", InternalServerError.description)


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CommentGateError, _domain_error)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(InterfaceError, _database_unavailable)
    app.register_error_handler(Exception, _unexpected)
