"""The model's own thresholds, from labeled scores: reject where 99% of what is rejected is bad
(and at least a handful), approve where at most 2% of what is approved is bad."""

from __future__ import annotations

import numpy as np

from classifier.metrics import calibrate_thresholds


def scored(*groups: tuple[int, float, int]) -> tuple[np.ndarray, np.ndarray]:
    """(count, score, label) groups as the label and score arrays."""
    labels = np.concatenate([np.full(n, label) for n, _, label in groups])
    scores = np.concatenate([np.full(n, score) for n, score, _ in groups])
    return labels, scores


def test_separated_scores_reject_the_bad_and_approve_the_rest() -> None:
    labels, scores = scored((5, 0.9, 1), (100, 0.2, 0))
    assert calibrate_thresholds(labels, scores) == {"approve_below": 0.2, "reject_at": 0.9}


def test_too_few_bad_comments_to_trust_never_reject() -> None:
    labels, scores = scored((4, 0.9, 1), (100, 0.2, 0))
    assert calibrate_thresholds(labels, scores)["reject_at"] == 1.0
    assert calibrate_thresholds(labels, scores, min_rejected=4)["reject_at"] == 0.9


def test_a_threshold_never_splits_tied_scores() -> None:
    """Five bad and one legitimate comment share 0.9: rejecting at 0.9 rejects all six (83%
    bad), so there is no reject threshold, although the five alone would be one."""
    labels, scores = scored((5, 0.9, 1), (1, 0.9, 0), (100, 0.2, 0))
    assert calibrate_thresholds(labels, scores)["reject_at"] == 1.0


def test_weights_let_a_small_set_count_as_much_as_a_large_one() -> None:
    labels, scores = scored((3, 0.9, 1), (100, 0.2, 0))
    assert calibrate_thresholds(labels, scores)["reject_at"] == 1.0
    weights = np.r_[np.full(3, 3.0), np.ones(100)]
    assert calibrate_thresholds(labels, scores, weights)["reject_at"] == 0.9


def test_too_many_bad_among_the_low_scores_approve_nothing() -> None:
    labels, scores = scored((50, 0.3, 1), (50, 0.3, 0))
    assert calibrate_thresholds(labels, scores) == {"approve_below": 0.0, "reject_at": 1.0}


def test_approving_never_reaches_above_rejecting() -> None:
    labels = np.r_[np.ones(20), np.zeros(100)]
    scores = np.r_[np.linspace(0.79, 0.6, 20), np.linspace(0.49, 0.0, 100)]
    thresholds = calibrate_thresholds(labels, scores)
    assert thresholds["reject_at"] == 0.6
    assert thresholds["approve_below"] == thresholds["reject_at"]
    shuffled = np.random.default_rng(3).permutation(len(labels))
    assert calibrate_thresholds(labels[shuffled], scores[shuffled]) == thresholds
