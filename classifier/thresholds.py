"""Decision thresholds chosen by what a site feels, not by the public data sets' prevalence.

The public sets hold far more bad comments than a blog gets (83% on one of them), so a threshold
chosen for precision on them holds most of a blog's good comments. Shares of the legitimate
comments do not depend on prevalence: `approve_below` is set so that on every data set at least
a given share of its legitimate comments scores below it, and `reject_at` so that at most a tiny
share scores at or above it. The trade-off (`tradeoff`) lists, for other shares, the threshold
and the share of bad comments that it lets through, so an owner can pick a target instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "SHARES",
    "LabeledScores",
    "approve_threshold",
    "reject_threshold",
    "tradeoff",
    "decision_shares",
]

LabeledScores = Mapping[str, tuple[npt.ArrayLike, npt.ArrayLike]]  # data set -> (labels, scores)
_ACTIONS = ("approved", "held", "rejected")
SHARES = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.92, 0.95, 0.97, 0.98, 0.99, 0.995)


def _above(value: float) -> float:
    """The next threshold above a score. Scores are compared with 6 decimals (the service
    rounds them so when it decides and stores them), so a threshold just above a score in
    float precision would round back onto it: the next 6-decimal value is the one above."""
    return (round(float(value) * 1e6) + 1) / 1e6


def approve_threshold(legit: Sequence[npt.NDArray[np.floating[Any]]], share: float) -> float:
    """The lowest score under which at least `share` of every set's legitimate comments fall."""
    needed = 0.0
    for scores in legit:
        if not len(scores):
            continue
        ordered = np.sort(scores)
        k = int(np.ceil(share * len(ordered)))  # this many must score strictly below
        if k > 0:
            needed = max(needed, _above(ordered[k - 1]))
    return min(needed, 1.0)


def reject_threshold(legit: Sequence[npt.NDArray[np.floating[Any]]], share: float) -> float:
    """The lowest score at or above which at most `share` of every set's legitimate comments
    fall (1.0, rejecting nothing, when no score fits)."""
    needed = 0.0
    for scores in legit:
        if not len(scores):
            continue
        ordered = np.sort(scores)
        allowed = int(np.floor(share * len(ordered)))
        needed = max(needed, _above(ordered[len(ordered) - allowed - 1]))
    return min(needed, 1.0)


def _shares_below(sets: LabeledScores, threshold: float) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for name, (labels, scores) in sets.items():
        labels, scores = np.asarray(labels), np.asarray(scores)
        legit, bad = scores[labels == 0], scores[labels == 1]
        out[name] = {
            "legit_approved": round(float((legit < threshold).mean()), 4) if len(legit) else None,
            "bad_approved": round(float((bad < threshold).mean()), 4) if len(bad) else None,
        }
    return out


def tradeoff(sets: LabeledScores, shares: Sequence[float] = SHARES) -> list[dict[str, Any]]:
    """For each target share of legitimate comments approved (on every set): the threshold,
    the share of legitimate and of bad comments it approves, averaged over the sets and on the
    worst set, and per set."""
    legit = [np.asarray(s)[np.asarray(y) == 0] for y, s in sets.values()]
    points: list[dict[str, Any]] = []
    for share in shares:
        threshold = approve_threshold(legit, share)
        per_set = _shares_below(sets, threshold)
        legit_values = [v["legit_approved"] for v in per_set.values() if v["legit_approved"]]
        bad_values = [v["bad_approved"] for v in per_set.values() if v["bad_approved"] is not None]
        points.append(
            {
                "target": share,
                "approve_below": round(threshold, 6),
                "legit_approved": round(float(np.mean(legit_values)), 4) if legit_values else None,
                "legit_approved_min": round(min(legit_values), 4) if legit_values else None,
                "bad_approved": round(float(np.mean(bad_values)), 4) if bad_values else None,
                "bad_approved_max": round(max(bad_values), 4) if bad_values else None,
                "per_set": per_set,
            }
        )
    return points


def decision_shares(
    labels: npt.ArrayLike,
    scores: Mapping[str, npt.ArrayLike],
    thresholds: Mapping[str, Mapping[str, float]],
) -> dict[str, dict[str, float]]:
    """What the model alone decides at `thresholds` (every task's score counts: a comment is
    rejected if any score reaches its `reject_at`, held if any reaches its `approve_below`):
    the shares of legitimate and of bad comments approved, held and rejected."""
    labels = np.asarray(labels)
    n = len(labels)
    reject, hold = np.zeros(n, bool), np.zeros(n, bool)
    for task, values in scores.items():
        values = np.asarray(values)
        reject |= values >= thresholds[task]["reject_at"]
        hold |= values >= thresholds[task]["approve_below"]
    action = np.where(reject, "rejected", np.where(hold, "held", "approved"))
    out = {}
    for kind, label in (("legit", 0), ("bad", 1)):
        chosen = action[labels == label]
        if len(chosen):
            out[kind] = {a: round(float((chosen == a).mean()), 4) for a in _ACTIONS}
    return out
