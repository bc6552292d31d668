"""Which standing a moderator set for a comment's author, read for the decision pipeline.

An author is known the way their history knows them (``moderation.author_history``,
``service.decisions.reputation``): by the keyed hash of their e-mail address, else by IP. Kept
apart from ``service.authors`` (the moderator's side) so the pipeline needs nothing of the queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from service.decisions.policy import Standing
from service.models import AuthorStanding, Comment, utcnow


@dataclass(frozen=True)
class Identity:
    known_by: str  # "email" or "ip"
    key: str


def identity_of(comment: Comment) -> Identity | None:
    """The author as their history matches them; None when the comment names neither."""
    if comment.author_email_hash:
        return Identity("email", comment.author_email_hash)
    if comment.author_ip:
        return Identity("ip", comment.author_ip)
    return None


def in_force(row: AuthorStanding | None, now: datetime) -> bool:
    """A suspension ends at its ``until``; other standings last until changed."""
    if row is None:
        return False
    return row.standing != "suspended" or (row.until is not None and row.until > now)


def standing_row(session: Session, site_id: str, who: Identity) -> AuthorStanding | None:
    return session.scalar(
        select(AuthorStanding).where(
            AuthorStanding.site_id == site_id,
            AuthorStanding.known_by == who.known_by,
            AuthorStanding.author_key == who.key,
        )
    )


def standings_for(
    session: Session, comments: Sequence[Comment], now: datetime | None = None
) -> dict[str, Standing]:
    """The standings in force for a batch's authors, by comment id: one query per batch."""
    now = now or utcnow()
    wanted = {c.id: (c.site_id, identity_of(c)) for c in comments}
    keys = {(site, who.known_by, who.key) for site, who in wanted.values() if who}
    if not keys:
        return {}
    # One statement whatever the batch's size: its compiled form is cached and reused.
    columns = tuple_(AuthorStanding.site_id, AuthorStanding.known_by, AuthorStanding.author_key)
    rows = session.scalars(select(AuthorStanding).where(columns.in_(sorted(keys))))
    found = {(r.site_id, r.known_by, r.author_key): r for r in rows if in_force(r, now)}
    result = {}
    for comment_id, (site, who) in wanted.items():
        row = found.get((site, who.known_by, who.key)) if who else None
        if row is not None:
            result[comment_id] = Standing(row.standing, row.until, row.reason)
    return result
