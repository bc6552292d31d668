"""The site report's counts and its table of decisions against the platform's labels."""

from __future__ import annotations

from service.site_report import Decided, Label, summarize


def test_counts_by_action_and_reason_and_a_confusion_table_per_task() -> None:
    decided = [
        Decided("a", "approve", [{"code": "below_thresholds"}]),
        Decided("b", "reject", [{"code": "spam_score"}, {"code": "model_terms"}]),
        Decided("c", "hold", [{"code": "spam_score"}, {"code": "spam_score"}]),
        Decided("d", "approve", [{"code": "below_thresholds"}]),
    ]
    labels = [
        Label("a", "spam", 0),  # approved ham: agrees
        Label("b", "spam", 1),  # rejected spam: agrees
        Label("d", "spam", 1),  # approved spam: missed
        Label("c", "toxicity", 0),  # held, not toxic: disagrees
        Label("unknown", "spam", 1),  # no decision in range: not counted
    ]
    report = summarize(decided, labels)
    assert report["decided"] == 4
    assert report["by_action"] == {"approve": 2, "hold": 1, "reject": 1}
    assert report["by_reason"] == {"below_thresholds": 2, "spam_score": 2, "model_terms": 1}
    spam = report["labels"]["spam"]
    assert spam["labeled"] == 3 and spam["agreement"] == round(2 / 3, 4)
    assert spam["confusion"] == {
        "approve": {"spam": 1, "ham": 1},
        "hold": {"spam": 0, "ham": 0},
        "reject": {"spam": 1, "ham": 0},
    }
    toxicity = report["labels"]["toxicity"]
    assert toxicity["confusion"]["hold"] == {"toxic": 0, "ok": 1} and toxicity["agreement"] == 0


def test_no_decisions_no_labels() -> None:
    report = summarize([], [])
    assert report["by_action"] == {"approve": 0, "hold": 0, "reject": 0}
    assert report["labels"] == {} and report["by_reason"] == {}
