"""Edited comments: the earlier text is kept as a revision, and the new one is decided again.

Spam added to a comment after it was approved is a known pattern, so an edit puts the comment
back to ``pending`` and through the same decision path as a new one. What a re-decision may
change depends on who made the decision before it (``after_edit``):

- the model or a rule: the new text's verdict stands, whatever it is;
- a moderator's approval: it covers the text the moderator read. The new text is approved if
  the policy approves it; otherwise it is held for a moderator (never rejected unseen);
- a moderator's rejection: it stands. An edit does not let a rejected comment back in.

A new ``comment.decided`` event goes out only when the action changes (``settle``): the
platform already acts on the one it has.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from service.decisions.floods import fingerprint
from service.decisions.policy import Verdict
from service.models import Comment, CommentBand, CommentRevision

EDITED_AFTER_APPROVAL = "edited_after_approval"
REJECTED_BEFORE_EDIT = "rejected_before_edit"


def revise(session: Session, comment: Comment, content: str, now: datetime) -> bool:
    """Keep the current text as a revision and make ``content`` the comment's text, pending a
    new decision; False (and nothing changes) when the text is the same.

    The comment's decision columns keep the previous decision until the new one is recorded:
    the decider compares the two (``settle``). Its near-duplicate bands are those of the old
    text, so they go; the re-decision stores the new text's."""
    session.refresh(comment, with_for_update=True)  # concurrent edits number in turn
    if content == comment.content:
        return False
    session.add(
        CommentRevision(
            comment_id=comment.id,
            number=comment.revisions + 1,
            content=comment.content,
            received_at=comment.edited_at or comment.received_at,
            replaced_at=now,
        )
    )
    session.execute(delete(CommentBand).where(CommentBand.comment_id == comment.id))
    comment.content = content
    comment.fingerprint = fingerprint(content)
    comment.revisions = comment.revisions + 1
    comment.edited_at = now
    comment.enqueued_at = now
    comment.decide_failures = 0
    comment.status = "pending"
    session.flush()
    return True


def is_redecision(comment: Comment) -> bool:
    """A pending comment that already had a decision: it was edited since."""
    return comment.status == "pending" and comment.action is not None


def after_edit(previous_action: str | None, previous_by: str | None, verdict: Verdict) -> Verdict:
    """The verdict on an edited text, given the decision on the text before it (module doc)."""
    if previous_by != "moderator" or previous_action is None:
        return verdict
    if previous_action == "reject":
        reason = {
            "code": REJECTED_BEFORE_EDIT,
            "message": "A moderator rejected this comment before it was edited; it stays rejected.",
            "action": "reject",
        }
        return Verdict("reject", "rule", [reason, *verdict.reasons])
    if previous_action == "approve" and verdict.action != "approve":
        reason = {
            "code": EDITED_AFTER_APPROVAL,
            "message": "A moderator approved the earlier text; the edited text would be "
            f"{'rejected' if verdict.action == 'reject' else 'held'}, so a moderator looks again.",
            "action": "hold",
            "would_be": verdict.action,
        }
        return Verdict("hold", "rule", [reason, *verdict.reasons])
    return verdict


def settle(comment: Comment, verdict: Verdict) -> tuple[Verdict, bool]:
    """The verdict to record on a pending comment, and whether its decision goes out by webhook:
    a first decision always does; a re-decision after an edit only when its action changed."""
    if not is_redecision(comment):
        return verdict, True
    settled = after_edit(comment.action, comment.decided_by, verdict)
    return settled, settled.action != comment.action
