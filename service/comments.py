"""Storing comments exactly once per (site, external_id), and finding them again."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.decisions.floods import fingerprint
from service.errors import NotFoundError
from service.models import Comment, Site, new_id, utcnow
from service.security import hash_identifier

# The longest comment accepted, by every endpoint that takes one (JSON API, Akismet, Perspective).
MAX_CONTENT_CHARS = 20_000


def comment_row(
    site: Site, data: Mapping[str, Any], *, identifier_key: bytes, hash_pii: bool = False
) -> dict[str, Any]:
    """Flatten a validated submission into column values; e-mails and IPs are hashed with
    ``identifier_key`` (``Settings.identifier_key``), the e-mail always, both if ``hash_pii``."""
    post = data.get("post") or {}
    author = data.get("author") or {}
    email = author.get("email")
    ip = str(author["ip"]) if author.get("ip") else None
    email_hash = hash_identifier(email, identifier_key) if email else None
    now = utcnow()
    return {
        "id": new_id(),
        "site_id": site.id,
        "external_id": data["external_id"],
        "status": "pending",
        "content": data["content"],
        "post_id": post.get("id"),
        "post_url": post.get("url"),
        "post_title": post.get("title"),
        "author_name": author.get("name"),
        "author_email": email_hash if hash_pii else email,
        "author_email_hash": email_hash,
        "author_url": author.get("url"),
        "author_ip": hash_identifier(ip, identifier_key) if (ip and hash_pii) else ip,
        "author_user_agent": author.get("user_agent"),
        "parent_external_id": data.get("parent_external_id"),
        "language": data.get("language"),
        "extra": dict(data.get("metadata") or {}),
        "fingerprint": fingerprint(data["content"]),
        "source": data.get("source", "api"),
        "created_at": data.get("created_at"),
        "received_at": now,
        "enqueued_at": now,
    }


@functools.cache
def _insert_once_statement(dialect: str) -> Any:
    """Built once per dialect: the ingest path only binds values to a cached compiled form."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = Comment.__table__
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=["site_id", "external_id"])
        .returning(table.c.id)
    )


def insert_comment(session: Session | Connection, row: dict[str, Any]) -> tuple[str, bool]:
    """Insert unless (site, external_id) exists; returns (comment id, created).

    One statement with ON CONFLICT DO NOTHING, so concurrent retries of the same comment
    never race into a duplicate or an integrity error. On an autocommit connection it is also
    one round trip to the database, durable when it returns.
    """
    bind = session.get_bind() if isinstance(session, Session) else session
    values = dict(row)
    values["metadata"] = values.pop("extra")
    statement = _insert_once_statement(bind.dialect.name)
    created_id = session.execute(statement, values).scalar()
    if created_id is not None:
        return created_id, True
    existing = session.scalar(
        select(Comment.id).where(
            Comment.site_id == row["site_id"], Comment.external_id == row["external_id"]
        )
    )
    assert existing is not None
    return existing, False


def get_comment(session: Session, site: Site, comment_id: str) -> Comment:
    """A site's own comment; another site's comment is indistinguishable from a missing one."""
    comment = session.get(Comment, comment_id)
    if comment is None or comment.site_id != site.id:
        raise NotFoundError("Comment not found.")
    return comment


def mark_enqueued(session: Session, comment_ids: list[str], when: datetime) -> None:
    for comment in session.scalars(select(Comment).where(Comment.id.in_(comment_ids))):
        comment.enqueued_at = when
