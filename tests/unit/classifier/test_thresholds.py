"""Thresholds from shares of legitimate comments, at the precision scores are compared with."""

import numpy as np

from classifier.thresholds import approve_threshold, reject_threshold, tradeoff

LEGIT = np.array([i / 100 for i in range(1, 31)])  # scores as the service stores them
BAD = np.array([0.6 + i / 100 for i in range(10)])


def test_an_approve_threshold_lets_its_share_through_at_six_decimals() -> None:
    threshold = approve_threshold([LEGIT], 0.9)
    assert threshold == 0.270001
    assert (np.round(LEGIT, 6) < round(threshold, 6)).mean() == 0.9


def test_a_reject_threshold_rejects_at_most_its_share() -> None:
    threshold = reject_threshold([LEGIT], 0.1)
    assert threshold == 0.270001
    assert (LEGIT >= threshold).mean() <= 0.1


def test_the_tradeoff_measures_the_threshold_it_reports() -> None:
    labels = np.r_[np.zeros(len(LEGIT)), np.ones(len(BAD))]
    scores = np.r_[LEGIT, BAD]
    for point in tradeoff({"site": (labels, scores)}):
        assert point["legit_approved"] == round((LEGIT < point["approve_below"]).mean(), 4)
        assert point["legit_approved"] >= point["target"]
        assert point["bad_approved"] == 0.0
