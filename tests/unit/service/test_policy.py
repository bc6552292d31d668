"""The decision step on its own: thresholds, links, precedence and reasons."""

from __future__ import annotations

import pytest

from service.api.policy_schemas import load_policy
from service.decisions import policy
from service.decisions.policy import Facts, ModelOutput, effective_thresholds, judge
from service.errors import ValidationError as InvalidInputError

THRESHOLDS = {
    "spam": {"approve_below": 0.4, "reject_at": 0.9},
    "toxicity": {"approve_below": 0.5, "reject_at": 0.95},
}


def output(spam: float, toxicity: float = 0.0, terms: list[str] | None = None) -> ModelOutput:
    return ModelOutput(
        scores={"spam": spam, "toxicity": toxicity},
        terms={"spam": terms or [], "toxicity": []},
        version="v-test",
        thresholds=THRESHOLDS,
    )


def test_low_scores_are_approved_with_the_thresholds_they_passed() -> None:
    verdict = judge(Facts(content="Nice post."), output(0.1, 0.1), {})
    assert (verdict.action, verdict.decided_by) == ("approve", "model")
    [reason] = verdict.reasons
    assert reason["code"] == "below_thresholds" and reason["action"] == "approve"
    assert reason["scores"] == {"spam": 0.1, "toxicity": 0.1}
    assert reason["thresholds"] == {"spam": 0.4, "toxicity": 0.5}


def test_mid_spam_is_held_and_high_spam_rejected_with_terms() -> None:
    held = judge(Facts(content="x"), output(0.5), {})
    assert held.action == "hold"
    assert held.reasons[0] == {
        "code": "spam_score",
        "message": "The spam score 0.50 reached the hold threshold 0.40.",
        "score": 0.5,
        "threshold": 0.4,
        "action": "hold",
    }
    rejected = judge(Facts(content="x"), output(0.97, terms=["casino", "bonus"]), {})
    assert rejected.action == "reject"
    codes = [r["code"] for r in rejected.reasons]
    assert codes == ["spam_score", "model_terms"]
    assert rejected.reasons[1]["terms"] == ["casino", "bonus"]


def test_too_many_links_holds_and_every_fired_rule_is_listed() -> None:
    content = "see http://a.example http://b.example and www.c.example"
    verdict = judge(Facts(content=content), output(0.95), {})
    assert verdict.action == "reject" and verdict.decided_by == "model"
    links = [r for r in verdict.reasons if r["code"] == "too_many_links"]
    assert links and links[0]["count"] == 3 and links[0]["max"] == 2
    only_links = judge(Facts(content=content), output(0.0), {})
    assert (only_links.action, only_links.decided_by) == ("hold", "rule")


def test_site_thresholds_override_the_model_ones() -> None:
    policy = {"thresholds": {"spam": {"approve_below": 0.8}}, "max_links": 5}
    merged = effective_thresholds(policy, THRESHOLDS)
    assert merged["spam"] == {"approve_below": 0.8, "reject_at": 0.9}
    assert judge(Facts(content="x"), output(0.5), policy).action == "approve"


def test_trial_mode_and_its_webhooks_are_validated_and_default_to_enforce() -> None:
    assert not policy.is_trial({}) and policy.sends_webhooks({})
    assert load_policy({"mode": "trial", "trial_webhooks": "none"})["mode"] == "trial"
    assert policy.is_trial({"mode": "trial"}) and policy.sends_webhooks({"mode": "trial"})
    assert not policy.sends_webhooks({"mode": "trial", "trial_webhooks": "none"})
    assert policy.sends_webhooks({"mode": "enforce", "trial_webhooks": "none"})
    for bad in ({"mode": "log-only"}, {"trial_webhooks": "sometimes"}):
        with pytest.raises(InvalidInputError):
            load_policy(bad)
