"""The stored state: sites, comments, decisions, webhook deliveries, moderators and labels."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are stored and returned in UTC, on SQLite too (which has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSONType, list[Any]: JSONType}

    if TYPE_CHECKING:
        # Every model here is mapped to a Table (DeclarativeBase only promises a FromClause), so
        # ``Model.__table__`` can go to insert(), update() and delete().
        __table__: ClassVar[Table]


class Site(Base):
    """A tenant: one blog platform installation with its key, webhook and policy."""

    __tablename__ = "sites"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    previous_api_key_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    previous_api_key_expires_at: Mapped[datetime | None]
    # The 12-hex key the WordPress Akismet plugin accepts, keyed-hashed (security.hash_akismet_key)
    akismet_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    previous_akismet_key_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    previous_akismet_key_expires_at: Mapped[datetime | None]
    webhook_url: Mapped[str] = mapped_column(Text)
    webhook_secret: Mapped[str] = mapped_column(String(200))
    # During a secret rotation's overlap webhooks are signed with both secrets (``rotate-secret``)
    previous_webhook_secret: Mapped[str | None] = mapped_column(String(200))
    previous_webhook_secret_expires_at: Mapped[datetime | None]
    policy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The endpoint's health (``service.endpoint_health``): failed attempts in a row and since
    # when, so a site failing for long (or answering 410 Gone) is disabled; while disabled its
    # events are kept and not attempted.
    webhook_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    webhook_failing_since: Mapped[datetime | None]
    webhook_last_failure_at: Mapped[datetime | None]
    webhook_last_success_at: Mapped[datetime | None]
    webhook_disabled_at: Mapped[datetime | None]
    webhook_disabled_reason: Mapped[str | None] = mapped_column(Text)


def _rank_of(task: str) -> str:
    """A generated column's expression: the task's score from ``scores``, else -1."""
    return f"COALESCE(CAST(scores ->> '{task}' AS FLOAT), -1.0)"


class Comment(Base):
    """A comment as the platform sent it, with its current status and latest decision summary."""

    __tablename__ = "comments"
    __table_args__ = (
        UniqueConstraint("site_id", "external_id", name="uq_comments_site_external"),
        Index("ix_comments_site_status_received", "site_id", "status", "received_at"),
        Index("ix_comments_status_enqueued", "status", "enqueued_at"),
        # pending rows only: the backlog's size and oldest age for /metrics, at any table size
        Index(
            "ix_comments_pending_received",
            "received_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        # status last: an author's standing is read from the index alone (an index-only scan)
        Index(
            "ix_comments_site_author_email",
            "site_id",
            "author_email_hash",
            "received_at",
            "status",
        ),
        Index("ix_comments_site_author_ip", "site_id", "author_ip", "received_at", "status"),
        Index("ix_comments_fingerprint", "fingerprint", "received_at"),
        # the queue's pages sorted by score, and filtered by author, read only the page
        Index("ix_comments_site_status_spam", "site_id", "status", "spam_rank", "id"),
        Index("ix_comments_site_status_toxicity", "site_id", "status", "toxicity_rank", "id"),
        Index(
            "ix_comments_site_status_author",
            "site_id",
            "status",
            text("lower(author_name)"),
            "received_at",
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    content: Mapped[str] = mapped_column(Text)
    post_id: Mapped[str | None] = mapped_column(String(200))
    post_url: Mapped[str | None] = mapped_column(Text)
    post_title: Mapped[str | None] = mapped_column(Text)
    author_name: Mapped[str | None] = mapped_column(String(200))
    author_email: Mapped[str | None] = mapped_column(String(320))
    author_email_hash: Mapped[str | None] = mapped_column(String(64))
    author_url: Mapped[str | None] = mapped_column(Text)
    author_ip: Mapped[str | None] = mapped_column(String(64))
    author_user_agent: Mapped[str | None] = mapped_column(Text)
    parent_external_id: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(16))
    extra: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    fingerprint: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16), default="api")
    created_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    action: Mapped[str | None] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(16))
    scores: Mapped[dict[str, Any] | None]
    reasons: Mapped[list[Any] | None]
    model_version: Mapped[str | None] = mapped_column(String(64))
    # The database's own copies of the scores, -1 where there is none: the queue's sort keys.
    spam_rank: Mapped[float] = mapped_column(Float, Computed(_rank_of("spam")))
    toxicity_rank: Mapped[float] = mapped_column(Float, Computed(_rank_of("toxicity")))
    # Failed attempts to decide it (not counting the model's, which hold at once): at
    # pipeline.MAX_DECIDE_ATTEMPTS the comment is held for a moderator.
    decide_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Edits (``service.decisions.edits``): how many earlier texts are kept, and when the last
    # edit came.
    # A decision is recorded only for the text it was made on (``recording``).
    revisions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    edited_at: Mapped[datetime | None]

    decisions: Mapped[list[Decision]] = relationship(
        back_populates="comment", order_by="Decision.decided_at", cascade="all, delete-orphan"
    )


class CommentRevision(Base):
    """An earlier text of an edited comment, with the time it was received (the comment keeps
    the current text)."""

    __tablename__ = "comment_revisions"
    __table_args__ = (UniqueConstraint("comment_id", "number", name="uq_revisions_comment_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    comment_id: Mapped[str] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    replaced_at: Mapped[datetime] = mapped_column(default=utcnow)


class Decision(Base):
    """One decision on a comment, by the model, a rule or a moderator; the history is kept."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    comment_id: Mapped[str] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(16))
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    model_version: Mapped[str | None] = mapped_column(String(64))
    decided_by: Mapped[str] = mapped_column(String(16))
    moderator_id: Mapped[str | None] = mapped_column(ForeignKey("moderators.id"))
    note: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)

    comment: Mapped[Comment] = relationship(back_populates="decisions")


class WebhookDelivery(Base):
    """One event to deliver to a site; retried on a schedule until delivered or its last attempt
    fails. A pending delivery with no next attempt is kept for a site whose webhook is disabled."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_deliveries_status_next", "status", "next_attempt_at"),
        # pending rows only: a site's waiting and kept events, whatever its history's size
        Index(
            "ix_deliveries_site_pending",
            "site_id",
            "next_attempt_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    comment_id: Mapped[str | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    attempt_log: Mapped[list[WebhookAttempt]] = relationship(
        back_populates="delivery", order_by="WebhookAttempt.id", cascade="all, delete-orphan"
    )


class WebhookAttempt(Base):
    """Every HTTP attempt, successful or not, for audit and debugging."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None]
    latency_ms: Mapped[float | None]
    error: Mapped[str | None] = mapped_column(Text)

    delivery: Mapped[WebhookDelivery] = relationship(back_populates="attempt_log")


class Moderator(Base):
    """A person who reviews a site's held comments; admins also manage the site's policy."""

    __tablename__ = "moderators"
    __table_args__ = (UniqueConstraint("site_id", "email", name="uq_moderators_site_email"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16), default="moderator")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    # Each page session keeps the generation it signed in under; signing out (or revoking)
    # moves it on, so a copy of an older session cookie no longer signs anyone in.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class AuditEntry(Base):
    """Who did what, when: moderator decisions and administrative changes."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_site_created", "site_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    moderator_id: Mapped[str | None] = mapped_column(ForeignKey("moderators.id"))
    action: Mapped[str] = mapped_column(String(64))
    comment_id: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def label_subject(comment_id: str | None, text: str) -> str:
    """What a label is about: its comment, or else its exact text (a SHA-256 hex digest, which
    no comment id can equal), so one site's label of a text never stands for another's."""
    return comment_id or hashlib.sha256(text.encode("utf-8")).hexdigest()


def _default_subject(context: Any) -> str:
    row = context.get_current_parameters()
    return label_subject(row.get("comment_id"), row.get("text") or "")


class AuthorStanding(Base):
    """A moderator's standing for an author on a site (``service.authors``): a policy fact
    for the author's next comments. The author is known as the history knows them: by the
    keyed hash of their e-mail address, else by IP."""

    __tablename__ = "author_standings"
    __table_args__ = (
        UniqueConstraint("site_id", "known_by", "author_key", name="uq_author_standings_author"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    known_by: Mapped[str] = mapped_column(String(8))
    author_key: Mapped[str] = mapped_column(String(64))
    standing: Mapped[str] = mapped_column(String(16))
    until: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)
    moderator_id: Mapped[str | None] = mapped_column(
        ForeignKey("moderators.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LabeledExample(Base):
    """A human label (moderator, Akismet submit-*, Perspective suggestscore) to learn from.

    A site keeps one label per task and source for each subject: a later one replaces it."""

    __tablename__ = "labeled_examples"
    __table_args__ = (
        Index("ix_labels_created", "created_at"),
        UniqueConstraint("site_id", "task", "source", "subject", name="uq_labels_identity"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"))
    comment_id: Mapped[str | None] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64), default=_default_subject)
    task: Mapped[str] = mapped_column(String(16))
    label: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CommentBand(Base):
    """One MinHash band of a decided comment's text, to find near copies across sites cheaply."""

    __tablename__ = "comment_bands"
    __table_args__ = (
        Index("ix_comment_bands_band_received", "band", "received_at"),
        Index("ix_comment_bands_received", "received_at"),
    )

    comment_id: Mapped[str] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True
    )
    band: Mapped[str] = mapped_column(String(16), primary_key=True)
    received_at: Mapped[datetime]


class Lease(Base):
    """A turn at periodic upkeep (the sweep, pruning): whoever finds it free or expired takes
    it until ``until``, so many workers scheduling the same job run it once per period."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    until: Mapped[datetime]
