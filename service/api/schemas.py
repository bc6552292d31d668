"""Request and response schemas: validation happens here, once, at the edge."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, pre_load, validate
from marshmallow.utils import get_value

from service.comments import MAX_CONTENT_CHARS
from service.decisions import policy
from service.moderation import ACTIONS, STATUSES

MAX_ID_CHARS = 200
MAX_FIELD_CHARS = 2_000

# Enumerations are validated once, by the domain that owns them (``service.moderation``,
# ``service.authors``, ``service.thresholds``): the moderator page and the command line call it
# without a schema. A schema's ``OneOf`` reads the same tuple, for the OpenAPI document's
# ``enum`` and a field error before anything is read; responses list the same sets.
ACTION_ENUM = sorted(ACTIONS)
STATUS_ENUM = list(STATUSES)
DECIDED_BY_ENUM = ["model", "rule", "moderator"]


def _text(max_chars: int = MAX_FIELD_CHARS, **kwargs: object) -> fields.String:
    return fields.String(validate=validate.Length(max=max_chars), **kwargs)  # type: ignore[arg-type]


MAX_JSON_DEPTH = 4
MAX_JSON_ITEMS = 100
MAX_KEY_CHARS = 100


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


def in_utc_range(value: datetime) -> None:
    """A moment the store can keep: in UTC it must still fall within years 1 to 9999."""
    try:
        value.astimezone(UTC)
    except OverflowError as exc:
        raise ValidationError("Out of range once converted to UTC.") from exc


class Moment(fields.Field):
    """RFC 3339 text or Unix time (seconds, or milliseconds as JavaScript's ``Date.now()``)."""

    default_error_messages = {"invalid": "Not an RFC 3339 text or a Unix time."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and len(value) <= 64:
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                if math.isfinite(float(value)):
                    return value
            except OverflowError:
                pass
        raise self.make_error("invalid")


class MetadataIn(Schema):
    """The platform's own JSON, kept with the comment; the keys the policy reads (README,
    "What the platform sends") must have the types it expects, any other key is free-form."""

    class Meta:
        unknown = INCLUDE

    honeypot_field_name = _text(
        100,
        data_key=policy.HONEYPOT_NAME_KEY,
        allow_none=True,
        metadata={"description": "The name of a hidden form field, sent as another key."},
    )
    submit_seconds = fields.Float(
        data_key=policy.SUBMIT_SECONDS_KEY,
        allow_none=True,
        metadata={"description": "Seconds between showing the form and sending it."},
    )
    form_rendered_at = Moment(data_key=policy.FORM_RENDERED_KEY, allow_none=True)
    submitted_at = Moment(data_key=policy.SUBMITTED_KEY, allow_none=True)

    @pre_load
    def _bounded(self, data: Any, **_: Any) -> Any:
        if not isinstance(data, Mapping):
            return data  # the schema answers "Invalid input type"
        if any(len(key) > MAX_KEY_CHARS for key in data):
            raise ValidationError(f"Keys are at most {MAX_KEY_CHARS} characters.")
        bounded_json(dict(data))
        return data


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
    created_at = fields.AwareDateTime(format="iso", allow_none=True, validate=in_utc_range)
    language = fields.String(validate=validate.Length(min=2, max=16), allow_none=True)
    metadata = fields.Nested(MetadataIn)


class CommentEditIn(Schema):
    """An edit: the comment's new text (``PATCH``). ``PUT`` takes the whole ``CommentIn``."""

    content = fields.String(required=True, validate=validate.Length(min=1, max=MAX_CONTENT_CHARS))


EMPTY_WHEN_NULL = {"scores": dict, "reasons": list, "revisions": int}


class StoredCommentOut(Schema):
    """Dumps a stored ``Comment`` (or its column values as a mapping) as it is: the fields read
    its columns. Scores, reasons and revisions not written yet show as empty, not null."""

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        value = get_value(obj, attr, default)
        if value is None and attr in EMPTY_WHEN_NULL:
            return EMPTY_WHEN_NULL[attr]()
        return value


class DecisionOut(StoredCommentOut):
    """The decision columns of a decided ``Comment``."""

    action = fields.String(metadata={"enum": ACTION_ENUM})
    scores = fields.Dict(keys=fields.String(), values=fields.Float())
    reasons = fields.List(fields.Dict())
    model_version = fields.String(allow_none=True)
    decided_by = fields.String(metadata={"enum": DECIDED_BY_ENUM})
    decided_at = fields.DateTime()


class CommentOut(StoredCommentOut):
    """A ``Comment`` as the platform sees it; ``decision`` is the comment's own decision
    columns, null until it has one."""

    id = fields.String()
    external_id = fields.String()
    status = fields.String(metadata={"enum": STATUS_ENUM})
    received_at = fields.DateTime()
    decision = fields.Nested(
        DecisionOut,
        allow_none=True,
        metadata={"description": "The latest decision (after an edit, until the new one)."},
    )
    revisions = fields.Integer(metadata={"description": "Earlier texts kept: edits so far."})
    edited_at = fields.DateTime(
        allow_none=True, metadata={"description": "When the text was last edited."}
    )

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        if attr == "decision":
            return obj if get_value(obj, "action", None) is not None else None
        return super().get_attribute(obj, attr, default)


class ErrorBody(Schema):
    code = fields.String()
    message = fields.String()
    details = fields.Raw()


class ErrorOut(Schema):
    error = fields.Nested(ErrorBody)
