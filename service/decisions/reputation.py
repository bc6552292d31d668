"""An author's standing on a site, read from the comments the store already holds.

An author is known by the hash of their e-mail address, else by their IP. Each lookup is one
indexed range scan bounded by ``HISTORY_LIMIT`` rows, so a prolific author costs no more than
an occasional one: the history that counts is the author's latest comments on the site.
History is what arrived before the comment (``received_at`` earlier than its own), so re-scoring
an old comment sees what was there then, and the conditions stay inside the indexes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, case, func, literal, select

from service.decisions.policy import Author
from service.models import Comment, utcnow

HISTORY_LIMIT = 100


@cache
def standing(by: str) -> Select[Any]:
    """The author's latest comments on the site, summed up, and the IP's comments within the
    burst window: two index range scans, one row. Built once per key column."""
    comments = Comment.__table__.c
    latest = (
        select(comments.status, comments.received_at)
        .where(
            comments.site_id == bindparam("site_id"),
            comments[by] == bindparam("author_key"),
            comments.received_at < bindparam("until"),
        )
        .order_by(comments.received_at.desc())
        .limit(HISTORY_LIMIT)
        .subquery()
    )

    def total(condition: Any, name: str) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).label(name)

    by_ip = (
        select(literal(1))
        .where(
            comments.site_id == bindparam("site_id"),
            comments.author_ip == bindparam("ip"),
            comments.received_at >= bindparam("burst_since"),
            comments.received_at < bindparam("until"),
        )
        .limit(HISTORY_LIMIT)
        .subquery()
    )
    rejected = latest.c.status == "rejected"
    return select(
        total(latest.c.status == "approved", "approved"),
        total(rejected, "rejected"),
        total(rejected & (latest.c.received_at >= bindparam("rejections_since")), "rejections"),
        total(latest.c.received_at >= bindparam("burst_since"), "recent"),
        select(func.count()).select_from(by_ip).scalar_subquery().label("by_ip"),
    )


def standing_params(comment: Comment, settings: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The key column and parameters of :func:`standing` for ``comment``.

    ``settings`` is the site's resolved policy (``policy.resolve``): its ``reputation`` and
    ``burst`` windows decide what "recent" means.
    """
    until = comment.received_at or utcnow()
    by, key = "author_email_hash", comment.author_email_hash
    if not key and comment.author_ip:
        by, key = "author_ip", comment.author_ip
    return by, {
        "site_id": comment.site_id,
        "author_key": key,
        "ip": comment.author_ip if by == "author_email_hash" else None,
        "until": until,
        "burst_since": until - timedelta(seconds=settings["burst"]["window_seconds"]),
        "rejections_since": until - timedelta(days=settings["reputation"]["rejection_window_days"]),
    }


def author_from(row: Mapping[Any, Any], comment: Comment) -> Author:
    """The :class:`Author` a :func:`standing` row describes."""
    if comment.author_email_hash:
        known_by = "email"
    elif comment.author_ip:
        known_by = "ip"
    else:
        return Author()
    recent = int(row["recent"])
    return Author(
        known_by=known_by,
        approved=int(row["approved"]),
        rejected=int(row["rejected"]),
        recent_rejections=int(row["rejections"]),
        recent_by_author=recent if known_by == "email" else 0,
        recent_by_ip=recent if known_by == "ip" else int(row["by_ip"]),
    )
