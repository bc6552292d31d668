"""Synchronous decisions for the Akismet- and Perspective-compatible endpoints.

These callers want the answer in the HTTP response, so one comment is scored in-process, but with
the same pieces as the queue path: ``comment_row``/``insert_comment`` to store it once,
``score_facts_safely`` for the model (a comment it fails on is held), ``verdict_for`` for the
policy and ``record_verdict`` (without a webhook) to keep the decision. Their feedback calls
(Akismet's ``submit-spam``/``submit-ham``, Perspective's ``suggestscore``) become labeled
examples, like moderator decisions.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import MAXYEAR, UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached

from service.comments import comment_row, insert_comment
from service.decisions import policy
from service.decisions.edits import revise, settle
from service.decisions.pipeline import (
    Scorer,
    facts_of,
    record_verdict,
    score_facts_safely,
    verdict_for,
)
from service.models import Comment, LabeledExample, Site, label_subject, utcnow
from service.security import hash_identifier

# Holding for these reasons makes the Akismet answer "spam": they mean "probably spam", or, for
# ``model_error``, that the model could not score the comment, which should then wait in the
# client's spam folder for a person instead of being published unread. Holding only for toxicity
# or a suspect term does not, so the client hears "false" and the comment waits in our queue.
SPAM_HOLD_CODES = frozenset(
    {"spam_score", "too_many_links", "repeat_post", "honeypot", "too_fast", "model_error"}
)
# Only these, alone, make a rejection certain enough for Akismet's "discard" (the platform then
# deletes the comment unseen): a toxic comment, a blocked term or a flood may be a person's, who
# should be able to find it in the spam folder.
CERTAIN_SPAM_CODES = frozenset({"spam_score", "honeypot"})
DEFAULT_LANGUAGES = ("en",)
LABEL_IDENTITY = ("site_id", "task", "source", "subject")


@dataclass(frozen=True)
class Checked:
    """What the model and the site's policy said about one comment, and where it is kept."""

    verdict: policy.Verdict
    output: policy.ModelOutput
    comment_id: str | None = None
    created: bool = False
    discard_allowed: bool = False
    trial: bool = False  # the site is in trial mode: the decision is kept, not acted on

    @property
    def scores(self) -> Mapping[str, float]:
        return self.output.scores

    @property
    def answer(self) -> str:
        if self.trial:
            return "ham"
        return spam_answer(
            self.verdict.action, self.verdict.reasons, discard_allowed=self.discard_allowed
        )


def spam_answer(
    action: str, reasons: Iterable[Mapping[str, Any]], *, discard_allowed: bool = False
) -> str:
    """Akismet's three answers: ``discard`` (certain spam, where the site allows it), ``spam``
    (any other rejection, or a hold for a spam reason) or ``ham``."""
    reasons = list(reasons)
    if action == "reject":
        return "discard" if discard_allowed and _certain_spam(reasons) else "spam"
    if action == "hold" and any(
        r.get("code") in SPAM_HOLD_CODES and r.get("action", "hold") != "approve" for r in reasons
    ):
        return "spam"
    return "ham"


def _certain_spam(reasons: Sequence[Mapping[str, Any]]) -> bool:
    """Only certain-spam reasons reject the comment, and no score but spam's moved it (a toxic
    comment is never deleted unseen, whatever else it is)."""
    rejecting = {r.get("code") for r in reasons if r.get("action") == "reject"}
    other_scores = any(
        str(r.get("code", "")).endswith("_score")
        and r.get("code") != "spam_score"
        and r.get("action") in ("hold", "reject")
        for r in reasons
    )
    return bool(rejecting) and rejecting <= CERTAIN_SPAM_CODES and not other_scores


def trusted(verdict: policy.Verdict, role: str) -> policy.Verdict:
    """A trusted author (Akismet's ``user_role=administrator``) is approved; reasons are kept."""
    if verdict.action == "approve":
        return verdict
    reason = {
        "code": "user_role",
        "message": f"Comments by the site's {role} role are never spam.",
        "role": role,
        "action": "approve",
    }
    return policy.Verdict("approve", "rule", [reason, *verdict.reasons])


def check_comment(
    session: Session,
    site: Site,
    model: Scorer,
    data: Mapping[str, Any],
    *,
    source: str,
    store: bool,
    identifier_key: bytes,
    hash_pii: bool = False,
    trusted_role: str | None = None,
    existing: Comment | None = None,
    edited: bool = False,
) -> Checked:
    """Score and decide one comment now; store it and its decision unless ``store`` is false.

    ``data`` has the shape ``comment_row`` takes (``external_id``, ``content``, ``post``,
    ``author``, ...). Sent again with the same ``external_id``, the stored comment is reused: no
    duplicate and no second decision, and a moderator's decision on it wins over the model.
    A hidden field the client names per request (``metadata["honeypot_field_name"]``) is checked
    by the shared policy; an author with ``trusted_role`` is approved whatever the scores.
    ``existing`` is the stored comment a re-check is about (found by the caller); ``edited`` says
    its text was edited: the new one is kept as a revision (``service.decisions.edits``) and decided
    again. A site in trial mode is answered as if nothing were wrong (``Checked.answer``). The
    caller commits.
    """
    submitted = {**data, "source": source}
    comment_id: str | None
    row = comment_row(site, submitted, identifier_key=identifier_key, hash_pii=hash_pii)
    if existing is not None:
        comment, comment_id, created = existing, existing.id, False
        if edited:
            revise(session, comment, row["content"], utcnow())
    else:
        comment_id, created = insert_comment(session, row) if store else (None, False)
        if created:
            comment = _as_stored(session, row)
        elif comment_id:
            comment = session.get_one(Comment, comment_id)
        else:
            comment = Comment(**row)  # not stored: transient, never added to the session
    output = score_facts_safely(model, [facts_of(comment)])[0]
    verdict = verdict_for(session, site, comment, output)
    if trusted_role:
        verdict = trusted(verdict, trusted_role)
    site_policy = site.policy or {}
    discard = bool(policy.resolve(site_policy)["akismet_discard"])
    trial = policy.is_trial(site_policy)
    if comment_id is None:
        return Checked(verdict, output, discard_allowed=discard, trial=trial)
    if comment.status == "pending":
        verdict, _ = settle(comment, verdict)
        record_verdict(session, comment, verdict, output, notify=False)
    elif comment.decided_by == "moderator" and comment.action:
        verdict = policy.Verdict(comment.action, "moderator", list(comment.reasons or []))
    return Checked(verdict, output, comment_id, created, discard, trial)


def _as_stored(session: Session, row: dict[str, Any]) -> Comment:
    """The row just inserted, in the session as if loaded: no query to read it back."""
    unset = {a.key: None for a in Comment.__mapper__.column_attrs if a.key not in row}
    comment = Comment(**row, **unset)
    make_transient_to_detached(comment)
    session.add(comment)
    return comment


def score_texts(model: Scorer, texts: Sequence[str]) -> list[Mapping[str, float]]:
    """Scores of several texts in one model call (Perspective's per-sentence span scores); a
    text the model could not score gets no scores."""
    facts = [policy.Facts(content=t) for t in texts]
    return [o.scores for o in score_facts_safely(model, facts)]


def model_outputs(model: Scorer) -> frozenset[str]:
    """The score names the model produces (``spam``, ``toxicity``, ``insult``, ...)."""
    outputs = getattr(model, "outputs", None)
    if outputs:
        return frozenset(outputs)
    return _probed_outputs(model)


@lru_cache(maxsize=4)
def _probed_outputs(model: Scorer) -> frozenset[str]:
    return frozenset(score_texts(model, [""])[0])


def model_languages(model: Scorer) -> tuple[str, ...]:
    """Languages the model was trained for, from its metadata; English if it does not say."""
    metadata = getattr(model, "metadata", None) or {}
    languages = metadata.get("languages") if isinstance(metadata, Mapping) else None
    return tuple(str(x).lower() for x in languages) if languages else DEFAULT_LANGUAGES


def stable_id(prefix: str, *parts: str | None) -> str:
    """An external id derived from what identifies a comment, so a re-check finds it again."""
    digest = hashlib.sha256("\x1f".join(p or "" for p in parts).encode("utf-8")).hexdigest()
    return f"{prefix}{digest[:40]}"


def random_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex}"


def find_comment(
    session: Session,
    site: Site,
    *,
    guid: str | None = None,
    external_id: str | None = None,
    content: str | None = None,
    source: str | None = None,
) -> Comment | None:
    """The site's comment by our id (Akismet's guid), its external id, or, last, identical text."""
    if guid:
        comment = session.get(Comment, guid[:32])
        if comment is not None and comment.site_id == site.id:
            return comment
    if external_id:
        comment = session.scalar(
            select(Comment).where(Comment.site_id == site.id, Comment.external_id == external_id)
        )
        if comment is not None:
            return comment
    if content and source:
        return session.scalar(
            select(Comment)
            .where(Comment.site_id == site.id, Comment.source == source, Comment.content == content)
            .order_by(Comment.received_at.desc())
            .limit(1)
        )
    return None


def latest_by_author(
    session: Session,
    site: Site,
    *,
    source: str,
    post_url: str | None,
    email: str | None,
    name: str | None,
    identifier_key: bytes,
) -> Comment | None:
    """The author's latest comment on a post (by e-mail, else by name): what an edited
    comment's re-check is about when its changed text no longer identifies it."""
    if email:
        author = Comment.author_email_hash == hash_identifier(email, identifier_key)
    elif name:
        author = Comment.author_name == name
    else:
        return None
    return session.scalar(
        select(Comment)
        .where(Comment.site_id == site.id, Comment.source == source, author)
        .where(Comment.post_url == post_url if post_url else Comment.post_url.is_(None))
        .order_by(Comment.received_at.desc())
        .limit(1)
    )


def record_label(
    session: Session,
    site: Site,
    *,
    task: str,
    label: int,
    text: str,
    source: str,
    comment: Comment | None = None,
) -> None:
    """Keep a label to train on: the site's later label from the same source on the same comment
    (or, with none known, the same text) replaces it; other sites' labels are their own."""
    comment_id = comment.id if comment is not None else None
    dialect = session.connection().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(LabeledExample).values(
        site_id=site.id,
        comment_id=comment_id,
        subject=label_subject(comment_id, text),
        task=task,
        source=source,
        label=label,
        text=text,
        created_at=utcnow(),
    )
    replaced = {name: statement.excluded[name] for name in ("label", "text", "created_at")}
    session.execute(statement.on_conflict_do_update(index_elements=LABEL_IDENTITY, set_=replaced))


def month_start(month: str | None = None) -> datetime:
    """The first instant of ``YYYY-MM`` (default: the current month), in UTC."""
    if month:
        return datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    now = datetime.now(UTC)
    return datetime(now.year, now.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    """The first instant of the following month; the end of time after December 9999."""
    if start.year == MAXYEAR and start.month == 12:
        return datetime.max.replace(tzinfo=UTC)
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


@dataclass(frozen=True)
class Activity:
    """A site's Akismet-compatible traffic in one month."""

    calls: int
    spam: int
    missed_spam: int
    false_positives: int
    blog: str | None

    @property
    def ham(self) -> int:
        return self.calls - self.spam


def usage(session: Session, site: Site, source: str, since: datetime) -> int:
    return session.execute(
        select(func.count())
        .select_from(Comment)
        .where(Comment.site_id == site.id, Comment.source == source, Comment.received_at >= since)
    ).scalar_one()


def activity(session: Session, site: Site, source: str, start: datetime) -> Activity:
    """Counts for Akismet's key-sites report (one month), from stored comments and labels."""
    return activity_between(session, site, source, start, next_month(start))


def activity_between(
    session: Session, site: Site, source: str, start: datetime, end: datetime
) -> Activity:
    """Counts of a site's Akismet-compatible traffic received in ``[start, end)``."""
    in_month = (
        Comment.site_id == site.id,
        Comment.source == source,
        Comment.received_at >= start,
        Comment.received_at < end,
    )
    calls = session.scalar(select(func.count()).select_from(Comment).where(*in_month)) or 0
    spam = 0
    for action, reasons in session.execute(
        select(Comment.action, Comment.reasons).where(*in_month, Comment.action != "approve")
    ):
        spam += spam_answer(action, reasons or []) != "ham"
    labels = dict(
        session.execute(
            select(LabeledExample.label, func.count())
            .where(
                LabeledExample.site_id == site.id,
                LabeledExample.source == source,
                LabeledExample.task == "spam",
                LabeledExample.created_at >= start,
                LabeledExample.created_at < end,
            )
            .group_by(LabeledExample.label)
        ).all()
    )
    latest = session.scalar(
        select(Comment.extra).where(*in_month).order_by(Comment.received_at.desc()).limit(1)
    )
    return Activity(calls, spam, labels.get(1, 0), labels.get(0, 0), _blog(latest, source))


def _blog(metadata: Any, source: str) -> str | None:
    """The ``blog`` a client sent with a comment, if its metadata holds one."""
    kept = metadata.get(source) if isinstance(metadata, Mapping) else None
    blog = kept.get("blog") if isinstance(kept, Mapping) else None
    return blog if isinstance(blog, str) else None
