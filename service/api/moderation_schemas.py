"""Schemas of ``/v1/moderation``: the queue's query, decisions in, comments and audit out.

The Out schemas dump what the domain returns (a ``Comment``, ``moderation.Page``...): handlers
build no dicts. Each ``OneOf`` reads the domain's own tuple, which the domain checks again for
the callers without a schema (see ``service.api.schemas``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from service.api.schemas import (
    ACTION_ENUM,
    DECIDED_BY_ENUM,
    STATUS_ENUM,
    StoredCommentOut,
    in_utc_range,
)
from service.decisions.policy import STANDINGS
from service.highlights import comment_highlights
from service.moderation import ACTIONS, LABELS, MAX_BULK, MAX_PAGE, SORTS, STATUSES

SCORE_RANGE = validate.Range(min=0.0, max=1.0)


class Instant(fields.String):
    """An ISO 8601 date or date-time; without a time zone it is UTC."""

    default_error_messages = {"invalid": "Not a valid ISO 8601 date or date-time."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:  # type: ignore[override]
        try:
            parsed = datetime.fromisoformat(super()._deserialize(value, attr, data, **kwargs))
        except ValueError as exc:
            raise self.make_error("invalid") from exc
        moment = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        in_utc_range(moment)
        return moment


def _score(name: str) -> fields.Float:
    return fields.Float(validate=SCORE_RANGE, metadata={"description": name})


class QueueArgs(Schema):
    status = fields.String(load_default="held", validate=validate.OneOf(STATUSES))
    site = fields.String(metadata={"description": "The moderator's own site (id or name)."})
    spam_min = _score("Lowest spam score, 0 to 1.")
    spam_max = _score("Highest spam score, 0 to 1.")
    toxicity_min = _score("Lowest toxicity score, 0 to 1.")
    toxicity_max = _score("Highest toxicity score, 0 to 1.")
    q = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Text in the content or author name, or an external id."},
    )
    author = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "The author's name, whole (not case-sensitive)."},
    )
    post = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "The post's id, as the platform sent it."},
    )
    reason = fields.String(
        validate=validate.Regexp(r"^[a-z_]{1,40}$"),
        metadata={"description": "A reason's code, e.g. `blocked_term` or `spam_score`."},
    )
    since = Instant(metadata={"description": "Received at or after (ISO 8601 date or time)."})
    until = Instant(metadata={"description": "Received before (ISO 8601 date or time)."})
    sort = fields.String(load_default="oldest", validate=validate.OneOf(SORTS))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))
    cursor = fields.String(validate=validate.Length(max=500))

    @validates_schema
    def _ranges(self, data: dict[str, Any], **_: Any) -> None:
        for low, high in (
            ("spam_min", "spam_max"),
            ("toxicity_min", "toxicity_max"),
            ("since", "until"),
        ):
            if low in data and high in data and data[low] > data[high]:
                raise ValidationError(f"{low} must not be above {high}.", high)


class AuthorOut(Schema):
    """A ``Comment``'s author columns."""

    name = fields.String(attribute="author_name", allow_none=True)
    url = fields.String(attribute="author_url", allow_none=True)


class PrivateAuthorOut(AuthorOut):
    email = fields.String(attribute="author_email", allow_none=True)
    ip = fields.String(attribute="author_ip", allow_none=True)
    user_agent = fields.String(attribute="author_user_agent", allow_none=True)


class PostOut(Schema):
    """A ``Comment``'s post columns."""

    id = fields.String(attribute="post_id", allow_none=True)
    url = fields.String(attribute="post_url", allow_none=True)
    title = fields.String(attribute="post_title", allow_none=True)


class HighlightOut(Schema):
    start = fields.Integer(metadata={"description": "Start of the slice of `content`."})
    end = fields.Integer(metadata={"description": "End of the slice (exclusive)."})
    kind = fields.String(metadata={"enum": ["rule", "model"]})
    code = fields.String(metadata={"enum": ["blocked_term", "suspect_term", "model_terms"]})
    term = fields.String(metadata={"description": "The term as listed, or as the model saw it."})
    task = fields.String(allow_none=True, metadata={"enum": ["spam", "toxicity"]})


class QueueItemOut(StoredCommentOut):
    """A stored ``Comment`` in the queue: ``author`` and ``post`` are its own columns, and
    ``highlights`` are found in its text from its reasons."""

    id = fields.String()
    external_id = fields.String()
    status = fields.String(metadata={"enum": STATUS_ENUM})
    content = fields.String()
    scores = fields.Dict(keys=fields.String(), values=fields.Float())
    reasons = fields.List(fields.Dict())
    highlights = fields.List(
        fields.Nested(HighlightOut),
        metadata={"description": "Where in `content` the terms that drove the decision are."},
    )
    author = fields.Nested(AuthorOut)
    post = fields.Nested(PostOut)
    received_at = fields.DateTime()
    action = fields.String(allow_none=True, metadata={"enum": ACTION_ENUM})
    decided_by = fields.String(allow_none=True, metadata={"enum": DECIDED_BY_ENUM})
    decided_at = fields.DateTime(allow_none=True)
    model_version = fields.String(allow_none=True)
    edited_at = fields.DateTime(
        allow_none=True, metadata={"description": "When the platform last edited the text."}
    )

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        if attr in ("author", "post"):
            return obj
        if attr == "highlights":
            return comment_highlights(obj.content, obj.reasons)
        return super().get_attribute(obj, attr, default)


class QueueOut(Schema):
    """A ``moderation.Page``."""

    items = fields.List(fields.Nested(QueueItemOut))
    next = fields.String(allow_none=True, metadata={"description": "Cursor of the next page."})


class HistoryCommentOut(Schema):
    id = fields.String()
    external_id = fields.String()
    status = fields.String()
    content = fields.String()
    received_at = fields.DateTime()


class AuthorHistoryOut(Schema):
    """A ``moderation.AuthorHistory``."""

    matched_by = fields.String(allow_none=True, metadata={"enum": ["email", "ip"]})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    comments = fields.List(fields.Nested(HistoryCommentOut))


class RevisionOut(Schema):
    """An earlier text of an edited comment."""

    number = fields.Integer()
    content = fields.String()
    received_at = fields.DateTime(metadata={"description": "When this text was received."})
    replaced_at = fields.DateTime(metadata={"description": "When an edit replaced it."})


class DecisionHistoryOut(Schema):
    """A ``moderation.HistoryEntry``: the stored ``Decision`` and its moderator's e-mail."""

    id = fields.Integer(attribute="decision.id")
    action = fields.String(attribute="decision.action")
    decided_by = fields.String(attribute="decision.decided_by")
    moderator = fields.String(
        attribute="moderator_email",
        allow_none=True,
        metadata={"description": "Moderator's e-mail."},
    )
    note = fields.String(attribute="decision.note", allow_none=True)
    scores = fields.Dict(attribute="decision.scores")
    reasons = fields.List(fields.Dict(), attribute="decision.reasons")
    model_version = fields.String(attribute="decision.model_version", allow_none=True)
    decided_at = fields.DateTime(attribute="decision.decided_at")


class CommentDetailOut(QueueItemOut):
    """A ``moderation.CommentDetail``: its comment as a queue item (with the author's private
    columns), then what the detail adds."""

    author = fields.Nested(PrivateAuthorOut)
    language = fields.String(allow_none=True)
    terms = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Terms that drove the decision, by task or rule."},
    )
    author_history = fields.Nested(AuthorHistoryOut)
    decisions = fields.List(fields.Nested(DecisionHistoryOut))
    revisions = fields.List(
        fields.Nested(RevisionOut), metadata={"description": "Earlier texts, oldest first."}
    )

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        if attr == "author_history":
            return obj.author
        if attr in ("terms", "decisions", "revisions"):
            return getattr(obj, attr)
        return super().get_attribute(obj.comment, attr, default)


class DecisionIn(Schema):
    action = fields.String(required=True, validate=validate.OneOf(ACTIONS))
    reason = fields.String(allow_none=True, validate=validate.Length(max=1000))
    label = fields.String(
        allow_none=True,
        validate=validate.OneOf(LABELS),
        metadata={"description": "What the text is; kept as training data."},
    )
    expected_status = fields.String(
        allow_none=True,
        validate=validate.OneOf(STATUSES),
        metadata={
            "description": "The status the moderator saw. When the comment's status differs "
            "(a colleague decided meanwhile), the answer is 409 with the current decision in "
            "`error.details.current`, and nothing changes."
        },
    )


class BulkDecisionIn(DecisionIn):
    ids = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        required=True,
        validate=validate.Length(min=1, max=MAX_BULK),
    )


class BulkDecisionOut(Schema):
    decided = fields.Integer()
    items = fields.List(fields.Nested(QueueItemOut))


class AuditArgs(Schema):
    comment = fields.String(validate=validate.Length(max=64))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))
    cursor = fields.String(validate=validate.Length(max=500))


class AuditEntryOut(Schema):
    """One of ``moderation.AuditPage.items``: a stored ``AuditEntry`` and its moderator's
    e-mail."""

    id = fields.Integer()
    action = fields.String()
    comment_id = fields.String(allow_none=True)
    moderator_id = fields.String(allow_none=True)
    moderator = fields.String(allow_none=True, metadata={"description": "Moderator's e-mail."})
    details = fields.Dict()
    created_at = fields.DateTime()

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        entry, email = obj
        return email if attr == "moderator" else super().get_attribute(entry, attr, default)


class AuditOut(Schema):
    """A ``moderation.AuditPage``."""

    items = fields.List(fields.Nested(AuditEntryOut))
    next = fields.String(allow_none=True)


class StandingOut(Schema):
    """A stored ``AuthorStanding``."""

    kind = fields.String(attribute="standing", metadata={"enum": list(STANDINGS)})
    until = fields.DateTime(allow_none=True, metadata={"description": "A suspension's end."})
    reason = fields.String(allow_none=True)
    moderator_id = fields.String(allow_none=True)
    updated_at = fields.DateTime()


class AuthorPanelOut(Schema):
    """The comment's author: how they are known, their standing and their history (an
    ``authors.AuthorView``)."""

    comment_id = fields.String(attribute="comment.id")
    known_by = fields.String(
        attribute="identity.known_by",
        allow_none=True,
        dump_default=None,  # an author named by neither e-mail nor IP has no identity
        metadata={"enum": ["email", "ip"]},
    )
    author = fields.Nested(PrivateAuthorOut, attribute="comment")
    standing = fields.Nested(
        StandingOut,
        allow_none=True,
        metadata={"description": "The standing in force; null when none (or a suspension ended)."},
    )
    history = fields.Nested(AuthorHistoryOut)


class StandingIn(Schema):
    standing = fields.String(
        required=True,
        validate=validate.OneOf([*STANDINGS, "none"]),
        metadata={
            "description": "`trusted`: approved unless a blocked term or the honeypot fires; "
            "`premoderated`: always held; `suspended`: rejected until `until`; `banned`: "
            "rejected; `none`: clears the standing."
        },
    )
    until = Instant(
        allow_none=True,
        metadata={"description": "RFC 3339; required for `suspended`, in the future."},
    )
    reason = fields.String(allow_none=True, validate=validate.Length(max=1000))


class RejectHeldIn(Schema):
    reason = fields.String(allow_none=True, validate=validate.Length(max=1000))
