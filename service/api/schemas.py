"""Request and response schemas: validation happens here, once, at the edge."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

MAX_CONTENT_CHARS = 20_000
MAX_ID_CHARS = 200
MAX_FIELD_CHARS = 2_000


def _text(max_chars: int = MAX_FIELD_CHARS, **kwargs: object) -> fields.String:
    return fields.String(validate=validate.Length(max=max_chars), **kwargs)  # type: ignore[arg-type]


MAX_JSON_DEPTH = 4
MAX_JSON_ITEMS = 100


def _check_json_shape(value: object, depth: int = 1) -> int:
    """Count the items of a nested JSON value, refusing documents nested too deeply."""
    if depth > MAX_JSON_DEPTH:
        raise ValidationError(f"Nested deeper than {MAX_JSON_DEPTH} levels.")
    if isinstance(value, dict):
        children = list(value.values())
    elif isinstance(value, list):
        children = value
    else:
        return 1
    return len(children) + sum(_check_json_shape(child, depth + 1) for child in children)


def bounded_json(value: dict) -> None:
    if _check_json_shape(value) > MAX_JSON_ITEMS:
        raise ValidationError(f"More than {MAX_JSON_ITEMS} values in all.")


class PostIn(Schema):
    id = _text(MAX_ID_CHARS, required=True)
    url = fields.Url(require_tld=False, validate=validate.Length(max=MAX_FIELD_CHARS))
    title = _text()


class AuthorIn(Schema):
    name = _text(200, allow_none=True)
    email = fields.Email(validate=validate.Length(max=320), allow_none=True)
    url = fields.Url(
        require_tld=False, validate=validate.Length(max=MAX_FIELD_CHARS), allow_none=True
    )
    ip = fields.IP(allow_none=True)
    user_agent = _text(allow_none=True)


class CommentIn(Schema):
    external_id = fields.String(required=True, validate=validate.Length(min=1, max=MAX_ID_CHARS))
    content = fields.String(required=True, validate=validate.Length(min=1, max=MAX_CONTENT_CHARS))
    post = fields.Nested(PostIn)
    author = fields.Nested(AuthorIn)
    parent_external_id = _text(MAX_ID_CHARS, allow_none=True)
    created_at = fields.AwareDateTime(format="iso", allow_none=True)
    language = fields.String(validate=validate.Length(min=2, max=16), allow_none=True)
    metadata = fields.Dict(
        keys=fields.String(validate=validate.Length(max=100)), validate=bounded_json
    )


class DecisionOut(Schema):
    action = fields.String(metadata={"enum": ["approve", "hold", "reject"]})
    scores = fields.Dict(keys=fields.String(), values=fields.Float())
    reasons = fields.List(fields.Dict())
    model_version = fields.String(allow_none=True)
    decided_by = fields.String(metadata={"enum": ["model", "rule", "moderator"]})
    decided_at = fields.DateTime()


class CommentOut(Schema):
    id = fields.String()
    external_id = fields.String()
    status = fields.String(metadata={"enum": ["pending", "approved", "held", "rejected"]})
    received_at = fields.DateTime()
    decision = fields.Nested(DecisionOut, allow_none=True)


class ErrorBody(Schema):
    code = fields.String()
    message = fields.String()
    details = fields.Raw()


class ErrorOut(Schema):
    error = fields.Nested(ErrorBody)
