"""Domain errors; the web layer maps each to an HTTP status and a JSON error body."""

from __future__ import annotations

from typing import Any


class CommentGateError(Exception):
    """Base of every error a client can cause; carries a stable code and optional details."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFoundError(CommentGateError):
    status = 404
    code = "not_found"


class ConflictError(CommentGateError):
    status = 409
    code = "conflict"


class ValidationError(CommentGateError):
    status = 422
    code = "validation_error"


class InvalidWebhookURLError(ValidationError):
    code = "invalid_webhook_url"


class ForbiddenError(CommentGateError):
    status = 403
    code = "forbidden"


class UnauthorizedError(CommentGateError):
    status = 401
    code = "unauthorized"


class UnavailableError(CommentGateError):
    status = 503
    code = "unavailable"
