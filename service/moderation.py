"""The review queue: what moderators see, and what their decisions change.

Plain functions over a session, scoped to the moderator's site: a moderator's token belongs to one
site, and another site's comment is indistinguishable from a missing one. Nothing here commits;
the caller commits once, then enqueues the webhook deliveries returned.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, cast, delete, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from service.decisions.pipeline import Recorded, prepare_decision, record_decision
from service.errors import ConflictError, NotFoundError, ValidationError
from service.feedback import label_rows
from service.models import (
    AuditEntry,
    Comment,
    CommentRevision,
    Decision,
    LabeledExample,
    Moderator,
)

STATUSES = ("pending", "approved", "held", "rejected")
SORTS = ("oldest", "newest", "spam", "toxicity")
# hold sends a decided comment back to the queue (WordPress's "unapprove"); it teaches nothing
ACTIONS = ("approve", "reject", "hold")
LABELS = ("spam", "ham", "toxic", "ok")
MAX_BULK = 500
MAX_PAGE = 200
HISTORY_LIMIT = 20
AUDIT_DECISION = "comment.decide"
TERM_REASONS = ("model_terms", "blocked_term", "suspect_term")
REASON_CODE = re.compile(r"[a-z_]{1,40}")


@dataclass(frozen=True)
class QueueFilter:
    """What a moderator asks the queue for; every field is optional but ``status``."""

    status: str = "held"
    spam_min: float | None = None
    spam_max: float | None = None
    toxicity_min: float | None = None
    toxicity_max: float | None = None
    q: str | None = None
    author: str | None = None
    post: str | None = None
    reason: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    sort: str = "oldest"
    limit: int = 50
    cursor: str | None = None


@dataclass(frozen=True)
class Page:
    items: list[Comment]
    next: str | None


# --- cursors -------------------------------------------------------------------------------


def encode_cursor(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str) -> dict[str, Any]:
    """The position a cursor encodes; a forged or foreign cursor is a validation error."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValidationError("The cursor is not valid.") from exc
    if not isinstance(data, dict) or data.get("s") != kind or "i" not in data:
        raise ValidationError("The cursor belongs to another listing or sort order.")
    return data


# --- the queue -----------------------------------------------------------------------------


def score_of(task: str) -> ColumnElement[float]:
    """A score from the JSON ``scores`` column as a number, on SQLite and PostgreSQL alike."""
    return Comment.scores[task].as_float()


def _sort_key(sort: str) -> InstrumentedAttribute[Any]:
    """The column a sort orders by; each leads an index with the site and status."""
    if sort in ("oldest", "newest"):
        return Comment.received_at
    return Comment.spam_rank if sort == "spam" else Comment.toxicity_rank


def _key_value(comment: Comment, sort: str) -> Any:
    if sort in ("oldest", "newest"):
        return comment.received_at.isoformat()
    # the database's own value, as the keyset comparison will see it
    return float(getattr(comment, f"{sort}_rank"))


def _after(sort: str, cursor: str) -> ColumnElement[bool]:
    """Keyset condition: strictly after the cursor's (key, id), so inserts never shift pages."""
    data = decode_cursor(cursor, sort)
    try:
        value: Any = (
            datetime.fromisoformat(data["v"]) if sort in ("oldest", "newest") else float(data["v"])
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError("The cursor is not valid.") from exc
    key, last_id = _sort_key(sort), str(data["i"])
    if sort == "oldest":
        return or_(key > value, and_(key == value, Comment.id > last_id))
    return or_(key < value, and_(key == value, Comment.id < last_id))


def _filters(site_id: str, f: QueueFilter) -> list[ColumnElement[bool]]:
    if f.status not in STATUSES:
        raise ValidationError(f"Status must be one of {', '.join(STATUSES)}.")
    where = [Comment.site_id == site_id, Comment.status == f.status]
    for task, low, high in (
        ("spam", f.spam_min, f.spam_max),
        ("toxicity", f.toxicity_min, f.toxicity_max),
    ):
        if low is not None:
            where.append(score_of(task) >= low)
        if high is not None:
            where.append(score_of(task) <= high)
    if f.q:
        where.append(
            or_(
                Comment.content.icontains(f.q, autoescape=True),
                Comment.author_name.icontains(f.q, autoescape=True),
                Comment.external_id == f.q,
            )
        )
    if f.author:
        where.append(func.lower(Comment.author_name) == f.author.strip().lower())
    if f.post:
        where.append(Comment.post_id == f.post)
    if f.reason:
        where.append(has_reason(f.reason))
    if f.since is not None:
        where.append(Comment.received_at >= f.since)
    if f.until is not None:
        where.append(Comment.received_at < f.until)
    return where


def has_reason(code: str) -> ColumnElement[bool]:
    """Whether one of the comment's reasons has this code. Both back ends write the JSON with
    ``": "`` between a key and its value, so the text form is searched alike on each."""
    if not REASON_CODE.fullmatch(code):
        raise ValidationError("A reason code is lower-case letters and underscores.")
    return cast(Comment.reasons, Text).contains(f'"code": "{code}"', autoescape=True)


def queue(session: Session, site_id: str, f: QueueFilter) -> Page:
    """One page of a site's comments, filtered and sorted, with the cursor of the next page."""
    if f.sort not in SORTS:
        raise ValidationError(f"Sort must be one of {', '.join(SORTS)}.")
    limit = max(1, min(f.limit, max(MAX_PAGE, MAX_BULK)))
    where = _filters(site_id, f)
    if f.cursor:
        where.append(_after(f.sort, f.cursor))
    key = _sort_key(f.sort)
    order = (key.asc(), Comment.id.asc()) if f.sort == "oldest" else (key.desc(), Comment.id.desc())
    rows = list(session.scalars(select(Comment).where(*where).order_by(*order).limit(limit + 1)))
    items, more = rows[:limit], len(rows) > limit
    cursor = None
    if more:
        last = items[-1]
        cursor = encode_cursor({"s": f.sort, "v": _key_value(last, f.sort), "i": last.id})
    return Page(items, cursor)


def matching(session: Session, site_id: str, f: QueueFilter) -> tuple[list[str], int]:
    """The ids of the first ``MAX_BULK`` comments the filter matches, in its order, and how many
    it matches in all: "select all N matching" decides up to ``MAX_BULK`` at a time."""
    page = queue(session, site_id, replace(f, cursor=None, limit=MAX_BULK))
    return [c.id for c in page.items], count_matching(session, site_id, f)


def count_matching(session: Session, site_id: str, f: QueueFilter) -> int:
    query = select(func.count()).select_from(Comment).where(*_filters(site_id, f))
    return int(session.scalar(query) or 0)


def cursor_after(comment: Comment, sort: str) -> str:
    """The cursor of the queue's comments after this one in ``sort`` order."""
    return encode_cursor({"s": sort, "v": _key_value(comment, sort), "i": comment.id})


def next_in_queue(session: Session, site_id: str, f: QueueFilter, after: Comment) -> Comment | None:
    """The comment that follows ``after`` in the queue ``f`` describes (for "next" on a comment's
    own page), whether or not ``after`` itself still matches it."""
    page = queue(session, site_id, replace(f, cursor=cursor_after(after, f.sort), limit=1))
    return page.items[0] if page.items else None


def status_counts(session: Session, site_id: str) -> dict[str, int]:
    query = select(Comment.status, func.count()).where(Comment.site_id == site_id)
    rows = session.execute(query.group_by(Comment.status)).all()
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({status: count for status, count in rows})
    return counts


# --- one comment ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthorHistory:
    """The author's other comments on the site, found by e-mail hash, else by IP address."""

    matched_by: str | None
    counts: dict[str, int] = field(default_factory=dict)
    comments: list[Comment] = field(default_factory=list)


@dataclass(frozen=True)
class HistoryEntry:
    decision: Decision
    moderator_email: str | None


@dataclass(frozen=True)
class CommentDetail:
    comment: Comment
    terms: dict[str, list[str]]
    author: AuthorHistory
    decisions: list[HistoryEntry]
    revisions: list[CommentRevision]  # the earlier texts of an edited comment, oldest first


def get_site_comment(session: Session, site_id: str, comment_id: str) -> Comment:
    comment = session.get(Comment, comment_id)
    if comment is None or comment.site_id != site_id:
        raise NotFoundError("Comment not found.")
    return comment


def reason_terms(reasons: Sequence[Any] | None) -> dict[str, list[str]]:
    """Terms that drove the decision, by source: ``spam``/``toxicity`` (the model) or the rule."""
    found: dict[str, list[str]] = {}
    for reason in reasons or []:
        if not isinstance(reason, dict) or reason.get("code") not in TERM_REASONS:
            continue
        group = str(reason.get("task") or reason["code"])
        terms = reason.get("terms") or ([reason["term"]] if reason.get("term") else [])
        bucket = found.setdefault(group, [])
        bucket.extend(str(t) for t in terms if isinstance(t, str) and str(t) not in bucket)
    return found


@dataclass(frozen=True)
class DecidedBy:
    """The moderator behind a comment's latest decision (their e-mail) and the label they gave."""

    moderator: str | None
    label: str | None


def deciders(session: Session, comments: Sequence[Comment]) -> dict[str, DecidedBy]:
    """For each comment a moderator decided last: who, and with which label. The moderator's
    reason comes first in the comment's reasons and names them, so one query serves a page."""
    own = {
        c.id: c.reasons[0]
        for c in comments
        if c.decided_by == "moderator"
        and c.reasons
        and isinstance(c.reasons[0], dict)
        and c.reasons[0].get("code") == "moderator"
    }
    ids = {str(r.get("moderator_id")) for r in own.values() if r.get("moderator_id")}
    emails = dict(
        session.execute(select(Moderator.id, Moderator.email).where(Moderator.id.in_(ids))).all()
        if ids
        else []
    )
    return {
        cid: DecidedBy(
            emails.get(str(r.get("moderator_id"))) or r.get("platform_moderator"), r.get("label")
        )
        for cid, r in own.items()
    }


def author_history(session: Session, comment: Comment) -> AuthorHistory:
    if comment.author_email_hash:
        matched_by, same = "email", Comment.author_email_hash == comment.author_email_hash
    elif comment.author_ip:
        matched_by, same = "ip", Comment.author_ip == comment.author_ip
    else:
        return AuthorHistory(None)
    where = (Comment.site_id == comment.site_id, same, Comment.id != comment.id)
    counts = dict.fromkeys(STATUSES, 0)
    for status, count in session.execute(
        select(Comment.status, func.count()).where(*where).group_by(Comment.status)
    ):
        counts[status] = count
    recent = session.scalars(
        select(Comment)
        .where(*where)
        .order_by(Comment.received_at.desc(), Comment.id.desc())
        .limit(HISTORY_LIMIT)
    )
    return AuthorHistory(matched_by, counts, list(recent))


def comment_detail(session: Session, site_id: str, comment_id: str) -> CommentDetail:
    comment = get_site_comment(session, site_id, comment_id)
    rows = session.execute(
        select(Decision, Moderator.email)
        .outerjoin(Moderator, Moderator.id == Decision.moderator_id)
        .where(Decision.comment_id == comment.id)
        .order_by(Decision.decided_at, Decision.id)
    ).all()
    return CommentDetail(
        comment=comment,
        terms=reason_terms(comment.reasons),
        author=author_history(session, comment),
        decisions=[HistoryEntry(decision, email) for decision, email in rows],
        revisions=list(
            session.scalars(
                select(CommentRevision)
                .where(CommentRevision.comment_id == comment.id)
                .order_by(CommentRevision.number)
            )
        ),
    )


# --- decisions -----------------------------------------------------------------------------


def _check_choice(action: str, label: str | None) -> None:
    if action not in ACTIONS:
        raise ValidationError(f"Action must be one of {', '.join(ACTIONS)}.")
    if label is not None and label not in LABELS:
        raise ValidationError(f"Label must be one of {', '.join(LABELS)}.")
    if label is not None and action == "hold":
        raise ValidationError("A comment sent back to the queue takes no label.")


def _moderator_reasons(
    comment: Comment, who: dict[str, Any], action: str, reason: str | None, label: str | None
) -> list[dict[str, Any]]:
    """The moderator's reason first, then the model's and rules' reasons, which still hold."""
    own: dict[str, Any] = {
        "code": "moderator",
        "message": reason or f"A moderator chose to {action} the comment.",
        **who,
    }
    if label:
        own["label"] = label
    kept = [r for r in comment.reasons or [] if isinstance(r, dict)]
    return [own, *(r for r in kept if r.get("code") != "moderator")]


def current_decision(session: Session, comment: Comment) -> dict[str, Any]:
    """What a comment's status is now and who set it, for a moderator whose view was stale."""
    latest = comment.decisions[-1] if comment.decisions else None
    by = None
    if latest is not None and latest.moderator_id:
        moderator = session.get(Moderator, latest.moderator_id)
        by = moderator.email if moderator is not None else None
    return {
        "comment_id": comment.id,
        "status": comment.status,
        "action": latest.action if latest is not None else None,
        "decided_by": comment.decided_by,
        "moderator": by,
        "decided_at": comment.decided_at.isoformat() if comment.decided_at else None,
    }


def _check_expected(session: Session, comment: Comment, expected: str | None) -> None:
    """A decision made on a stale view (a colleague decided meanwhile) changes nothing."""
    if expected is None or expected == comment.status:
        return
    current = current_decision(session, comment)
    who = f" by {current['moderator']}" if current["moderator"] else ""
    when = f" at {current['decided_at']}" if current["decided_at"] else ""
    raise ConflictError(
        f"The comment is already {comment.status}{who}{when}, not {expected}; decide again "
        "(without expected_status) to override.",
        {"current": current},
    )


@dataclass(frozen=True)
class Decider:
    """Who decides: a CommentGate moderator (``moderator_id``), or a moderator on the site's own
    platform, known to CommentGate only by the name the platform sends (``platform_moderator``)."""

    moderator_id: str | None = None
    platform_moderator: str | None = None

    def reason_fields(self) -> dict[str, Any]:
        if self.moderator_id is not None:
            return {"moderator_id": self.moderator_id}
        return {"platform": True, "platform_moderator": self.platform_moderator}


def _decide_one(
    session: Session,
    decider: Decider,
    comment: Comment,
    action: str,
    reason: str | None,
    label: str | None,
    bulk: bool,
) -> Recorded:
    previous = comment.status
    recorded = record_decision(
        session,
        prepare_decision(
            session,
            comment,
            action=action,
            scores=dict(comment.scores or {}),
            reasons=_moderator_reasons(comment, decider.reason_fields(), action, reason, label),
            model_version=comment.model_version,
            decided_by="moderator",
            moderator_id=decider.moderator_id,
            note=reason,
            expect_status=previous,
        ),
    )
    if recorded is None:
        raise ConflictError("The comment changed meanwhile; reload it and decide again.")
    keep_labels(session, comment, action, label)
    details: dict[str, Any] = {
        "action": action,
        "label": label,
        "reason": reason,
        "previous_status": previous,
        "status": comment.status,
        "decision_id": recorded.decision.id,
        "bulk": bulk,
    }
    if decider.moderator_id is None:
        details.update(platform=True, platform_moderator=decider.platform_moderator)
    audit(session, decider.moderator_id, comment, AUDIT_DECISION, details)
    return recorded


def audit(
    session: Session,
    moderator_id: str | None,
    comment: Comment,
    action: str,
    details: dict[str, Any],
) -> None:
    """One entry in the site's audit log for what a moderator did to a comment (no moderator
    id: a moderator of the site's own platform)."""
    session.add(
        AuditEntry(
            site_id=comment.site_id,
            moderator_id=moderator_id,
            action=action,
            comment_id=comment.id,
            details=details,
        )
    )


def keep_labels(session: Session, comment: Comment, action: str, label: str | None) -> None:
    """The latest moderator decision on a comment is its label: earlier ones are replaced."""
    session.execute(
        delete(LabeledExample).where(
            LabeledExample.comment_id == comment.id, LabeledExample.source == "moderator"
        )
    )
    for task, value in label_rows(action, label, comment.scores):
        session.add(
            LabeledExample(
                site_id=comment.site_id,
                comment_id=comment.id,
                task=task,
                label=value,
                text=comment.content,
                source="moderator",
            )
        )


def decide(
    session: Session,
    moderator: Moderator,
    comment_id: str,
    action: str,
    *,
    reason: str | None = None,
    label: str | None = None,
    expected_status: str | None = None,
) -> Recorded:
    """A moderator's decision on one of their site's comments, in any status (revisable);
    with `expected_status`, only if the comment still has the status the moderator saw."""
    _check_choice(action, label)
    comment = get_site_comment(session, moderator.site_id, comment_id)
    _check_expected(session, comment, expected_status)
    decider = Decider(moderator_id=moderator.id)
    return _decide_one(session, decider, comment, action, reason, label, bulk=False)


def decide_for_platform(
    session: Session,
    site_id: str,
    comment_id: str,
    action: str,
    *,
    moderator: str | None = None,
    reason: str | None = None,
    label: str | None = None,
    expected_status: str | None = None,
) -> Recorded:
    """A decision a moderator made in the platform's own admin (WordPress's comment list), sent
    with the site's API key: recorded, labeled and audited as a CommentGate moderator's, so both
    queues agree and the label trains the next model."""
    _check_choice(action, label)
    comment = get_site_comment(session, site_id, comment_id)
    _check_expected(session, comment, expected_status)
    decider = Decider(platform_moderator=moderator)
    return _decide_one(session, decider, comment, action, reason, label, bulk=False)


def decide_many(
    session: Session,
    moderator: Moderator,
    comment_ids: Sequence[str],
    action: str,
    *,
    reason: str | None = None,
    label: str | None = None,
    expected_status: str | None = None,
) -> list[Recorded]:
    """All or nothing: one unknown or foreign id, or (with `expected_status`) one comment whose
    status changed since the moderator saw it, fails the whole batch before anything changes."""
    _check_choice(action, label)
    ids = list(dict.fromkeys(comment_ids))
    if not ids or len(ids) > MAX_BULK:
        raise ValidationError(f"Send between 1 and {MAX_BULK} comment ids.")
    found = {
        c.id: c
        for c in session.scalars(
            select(Comment).where(Comment.id.in_(ids), Comment.site_id == moderator.site_id)
        )
    }
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFoundError(
            f"{len(missing)} of the comments were not found; nothing was decided.",
            {"missing": missing},
        )
    _check_expected_all(session, [found[i] for i in ids], expected_status)
    decider = Decider(moderator_id=moderator.id)
    return [_decide_one(session, decider, found[i], action, reason, label, bulk=True) for i in ids]


def _check_expected_all(
    session: Session, comments: Sequence[Comment], expected: str | None
) -> None:
    changed = [c for c in comments if expected is not None and c.status != expected]
    if changed:
        raise ConflictError(
            f"{len(changed)} of the comments are no longer {expected}; nothing was decided.",
            {"current": [current_decision(session, c) for c in changed]},
        )


# --- the audit log -------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditPage:
    items: list[tuple[AuditEntry, str | None]]
    next: str | None


def audit_log(
    session: Session,
    site_id: str,
    *,
    comment_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> AuditPage:
    """A site's audit entries, newest first, with the moderator's e-mail."""
    limit = max(1, min(limit, MAX_PAGE))
    query = (
        select(AuditEntry, Moderator.email)
        .outerjoin(Moderator, Moderator.id == AuditEntry.moderator_id)
        .where(AuditEntry.site_id == site_id)
    )
    if comment_id:
        query = query.where(AuditEntry.comment_id == comment_id)
    if cursor:
        position = decode_cursor(cursor, "audit")["i"]
        if not isinstance(position, int):
            raise ValidationError("The cursor is not valid.")
        query = query.where(AuditEntry.id < position)
    rows = session.execute(query.order_by(AuditEntry.id.desc()).limit(limit + 1)).all()
    items: list[tuple[AuditEntry, str | None]] = [(entry, email) for entry, email in rows[:limit]]
    next_cursor = encode_cursor({"s": "audit", "i": items[-1][0].id}) if len(rows) > limit else None
    return AuditPage(items, next_cursor)
