"""A site's approve thresholds as a trade-off it can choose on.

Each approve threshold lets a share of the legitimate comments through without review and, with
them, a share of the bad ones. Two curves describe that per task. The model's comes with its
metadata: measured on its held-out dev data, from public data sets. The site's own is computed
from its stored comments, the score the model gave each and the label a person gave it later:
moderator decisions (mapped to labels by ``service.feedback.label_rows`` when they are kept) and
the Akismet and Perspective feedback calls, which is how moderators label on those platforms.
Once the site has ``MIN_SITE_LEGIT`` legitimate and ``MIN_SITE_BAD`` bad labeled comments for a
task, its curve is the one a target is set from: the site's comments, not the public sets', are
what it receives. People mostly label the comments that were held, so the site's curve is
surest near the thresholds in force.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from classifier import Registry, tradeoff
from service.decisions import policy
from service.errors import ConflictError, ValidationError
from service.models import Comment, LabeledExample, Site
from service.moderation import score_of
from service.sites import set_policy

TASKS = ("spam", "toxicity")
MIN_SITE_LEGIT = 30
MIN_SITE_BAD = 10
SITE_SET = "site"


@dataclass(frozen=True)
class Curve:
    """Targets (shares of legitimate comments approved), their thresholds and what they cost."""

    source: str  # "site" or "model"
    legit: int  # the labels it rests on
    bad: int
    points: list[dict[str, Any]]
    model_version: str | None = None
    labeled: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def nearest(self, threshold: float) -> int | None:
        """The point whose threshold is closest to ``threshold``."""
        if not self.points:
            return None
        gaps = [abs(p["approve_below"] - threshold) for p in self.points]
        return gaps.index(min(gaps))

    def point_for(self, target: float) -> dict[str, Any]:
        """The point for ``target``: exact on the site's own scores; on the model's curve, the
        first point approving at least that share (its dev scores are not kept)."""
        if self.labeled is not None:
            return tradeoff({SITE_SET: self.labeled}, [target])[0]
        for point in self.points:
            if point["target"] >= target - 1e-9:
                return point
        highest = max(p["target"] for p in self.points)
        raise ValidationError(
            f"The model's curve goes up to approving {highest:g} of legitimate comments.",
            {"approve_legit": [f"Must be at most {highest:g}."]},
        )

    def as_dict(self, threshold: float) -> dict[str, Any]:
        return {
            "source": self.source,
            "model_version": self.model_version,
            "labels": {"legit": self.legit, "bad": self.bad},
            "nearest": self.nearest(threshold),
            "points": self.points,
        }


@dataclass(frozen=True)
class TaskThresholds:
    task: str
    current: dict[str, float]
    site_labels: dict[str, int]
    curves: list[Curve]  # the one a target is set from first

    @property
    def source(self) -> str | None:
        return self.curves[0].source if self.curves else None

    def as_dict(self) -> dict[str, Any]:
        threshold = self.current["approve_below"]
        return {
            "current": self.current,
            "source": self.source,
            "site_labels": self.site_labels,
            "curves": [c.as_dict(threshold) for c in self.curves],
        }


@dataclass(frozen=True)
class SiteThresholds:
    site_id: str
    site: str
    model_version: str | None
    tasks: dict[str, TaskThresholds]

    def as_dict(self) -> dict[str, Any]:
        return {
            "site_id": self.site_id,
            "site": self.site,
            "model_version": self.model_version,
            "min_site_labels": {"legit": MIN_SITE_LEGIT, "bad": MIN_SITE_BAD},
            "tasks": {task: shown.as_dict() for task, shown in self.tasks.items()},
        }


@dataclass(frozen=True)
class Target:
    """A target set: the curve and point it came from and the task's thresholds now."""

    task: str
    approve_legit: float
    curve: Curve
    point: dict[str, Any]
    thresholds: dict[str, float]
    previous: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "approve_legit": self.approve_legit,
            "source": self.curve.source,
            "labels": {"legit": self.curve.legit, "bad": self.curve.bad},
            "point": self.point,
            "thresholds": self.thresholds,
            "previous": self.previous,
        }


def active_model_metadata(model_dir: Path) -> dict[str, Any] | None:
    """The active model's metadata (no model load), or None without an active model."""
    registry = Registry(model_dir)
    version = registry.active_version()
    return registry.show(version) if version else None


def model_curves(metadata: Mapping[str, Any] | None) -> dict[str, Curve]:
    """The trade-off curves a model was trained with, and the dev labels under each."""
    metadata = metadata or {}
    found = {}
    for task, points in (metadata.get("tradeoff") or {}).items():
        if not points:
            continue
        sets = set(points[0].get("per_set") or {})
        metrics = (metadata.get("dev_metrics") or {}).get(task) or {}
        rows = [m for name, m in metrics.items() if name in sets]
        bad = sum(int(m.get("positives") or 0) for m in rows)
        legit = sum(int(m.get("n") or 0) for m in rows) - bad
        found[task] = Curve("model", legit, bad, list(points), metadata.get("version"))
    return found


def site_scores(session: Session, site_id: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per task, (labels, scores) of the site's scored comments that a person labeled; a
    comment labeled more than once for a task counts with its latest label."""
    query = (
        select(
            Comment.id,  # the label's comment_id (the join), never null
            LabeledExample.task,
            LabeledExample.label,
            *(score_of(task) for task in TASKS),
        )
        .join(Comment, Comment.id == LabeledExample.comment_id)
        .where(LabeledExample.site_id == site_id, Comment.site_id == site_id)
        .order_by(LabeledExample.created_at, LabeledExample.id)
    )
    latest: dict[tuple[str, str], tuple[int, float]] = {}
    for comment_id, task, label, *scores in session.execute(query):
        if task in TASKS and scores[TASKS.index(task)] is not None:
            latest[(comment_id, task)] = (int(label), float(scores[TASKS.index(task)]))
    found = {}
    for task in TASKS:
        pairs = [value for (_, kind), value in latest.items() if kind == task]
        labels = np.array([label for label, _ in pairs], dtype=int)
        found[task] = (labels, np.array([score for _, score in pairs], dtype=float))
    return found


def site_curve(labels: np.ndarray, scores: np.ndarray) -> Curve | None:
    """The site's own curve, once it has enough labels of both kinds."""
    legit, bad = int((labels == 0).sum()), int((labels == 1).sum())
    if legit < MIN_SITE_LEGIT or bad < MIN_SITE_BAD:
        return None
    labeled = (labels, scores)
    return Curve(SITE_SET, legit, bad, tradeoff({SITE_SET: labeled}), labeled=labeled)


def site_thresholds(
    session: Session, site: Site, metadata: Mapping[str, Any] | None
) -> SiteThresholds:
    """Per task: the thresholds in force and the curves to choose a new one on."""
    metadata = metadata or {}
    current = policy.effective_thresholds(site.policy or {}, metadata.get("thresholds") or {})
    from_model = model_curves(metadata)
    labeled = site_scores(session, site.id)
    tasks = {}
    for task in TASKS:
        labels, scores = labeled[task]
        curves = [c for c in (site_curve(labels, scores), from_model.get(task)) if c is not None]
        tasks[task] = TaskThresholds(
            task=task,
            current=current[task],
            site_labels={"legit": int((labels == 0).sum()), "bad": int((labels == 1).sum())},
            curves=curves,
        )
    return SiteThresholds(site.id, site.name, metadata.get("version"), tasks)


def set_target(
    session: Session,
    site: Site,
    metadata: Mapping[str, Any] | None,
    task: str,
    approve_legit: float,
    *,
    moderator_id: str | None = None,
) -> Target:
    """Set the task's ``approve_below`` so that ``approve_legit`` of the legitimate comments are
    approved, on the site's own curve when it has one, else on the model's. ``reject_at`` is
    raised to it when it would fall below; the change is audited like any policy change."""
    if task not in TASKS:
        raise ValidationError(f"Task must be one of {', '.join(TASKS)}.", {"task": [task]})
    if not 0 < approve_legit < 1:
        raise ValidationError(
            "The share of legitimate comments to approve is between 0 and 1.",
            {"approve_legit": ["Must be greater than 0 and less than 1."]},
        )
    shown = site_thresholds(session, site, metadata).tasks[task]
    if not shown.curves:
        raise ConflictError(
            f"There is no {task} trade-off yet: the active model carries none and the site has "
            f"fewer than {MIN_SITE_LEGIT} legitimate and {MIN_SITE_BAD} bad labeled comments."
        )
    curve = shown.curves[0]
    point = curve.point_for(approve_legit)
    override = {"approve_below": point["approve_below"]}
    if shown.current["reject_at"] < point["approve_below"]:
        override["reject_at"] = point["approve_below"]
    stored = policy.merge(site.policy or {}, {"thresholds": {task: override}})
    change = {
        "kind": "threshold_target",
        "task": task,
        "approve_legit": approve_legit,
        "source": curve.source,
        "approve_below": point["approve_below"],
    }
    set_policy(session, site, stored, moderator_id=moderator_id, change=change)
    model_thresholds = (metadata or {}).get("thresholds") or {}
    now = policy.effective_thresholds(stored, model_thresholds)[task]
    return Target(task, approve_legit, curve, point, now, shown.current)
