"""An author's standing on a site, read from the comments the store already holds.

An author is known by the hash of their e-mail address, else by their IP. Each lookup is one
indexed range scan bounded by ``HISTORY_LIMIT`` rows, so a prolific author costs no more than
an occasional one: the history that counts is the author's latest comments on the site.
History is read as of the comment's arrival, so re-scoring an old comment sees what was there.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from service.models import Comment, utcnow
from service.policy import Author

HISTORY_LIMIT = 100


def author_record(session: Session, comment: Comment, settings: Mapping[str, Any]) -> Author:
    """Approved and rejected comments of the author, recent rejections and recent volume.

    ``settings`` is the site's resolved policy (``policy.resolve``): its ``reputation`` and
    ``burst`` windows decide what "recent" means.
    """
    at = comment.received_at or utcnow()
    if comment.author_email_hash:
        known_by, column, key = "email", Comment.author_email_hash, comment.author_email_hash
    elif comment.author_ip:
        known_by, column, key = "ip", Comment.author_ip, comment.author_ip
    else:
        return Author()
    rows = session.execute(
        select(Comment.status, Comment.received_at)
        .where(
            Comment.site_id == comment.site_id,
            column == key,
            Comment.received_at <= at,
            Comment.id != comment.id,
        )
        .order_by(Comment.received_at.desc())
        .limit(HISTORY_LIMIT)
    ).all()
    rejections_since = at - timedelta(days=settings["reputation"]["rejection_window_days"])
    burst_since = at - timedelta(seconds=settings["burst"]["window_seconds"])
    statuses = [status for status, _ in rows]
    recent_rejections = sum(
        1 for status, when in rows if status == "rejected" and when >= rejections_since
    )
    recent = sum(1 for _, when in rows if when >= burst_since)
    by_ip = recent if known_by == "ip" else _recent_by_ip(session, comment, burst_since, at)
    return Author(
        known_by=known_by,
        approved=statuses.count("approved"),
        rejected=statuses.count("rejected"),
        recent_rejections=recent_rejections,
        recent_by_author=recent if known_by == "email" else 0,
        recent_by_ip=by_ip,
    )


def _recent_by_ip(session: Session, comment: Comment, since: datetime, until: datetime) -> int:
    """Other comments from the same IP on the site within the burst window (bounded count)."""
    if not comment.author_ip:
        return 0
    window = (
        select(literal(1))
        .where(
            Comment.site_id == comment.site_id,
            Comment.author_ip == comment.author_ip,
            Comment.received_at >= since,
            Comment.received_at <= until,
            Comment.id != comment.id,
        )
        .limit(HISTORY_LIMIT)
        .subquery()
    )
    return session.scalar(select(func.count()).select_from(window)) or 0
