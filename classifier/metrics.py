"""Metrics and decision thresholds computed from labels and probabilities."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["binary_metrics", "calibrate_thresholds", "REJECT_PRECISION", "APPROVED_BAD_SHARE"]

REJECT_PRECISION = 0.99
APPROVED_BAD_SHARE = 0.02


def binary_metrics(
    labels: npt.ArrayLike, probs: npt.ArrayLike, threshold: float = 0.5
) -> dict[str, float | None]:
    # scikit-learn loads here, not with the module: processes that only score never need it
    from sklearn.metrics import (
        average_precision_score,
        precision_recall_fscore_support,
        roc_auc_score,
    )

    y = np.asarray(labels, dtype=int)
    p = np.asarray(probs, dtype=float)
    both = 0 < y.sum() < len(y)
    precision, recall, f1, _ = precision_recall_fscore_support(
        y, p >= threshold, average="binary", zero_division=0
    )
    return {
        "n": int(len(y)),
        "positives": int(y.sum()),
        "roc_auc": round(float(roc_auc_score(y, p)), 4) if both else None,
        "average_precision": round(float(average_precision_score(y, p)), 4) if both else None,
        "f1": round(float(f1), 4),
        "precision": round(float(precision), 4),
        "recall": round(float(recall), 4),
        "threshold": threshold,
    }


def calibrate_thresholds(
    labels: npt.ArrayLike,
    probs: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    min_rejected: float = 5.0,
) -> dict[str, float]:
    """`reject_at`: lowest score whose rejections are >= 99% bad; `approve_below`: highest score
    under which <= 2% of approved comments are bad. Weights let each data set count equally."""
    y = np.asarray(labels, dtype=float)
    p = np.asarray(probs, dtype=float)
    w = np.ones_like(p) if weights is None else np.asarray(weights, dtype=float)
    order = np.argsort(-p, kind="stable")
    p, y, w = p[order], y[order], w[order]
    # Rejecting everything scored >= p[i]: precision of the top i+1.
    bad_above = np.cumsum(w * y)
    all_above = np.cumsum(w)
    precision = bad_above / all_above
    ok = (precision >= REJECT_PRECISION) & (bad_above >= min_rejected * w.mean())
    # The threshold must not split tied scores.
    last_of_tie = np.r_[p[1:] != p[:-1], True]
    candidates = np.flatnonzero(ok & last_of_tie)
    reject_at = float(p[candidates[-1]]) if len(candidates) else 1.0
    # Approving everything scored < p[i]: bad share of the tail after i.
    bad_below = (w * y)[::-1].cumsum()[::-1]
    all_below = w[::-1].cumsum()[::-1]
    share = bad_below / all_below
    first_of_tie = np.r_[True, p[1:] != p[:-1]]
    fine = np.flatnonzero((share <= APPROVED_BAD_SHARE) & first_of_tie)
    approve_below = float(p[fine[0]]) if len(fine) else 0.0
    approve_below = min(approve_below, reject_at)
    return {"approve_below": round(approve_below, 6), "reject_at": round(reject_at, 6)}
