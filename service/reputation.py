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
from sqlalchemy.orm import Session

from service.models import Comment, utcnow
from service.policy import Author

HISTORY_LIMIT = 100


@cache
def _standing(by: str) -> Select[Any]:
    """One statement, two index range scans: the author's latest comments, summed up, and the
    IP's comments within the burst window. Built once per key column."""
    comments = Comment.__table__.c
    latest = (
        select(comments.status, comments.received_at)
        .where(
            comments.site_id == bindparam("site_id"),
            comments[by] == bindparam("key"),
            comments.received_at < bindparam("until"),
        )
        .order_by(comments.received_at.desc())
        .limit(HISTORY_LIMIT)
        .subquery()
    )

    def total(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

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
        total(latest.c.status == "approved"),
        total(rejected),
        total(rejected & (latest.c.received_at >= bindparam("rejections_since"))),
        total(latest.c.received_at >= bindparam("burst_since")),
        select(func.count()).select_from(by_ip).scalar_subquery(),
    )


def author_record(session: Session, comment: Comment, settings: Mapping[str, Any]) -> Author:
    """Approved and rejected comments of the author, recent rejections and recent volume.

    ``settings`` is the site's resolved policy (``policy.resolve``): its ``reputation`` and
    ``burst`` windows decide what "recent" means.
    """
    if comment.author_email_hash:
        known_by, column, key = "email", "author_email_hash", comment.author_email_hash
    elif comment.author_ip:
        known_by, column, key = "ip", "author_ip", comment.author_ip
    else:
        return Author()
    until = comment.received_at or utcnow()
    params = {
        "site_id": comment.site_id,
        "key": key,
        "ip": comment.author_ip if known_by == "email" else None,
        "until": until,
        "burst_since": until - timedelta(seconds=settings["burst"]["window_seconds"]),
        "rejections_since": until - timedelta(days=settings["reputation"]["rejection_window_days"]),
    }
    approved, rejected, recent_rejections, recent, by_ip = (
        session.connection().execute(_standing(column), params).one()
    )
    return Author(
        known_by=known_by,
        approved=int(approved),
        rejected=int(rejected),
        recent_rejections=int(recent_rejections),
        recent_by_author=int(recent) if known_by == "email" else 0,
        recent_by_ip=int(recent) if known_by == "ip" else int(by_ip),
    )
