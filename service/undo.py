"""Taking back a moderator's decision within seconds, before the platform hears of it.

A key pressed by mistake (``r`` for ``a``) is only harmless if the platform never acts on it: the
page's decisions keep their webhook back for ``UNDO_SECONDS`` (the delivery is due then, and its
message is published with that delay). An undo in the window deletes the unsent delivery and the
decision, and puts the comment back as it was. Once an attempt has been made it is too late.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from service.db import rowcount
from service.decisions.pipeline import STATUS_OF_ACTION, Recorded
from service.errors import ConflictError, ValidationError
from service.models import (
    Comment,
    Decision,
    LabeledExample,
    Moderator,
    WebhookDelivery,
    utcnow,
)
from service.moderation import MAX_BULK, audit, get_site_comment, keep_labels

UNDO_SECONDS = 10.0
# The page offers undo for UNDO_SECONDS; a click at the last moment may arrive a little later.
GRACE_SECONDS = 2.0
AUDIT_UNDO = "comment.undo"
TOO_LATE = "Too late to undo: the site has been sent the decision."


def hold_back(recorded: Recorded) -> None:
    """Make the decision's webhook due only when the undo window closes (the sweep waits too)."""
    if recorded.delivery is not None:
        recorded.delivery.next_attempt_at = utcnow() + timedelta(seconds=UNDO_SECONDS)


def undo(session: Session, moderator: Moderator, comment_id: str, decision_id: int) -> Comment:
    """Take back the moderator's latest decision on the comment if its webhook is unsent."""
    comment = get_site_comment(session, moderator.site_id, comment_id)
    decisions = list(comment.decisions)
    latest = decisions[-1] if decisions else None
    if latest is None or latest.id != decision_id or latest.moderator_id != moderator.id:
        raise ConflictError("Only your latest decision on a comment can be undone.")
    if utcnow() - latest.decided_at > timedelta(seconds=UNDO_SECONDS + GRACE_SECONDS):
        raise ConflictError(TOO_LATE)
    table = WebhookDelivery.__table__
    unsent = rowcount(
        session.execute(
            delete(table).where(
                table.c.comment_id == comment.id,
                table.c.created_at >= latest.decided_at,
                table.c.status == "pending",
                table.c.attempts == 0,
            )
        )
    )
    sent = session.scalar(
        select(WebhookDelivery.id).where(
            WebhookDelivery.comment_id == comment.id,
            WebhookDelivery.created_at >= latest.decided_at,
        )
    )
    if not unsent or sent is not None:
        raise ConflictError(TOO_LATE)
    previous = decisions[-2] if len(decisions) > 1 else None
    undone = {"decision_id": latest.id, "action": latest.action}
    _restore(session, comment, latest, previous)
    audit(session, moderator.id, comment, AUDIT_UNDO, {**undone, "status": comment.status})
    return comment


def undo_many(
    session: Session, moderator: Moderator, decisions: Sequence[tuple[str, int]]
) -> list[Comment]:
    """Take back a bulk decision, all or nothing: (comment id, decision id) pairs."""
    if not decisions or len(decisions) > MAX_BULK:
        raise ValidationError(f"Send between 1 and {MAX_BULK} decisions to undo.")
    return [
        undo(session, moderator, comment_id, decision_id) for comment_id, decision_id in decisions
    ]


def _restore(
    session: Session, comment: Comment, undone: Decision, previous: Decision | None
) -> None:
    """The comment as the previous decision left it; the labels of the previous moderator's."""
    values = {
        "status": STATUS_OF_ACTION[previous.action] if previous else "pending",
        "action": previous.action if previous else None,
        "decided_by": previous.decided_by if previous else None,
        "decided_at": previous.decided_at if previous else None,
        "reasons": previous.reasons if previous else [],
        "scores": previous.scores if previous else comment.scores,
        "model_version": previous.model_version if previous else comment.model_version,
    }
    changed = rowcount(
        session.execute(
            update(Comment)
            .where(Comment.id == comment.id, Comment.status == comment.status)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    )
    if not changed:
        raise ConflictError("The comment changed meanwhile; reload it.")
    session.execute(delete(Decision).where(Decision.id == undone.id))
    session.expire(comment)
    session.execute(
        delete(LabeledExample).where(
            LabeledExample.comment_id == comment.id, LabeledExample.source == "moderator"
        )
    )
    if previous is not None and previous.decided_by == "moderator":
        own = (previous.reasons or [{}])[0]
        keep_labels(session, comment, previous.action, own.get("label"))
