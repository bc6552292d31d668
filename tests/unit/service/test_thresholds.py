"""A site's threshold trade-off: the model's curve, the site's own once labeled, and targets."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from classifier import tradeoff
from service import moderation
from service.comments import comment_row, insert_comment
from service.decisions.pipeline import prepare_decision, record_decision
from service.errors import ConflictError, ValidationError
from service.models import AuditEntry, Comment, Moderator, Site
from service.moderators import create_moderator
from service.sites import create_site
from service.thresholds import MIN_SITE_BAD, MIN_SITE_LEGIT, set_target, site_thresholds

RNG = np.random.default_rng(7)


def _set(legit: int, bad: int) -> tuple[np.ndarray, np.ndarray]:
    labels = np.r_[np.zeros(legit), np.ones(bad)]
    scores = np.r_[RNG.uniform(0.0, 0.8, legit), RNG.uniform(0.5, 1.0, bad)]
    return labels, np.round(scores, 6)


SETS = {"blogs": _set(60, 40), "forum": _set(40, 10)}
METADATA: dict[str, Any] = {
    "version": "v-test",
    "thresholds": {
        "spam": {"approve_below": 0.5, "reject_at": 0.6},
        "toxicity": {"approve_below": 0.4, "reject_at": 0.95},
    },
    "dev_metrics": {
        "spam": {
            "blogs": {"n": 100, "positives": 40},
            "forum": {"n": 50, "positives": 10},
            "not_in_curve": {"n": 7, "positives": 3},
        },
        "toxicity": {"blogs": {"n": 100, "positives": 40}},
    },
    "tradeoff": {"spam": tradeoff(SETS), "toxicity": tradeoff({"blogs": SETS["blogs"]})},
}


def model_point(task: str, target: float) -> dict[str, Any]:
    return next(p for p in METADATA["tradeoff"][task] if p["target"] == target)


def labeled(
    db: Session,
    moderator: Moderator,
    spam: float,
    action: str,
    label: str | None = None,
) -> str:
    """A comment the model scored and held, then decided by a moderator."""
    site = db.get(Site, moderator.site_id)
    data = {"external_id": uuid.uuid4().hex, "content": f"comment {uuid.uuid4().hex}"}
    comment_id, _ = insert_comment(db, comment_row(site, data, identifier_key=b"key"))
    comment = db.get(Comment, comment_id)
    scores = {"spam": spam, "toxicity": 0.01}
    record_decision(
        db,
        prepare_decision(
            db,
            comment,
            action="hold",
            scores=scores,
            reasons=[],
            model_version="v-test",
            decided_by="model",
        ),
    )
    moderation.decide(db, moderator, comment_id, action, label=label)
    return comment_id


def test_without_site_labels_the_model_curve_is_shown(db: Session, site: Site) -> None:
    shown = site_thresholds(db, site, METADATA).as_dict()
    assert shown["model_version"] == "v-test"
    assert shown["min_site_labels"] == {"legit": MIN_SITE_LEGIT, "bad": MIN_SITE_BAD}
    spam = shown["tasks"]["spam"]
    assert spam["current"] == METADATA["thresholds"]["spam"]
    assert spam["source"] == "model" and spam["site_labels"] == {"legit": 0, "bad": 0}
    [curve] = spam["curves"]
    assert curve["source"] == "model" and curve["labels"] == {"legit": 100, "bad": 50}
    assert curve["points"] == METADATA["tradeoff"]["spam"]
    gaps = [abs(p["approve_below"] - 0.5) for p in curve["points"]]
    assert curve["nearest"] == gaps.index(min(gaps))


def test_without_a_model_curve_there_is_nothing_to_set(db: Session, site: Site) -> None:
    shown = site_thresholds(db, site, None).as_dict()
    assert shown["tasks"]["spam"]["curves"] == [] and shown["tasks"]["spam"]["source"] is None
    with pytest.raises(ConflictError):
        set_target(db, site, None, "spam", 0.9)


def test_a_target_on_the_model_curve_becomes_the_sites_threshold(db: Session, site: Site) -> None:
    point = model_point("spam", 0.9)
    assert point["approve_below"] > METADATA["thresholds"]["spam"]["reject_at"]
    target = set_target(db, site, METADATA, "spam", 0.9).as_dict()
    assert target["source"] == "model" and target["point"] == point
    assert target["previous"] == METADATA["thresholds"]["spam"]
    raised = {"approve_below": point["approve_below"], "reject_at": point["approve_below"]}
    assert site.policy == {"thresholds": {"spam": raised}}
    assert target["thresholds"] == raised
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.site_id == site.id))
    assert entry.action == "policy.update" and entry.details["policy"] == site.policy
    assert entry.details["change"]["source"] == "model"
    assert entry.details["change"]["approve_legit"] == 0.9

    shown = site_thresholds(db, site, METADATA).as_dict()["tasks"]
    assert shown["spam"]["current"] == raised
    [curve] = shown["spam"]["curves"]
    assert curve["points"][curve["nearest"]]["approve_below"] == point["approve_below"]
    assert shown["toxicity"]["current"] == METADATA["thresholds"]["toxicity"]


def test_reject_at_is_kept_when_it_is_above_the_new_threshold(db: Session, site: Site) -> None:
    site.policy = {"max_links": 4, "thresholds": {"toxicity": {"reject_at": 0.99}}}
    point = model_point("toxicity", 0.8)
    set_target(db, site, METADATA, "toxicity", 0.8)
    assert site.policy == {
        "max_links": 4,
        "thresholds": {"toxicity": {"reject_at": 0.99, "approve_below": point["approve_below"]}},
    }


def test_a_target_between_points_takes_the_next_one_up(db: Session, site: Site) -> None:
    target = set_target(db, site, METADATA, "spam", 0.93)
    assert target.point == model_point("spam", 0.95)


@pytest.mark.parametrize(("task", "share"), [("spam", 0.999), ("spam", 1.0), ("links", 0.9)])
def test_targets_out_of_reach_are_refused(db: Session, site: Site, task: str, share: float) -> None:
    with pytest.raises(ValidationError):
        set_target(db, site, METADATA, task, share)
    assert site.policy == {}


def test_with_enough_labels_the_site_curve_follows_its_own_scores(
    db: Session, site: Site, moderator: Moderator
) -> None:
    legit = [i / 100 for i in range(1, MIN_SITE_LEGIT)]  # one short
    for score in legit[:10]:
        labeled(db, moderator, score, "approve")
    for score in legit[10:20]:
        labeled(db, moderator, score, "approve", "ham")
    for score in legit[20:]:
        labeled(db, moderator, score, "approve", "ok")
    for i in range(MIN_SITE_BAD):
        labeled(db, moderator, 0.6 + i / 100, "reject", "spam" if i % 2 else None)
    relabeled = labeled(db, moderator, 0.95, "reject", "spam")
    other = create_site(db, "other", "http://127.0.0.1:9/hook", allow_private=True).site
    elsewhere = create_moderator(db, other, "mod@example.org", "moderator").moderator
    labeled(db, elsewhere, 0.02, "approve")

    shown = site_thresholds(db, site, METADATA).tasks["spam"]
    assert shown.site_labels == {"legit": MIN_SITE_LEGIT - 1, "bad": MIN_SITE_BAD + 1}
    assert shown.source == "model"

    moderation.decide(db, moderator, relabeled, "approve", label="ham")  # the latest counts
    shown = site_thresholds(db, site, METADATA).as_dict()["tasks"]
    assert shown["spam"]["source"] == "site"
    assert shown["spam"]["site_labels"] == {"legit": MIN_SITE_LEGIT, "bad": MIN_SITE_BAD}
    site_curve, model_curve = shown["spam"]["curves"]
    assert site_curve["labels"] == {"legit": MIN_SITE_LEGIT, "bad": MIN_SITE_BAD}
    assert model_curve["source"] == "model"
    assert all(p["bad_approved"] == 0.0 for p in site_curve["points"] if p["target"] <= 0.9)
    assert shown["toxicity"]["source"] == "model"  # no toxic labels at all
    assert shown["toxicity"]["site_labels"] == {"legit": 19, "bad": 0}

    target = set_target(db, site, METADATA, "spam", 0.9)
    # 27 of the 30 legitimate scores (0.01 ... 0.27) must fall below it
    assert target.curve.source == "site"
    assert target.point["approve_below"] == 0.270001
    assert target.point["legit_approved"] == 0.9 and target.point["bad_approved"] == 0.0
    assert site.policy["thresholds"]["spam"]["approve_below"] == 0.270001
    assert target.point["approve_below"] != model_point("spam", 0.9)["approve_below"]
    assert "reject_at" not in site.policy["thresholds"]["spam"]
