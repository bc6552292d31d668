"""Deciding comments: score a batch, apply each site's policy, record decisions and events."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session, make_transient_to_detached, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from service import webhooks
from service.db import is_transient, session_scope
from service.decisions import edits, floods, policy, recording, standings
from service.decisions.history import histories_of, history_of
from service.decisions.policy import History
from service.metrics import series
from service.models import Comment, Decision, Site, WebhookDelivery, utcnow

STATUS_OF_ACTION = {"approve": "approved", "hold": "held", "reject": "rejected"}
MAX_DECIDE_ATTEMPTS = 3

log = logging.getLogger(__name__)


class NewEvent(NamedTuple):
    """A webhook event a decision created: its delivery, and the site it goes to."""

    delivery_id: str
    site_id: str


class Scorer(Protocol):
    """What the decision step needs of a model (``classifier.Model`` satisfies it)."""

    version: str
    thresholds: dict[str, dict[str, float]]

    def score(self, comments: Sequence[Any]) -> list[Any]: ...

    # Hashable: what a model can score is probed once and cached per model.
    def __hash__(self) -> int: ...


def facts_of(comment: Comment) -> policy.Facts:
    return policy.Facts(
        content=comment.content,
        author_name=comment.author_name,
        author_email=comment.author_email,
        author_url=comment.author_url,
        author_ip=comment.author_ip,
        language=comment.language,
        metadata=comment.extra or {},
        submitted_at=comment.created_at or comment.received_at,
    )


def score_facts(model: Scorer, facts: Sequence[policy.Facts]) -> list[policy.ModelOutput]:
    """Score a batch in one call to the model: features are computed once for all heads."""
    from classifier import CommentInput

    inputs = [
        CommentInput(
            content=f.content,
            author_name=f.author_name,
            author_email=f.author_email,
            author_url=f.author_url,
            language=f.language,
        )
        for f in facts
    ]
    started = time.perf_counter()
    scored = model.score(inputs) if inputs else []
    if inputs:
        series.observe_scoring(time.perf_counter() - started)
    outputs = []
    for scores in scored:
        outputs.append(
            policy.ModelOutput(
                scores={k: round(float(v), 6) for k, v in scores.as_dict().items()},
                terms=_Terms(scores),
                version=model.version,
                thresholds=model.thresholds,
            )
        )
    return outputs


def score_facts_safely(model: Scorer, facts: Sequence[policy.Facts]) -> list[policy.ModelOutput]:
    """`score_facts`, where a comment the model fails on does not fail its batch.

    A failing batch is scored again one comment at a time; a comment that still fails gets an
    output marked `failed`, which the policy holds for a moderator. Otherwise the batch would
    fail on every redelivery and sweep, and its other comments with it.
    """
    try:
        return score_facts(model, facts)
    except Exception:
        if len(facts) > 1:
            log.exception("scoring %d comments failed; scoring them one by one", len(facts))
            return [output for fact in facts for output in score_facts_safely(model, [fact])]
        log.exception("the model could not score a comment; it is held for a moderator")
        return [policy.ModelOutput({}, {}, model.version, model.thresholds, failed=True)]


class _Terms(Mapping[str, Sequence[str]]):
    """The model's terms per task, explained only when a reason asks for them."""

    def __init__(self, scores: Any) -> None:
        self._scores = scores

    def __getitem__(self, task: str) -> Sequence[str]:
        if task not in ("spam", "toxicity"):
            raise KeyError(task)
        try:
            terms: Sequence[str] = getattr(self._scores, f"{task}_terms")
            return terms
        except Exception:  # the score stands without its terms rather than failing the batch
            log.exception("explaining a %s score failed", task)
            return ()

    def __iter__(self) -> Iterator[str]:
        return iter(("spam", "toxicity"))

    def __len__(self) -> int:
        return 2


def decide_pending(
    sessions: sessionmaker[Session], comment_ids: Sequence[str], model: Scorer
) -> list[NewEvent]:
    """Decide those of ``comment_ids`` still pending; returns the webhook events to send.

    One transaction for the batch. If it fails, and not because of the database itself
    (``db.is_transient``: those fail the batch, whose messages come back), the batch is decided
    again one comment per transaction, so a comment the policy or the recording fails on cannot
    keep the others pending (the model step isolates its own failures: ``score_facts_safely``).
    A comment that fails alone counts a failed attempt and stays pending for the sweep; at the
    ``MAX_DECIDE_ATTEMPTS``-th it is held for a moderator (``processing_error``), its decision
    recorded and its webhook sent like any other.

    Safe to run twice for the same comment (a redelivered message, the sweep): only the
    first transaction to move a comment out of ``pending`` records a decision.
    """
    ids = list(comment_ids)
    if len(ids) > 1:
        try:
            with session_scope(sessions) as session:
                return _decide(session, ids, model)
        except Exception as error:
            if is_transient(error):
                raise
            log.exception("deciding %d comments failed; deciding them one at a time", len(ids))
    deliveries: list[NewEvent] = []
    failed: list[str] = []
    for comment_id in ids:
        try:
            with session_scope(sessions) as session:
                deliveries.extend(_decide(session, [comment_id], model))
        except Exception as error:
            if is_transient(error):
                raise
            log.exception("comment %s could not be decided", comment_id)
            failed.append(comment_id)
    for comment_id in failed:
        with session_scope(sessions) as session:
            deliveries.extend(_count_failure(session, comment_id, model))
    return deliveries


def _decide(session: Session, comment_ids: Sequence[str], model: Scorer) -> list[NewEvent]:
    comments = list(
        session.scalars(
            select(Comment).where(Comment.id.in_(list(comment_ids)), Comment.status == "pending")
        )
    )
    if not comments:
        return []
    sites = {
        s.id: s
        for s in session.scalars(select(Site).where(Site.id.in_({c.site_id for c in comments})))
    }
    outputs = score_facts_safely(model, [facts_of(c) for c in comments])
    authors = standings.standings_for(session, comments)
    resolved = {site_id: policy.resolve(site.policy or {}) for site_id, site in sites.items()}
    histories = histories_of(
        session,
        [(c, resolved[c.site_id], floods.signature(c.content)) for c in comments],
    )
    prepared = []
    for comment, output, history in zip(comments, outputs, histories, strict=True):
        site = sites[comment.site_id]
        verdict = verdict_for(session, site, comment, output, authors, history=history)
        verdict, notify = edits.settle(comment, verdict)
        prepared.append(prepare_verdict(session, comment, verdict, output, notify))
    return [
        NewEvent(recorded.delivery.id, recorded.delivery.site_id)
        for recorded in record_decisions(session, prepared)
        if recorded is not None and recorded.delivery is not None
    ]


def _count_failure(session: Session, comment_id: str, model: Scorer) -> list[NewEvent]:
    """One more failed attempt at deciding a pending comment; the last one holds it."""
    failures = session.scalar(
        update(Comment)
        .where(Comment.id == comment_id, Comment.status == "pending")
        .values(decide_failures=Comment.decide_failures + 1)
        .returning(Comment.decide_failures)
    )
    if failures is None or failures < MAX_DECIDE_ATTEMPTS:
        return []
    log.error("comment %s failed %d times; it is held for a moderator", comment_id, failures)
    comment = session.get_one(Comment, comment_id)
    output = score_facts_safely(model, [facts_of(comment)])[0]
    message = f"Deciding this comment failed {failures} times, so a moderator decides."
    reason = {
        "code": "processing_error",
        "message": message,
        "attempts": failures,
        "action": "hold",
    }
    recorded = record_decision(
        session,
        prepare_decision(
            session,
            comment,
            action="hold",
            scores=dict(output.scores),
            reasons=[reason],
            model_version=output.version,
            decided_by="rule",
            expect_status="pending",
        ),
    )
    if recorded is None or recorded.delivery is None:
        return []
    return [NewEvent(recorded.delivery.id, comment.site_id)]


def verdict_for(
    session: Session,
    site: Site,
    comment: Comment,
    output: policy.ModelOutput,
    authors: Mapping[str, policy.Standing] | None = None,
    history: History | None = None,
) -> policy.Verdict:
    """The one decision path (queue worker, synchronous endpoints, re-scoring): facts, policy.

    The author's history and earlier copies of the text come from one statement of indexed,
    bounded scans; the comment's near-duplicate bands are stored for the comments that follow.
    ``authors`` are the batch's standings by comment id (read once for a batch); without it
    the comment's own is read. A batch reads its ``history`` beforehand, too
    (``history.histories_of``).
    """
    site_policy = site.policy or {}
    if history is None:
        settings = policy.resolve(site_policy)
        history = history_of(session, comment, settings, floods.signature(comment.content))
    if authors is None:
        authors = standings.standings_for(session, [comment])
    facts = replace(facts_of(comment), history=history, standing=authors.get(comment.id))
    return policy.judge(facts, output, site_policy)


def record_verdict(
    session: Session,
    comment: Comment,
    verdict: policy.Verdict,
    output: policy.ModelOutput,
    *,
    notify: bool = True,
) -> Recorded | None:
    """Record the policy's verdict on a still-pending comment (see :func:`prepare_decision`)."""
    return record_decision(session, prepare_verdict(session, comment, verdict, output, notify))


def prepare_verdict(
    session: Session,
    comment: Comment,
    verdict: policy.Verdict,
    output: policy.ModelOutput,
    notify: bool = True,
) -> PreparedDecision:
    return prepare_decision(
        session,
        comment,
        action=verdict.action,
        scores=dict(output.scores),
        reasons=verdict.reasons,
        model_version=output.version,
        decided_by=verdict.decided_by,
        expect_status="pending",
        notify=notify,
    )


@dataclass(frozen=True)
class Recorded:
    decision: Decision
    delivery: WebhookDelivery | None


@dataclass(frozen=True)
class PreparedDecision:
    """A decision about to be written: the comment's new columns and the new rows."""

    comment: Comment
    values: dict[str, Any]
    decision: Decision
    delivery: WebhookDelivery | None
    expect_status: str | None

    def rows(self) -> recording.Rows:
        comment = self.comment
        return (
            {
                **self.values,
                "id": comment.id,
                "expect": self.expect_status,
                "revisions": comment.revisions,
            },
            {c: getattr(self.decision, c) for c in recording.DECISION_FIELDS},
            None
            if self.delivery is None
            else {c: getattr(self.delivery, c) for c in recording.DELIVERY_FIELDS},
        )


def prepare_decision(
    session: Session,
    comment: Comment,
    *,
    action: str,
    scores: dict[str, Any],
    reasons: list[dict[str, Any]],
    model_version: str | None,
    decided_by: str,
    moderator_id: str | None = None,
    note: str | None = None,
    expect_status: str | None = None,
    notify: bool = True,
) -> PreparedDecision:
    """The comment's new status, its decision and its webhook event, for :func:`record_decision`.

    With ``expect_status`` the status change is conditional, so concurrent deciders cannot
    both win, and a decision on a text edited meanwhile is not kept; the loser gets None and
    records nothing. With ``notify=False`` no webhook is created (the synchronous endpoints
    answer in the response instead); nor is one for a site in trial mode that wants none,
    and a trial site's event says ``"trial": true``.
    """
    now = utcnow()
    trial = False
    if notify:
        site = session.get(Site, comment.site_id)
        site_policy = (site.policy if site is not None else None) or {}
        notify, trial = policy.sends_webhooks(site_policy), policy.is_trial(site_policy)
    status = STATUS_OF_ACTION[action]
    values = {
        "status": status,
        "action": action,
        "decided_by": decided_by,
        "decided_at": now,
        "scores": scores,
        "reasons": reasons,
        "model_version": model_version,
    }
    decision = Decision(
        comment_id=comment.id,
        action=action,
        scores=scores,
        reasons=reasons,
        model_version=model_version,
        decided_by=decided_by,
        moderator_id=moderator_id,
        note=note,
        decided_at=now,
    )
    delivery = webhooks.new_delivery(comment, decision, status, trial=trial) if notify else None
    return PreparedDecision(comment, values, decision, delivery, expect_status)


def record_decision(session: Session, prepared: PreparedDecision) -> Recorded | None:
    """Move the comment to its new status, keep the decision, and create its webhook event
    (:func:`prepare_decision`); None when another decider won or the text was edited."""
    return record_decisions(session, [prepared])[0]


def record_decisions(
    session: Session, prepared: Sequence[PreparedDecision]
) -> list[Recorded | None]:
    """:func:`record_decision` for each, in order (on PostgreSQL in one pipeline); what was
    written goes into the session as if loaded."""
    ids = recording.write_many(session.connection(), [p.rows() for p in prepared])
    recorded: list[Recorded | None] = []
    for item, decision_id in zip(prepared, ids, strict=True):
        if decision_id is None:
            recorded.append(None)
            continue
        decision, delivery = item.decision, item.delivery
        decision.id = decision_id
        series.count_decision_on_commit(
            session, decision.action, decision.decided_by, decision.reasons
        )
        for key, value in item.values.items():
            set_committed_value(item.comment, key, value)
        _as_persistent(session, decision)
        if delivery is not None:
            _as_persistent(session, delivery)
        recorded.append(Recorded(decision, delivery))
    return recorded


def _as_persistent(session: Session, row: Decision | WebhookDelivery) -> None:
    """Put a row just written with Core into the session as if loaded: no flush, no query."""
    make_transient_to_detached(row)
    session.add(row)
