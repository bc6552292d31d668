"""What CommentGate decided for a site, and how that agrees with the labels the platform sent
back: the evidence a site in trial mode looks at before it lets CommentGate act.

The decision counted for a comment is CommentGate's own, the latest by the model or a rule
(after an edit, the decision on the current text); a moderator's is a label, not a decision.
Labels are the site's feedback: Akismet's submit-spam/submit-ham, moderator decisions,
Perspective suggestions. For each comment and task the latest label counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.decisions import policy
from service.models import Comment, Decision, LabeledExample, Site
from service.webhooks import isoformat

ACTIONS = ("approve", "hold", "reject")
# What a label of 1 and of 0 is called, per task; other tasks say "bad" and "good".
LABEL_NAMES = {"spam": ("spam", "ham"), "toxicity": ("toxic", "ok")}


@dataclass(frozen=True)
class Decided:
    """A comment's latest automatic decision."""

    comment_id: str
    action: str
    reasons: Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Label:
    comment_id: str
    task: str
    label: int


def summarize(decided: Iterable[Decided], labels: Iterable[Label]) -> dict[str, Any]:
    """Counts by action and by reason code (each code once per comment), and per task a
    confusion table of the action against the label, with the share that agrees: a bad comment
    not approved, a good one approved."""
    decided = list(decided)
    by_action = Counter({action: 0 for action in ACTIONS})
    by_reason: Counter[str] = Counter()
    action_of = {}
    for item in decided:
        by_action[item.action] += 1
        by_reason.update({str(r.get("code")) for r in item.reasons if r.get("code")})
        action_of[item.comment_id] = item.action
    tasks: dict[str, dict[str, Any]] = {}
    for label in labels:
        action = action_of.get(label.comment_id)
        if action is None:
            continue
        bad, good = LABEL_NAMES.get(label.task, ("bad", "good"))
        task = tasks.setdefault(label.task, _empty_task(bad, good))
        name = bad if label.label else good
        task["confusion"][action][name] += 1
        task["labeled"] += 1
        task["agree"] += (action != "approve") == bool(label.label)
    for task in tasks.values():
        task["agreement"] = round(task["agree"] / task["labeled"], 4) if task["labeled"] else None
    return {
        "decided": len(decided),
        "by_action": dict(by_action),
        "by_reason": dict(sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))),
        "labels": tasks,
    }


def _empty_task(bad: str, good: str) -> dict[str, Any]:
    return {
        "labeled": 0,
        "agree": 0,
        "confusion": {action: {bad: 0, good: 0} for action in ACTIONS},
    }


def site_report(session: Session, site: Site, since: datetime | None = None) -> dict[str, Any]:
    """The report of the site's comments received since ``since`` (all of them without it)."""
    in_range = [Comment.site_id == site.id]
    if since is not None:
        in_range.append(Comment.received_at >= since)
    latest = (
        select(func.max(Decision.id).label("id"))
        .join(Comment, Comment.id == Decision.comment_id)
        .where(*in_range, Decision.decided_by != "moderator")
        .group_by(Decision.comment_id)
        .subquery()
    )
    decided = [
        Decided(row.comment_id, row.action, row.reasons or [])
        for row in session.execute(
            select(Decision.comment_id, Decision.action, Decision.reasons).join(
                latest, Decision.id == latest.c.id
            )
        )
    ]
    summary = summarize(decided, _latest_labels(session, in_range))
    pending = session.scalar(select(func.count()).where(*in_range, Comment.status == "pending"))
    return {
        "site": site.name,
        "mode": policy.resolve(site.policy or {})["mode"],
        "since": isoformat(since),
        "comments": session.scalar(select(func.count()).where(*in_range)) or 0,
        "pending": pending or 0,
        **summary,
    }


def _latest_labels(session: Session, in_range: list[Any]) -> list[Label]:
    """Each labeled comment's latest label per task, whatever its source."""
    rows = session.execute(
        select(
            Comment.id,  # the label's comment_id (the join), never null
            LabeledExample.task,
            LabeledExample.label,
        )
        .join(Comment, Comment.id == LabeledExample.comment_id)
        .where(*in_range, LabeledExample.site_id == Comment.site_id)
        .order_by(LabeledExample.created_at, LabeledExample.id)
    )
    latest: dict[tuple[str, str], Label] = {}
    for comment_id, task, label in rows:
        latest[(comment_id, task)] = Label(comment_id, task, int(label))
    return list(latest.values())
