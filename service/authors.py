"""Author standings: what a moderator decided about an author, for the author's next comments.

An author is known the way their history knows them (``moderation.author_history``,
``service.decisions.reputation``): by the keyed hash of their e-mail address, else by IP. A standing
is a fact the decision pipeline hands to the policy (``policy.Standing``), which stays pure. Nothing
here commits; the caller commits once and sends the webhooks returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service import moderation
from service.decisions.pipeline import Recorded
from service.decisions.policy import STANDINGS
from service.decisions.standings import Identity, identity_of, in_force, standing_row
from service.errors import ConflictError, ValidationError
from service.models import AuthorStanding, Comment, Moderator, utcnow

AUDIT_STANDING = "author.standing"
AUDIT_REJECT_HELD = "author.reject_held"
NONE = "none"


def _identity_or_fail(comment: Comment) -> Identity:
    who = identity_of(comment)
    if who is None:
        raise ValidationError("The comment names no e-mail address or IP: its author is unknown.")
    return who


@dataclass(frozen=True)
class AuthorView:
    comment: Comment
    identity: Identity | None
    standing: AuthorStanding | None
    history: moderation.AuthorHistory


def author_of(session: Session, site_id: str, comment_id: str) -> AuthorView:
    """The comment's author: their standing (if in force) and their history on the site."""
    comment = moderation.get_site_comment(session, site_id, comment_id)
    who = identity_of(comment)
    row = standing_row(session, site_id, who) if who else None
    return AuthorView(
        comment,
        who,
        row if in_force(row, utcnow()) else None,
        moderation.author_history(session, comment),
    )


def set_standing(
    session: Session,
    moderator: Moderator,
    comment_id: str,
    standing: str,
    *,
    until: datetime | None = None,
    reason: str | None = None,
) -> AuthorView:
    """Set (or with ``none`` clear) the standing of the comment's author; audited."""
    if standing not in (*STANDINGS, NONE):
        raise ValidationError(f"Unknown standing {standing!r}.")
    now = utcnow()
    if standing == "suspended" and (until is None or until <= now):
        raise ValidationError("A suspension needs an `until` in the future.", {"field": "until"})
    if standing != "suspended" and until is not None:
        raise ValidationError("Only a suspension has an `until`.", {"field": "until"})
    comment = moderation.get_site_comment(session, moderator.site_id, comment_id)
    who = _identity_or_fail(comment)
    row = standing_row(session, moderator.site_id, who)
    previous = row.standing if in_force(row, now) and row else NONE
    if standing == NONE:
        if row is not None:
            session.delete(row)
    else:
        if row is None:
            row = AuthorStanding(
                site_id=moderator.site_id, known_by=who.known_by, author_key=who.key
            )
            session.add(row)
        row.standing, row.until, row.reason = standing, until, reason
        row.moderator_id, row.updated_at = moderator.id, now
    details = {
        "known_by": who.known_by,
        "previous": previous,
        "standing": standing,
        "until": until.isoformat() if until else None,
        "reason": reason,
    }
    moderation.audit(session, moderator.id, comment, AUDIT_STANDING, details)
    try:
        session.flush()
    except IntegrityError as error:  # a colleague gave the same new author a standing just now
        session.rollback()
        raise ConflictError("The author's standing changed meanwhile; try again.") from error
    return author_of(session, moderator.site_id, comment_id)


def reject_held(
    session: Session, moderator: Moderator, comment_id: str, *, reason: str | None = None
) -> list[Recorded]:
    """Reject the author's held comments on the site (up to ``moderation.MAX_BULK``), each
    decided and audited as a moderator's bulk decision, plus one entry for the whole act."""
    comment = moderation.get_site_comment(session, moderator.site_id, comment_id)
    who = _identity_or_fail(comment)
    column = Comment.author_email_hash if who.known_by == "email" else Comment.author_ip
    ids = list(
        session.scalars(
            select(Comment.id)
            .where(
                Comment.site_id == moderator.site_id,
                column == who.key,
                Comment.status == "held",
            )
            .order_by(Comment.received_at)
            .limit(moderation.MAX_BULK)
        )
    )
    recorded = (
        moderation.decide_many(
            session, moderator, ids, "reject", reason=reason, expected_status="held"
        )
        if ids
        else []
    )
    details = {"known_by": who.known_by, "rejected": ids, "reason": reason}
    moderation.audit(session, moderator.id, comment, AUDIT_REJECT_HELD, details)
    return recorded
