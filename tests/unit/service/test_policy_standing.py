"""A moderator's standing for the author as a policy fact: ban, suspension, premoderation, trust."""

from __future__ import annotations

from datetime import UTC, datetime

from service.decisions.policy import Facts, ModelOutput, Standing, judge

THRESHOLDS = {
    "spam": {"approve_below": 0.4, "reject_at": 0.9},
    "toxicity": {"approve_below": 0.5, "reject_at": 0.95},
}


def output(spam: float = 0.0) -> ModelOutput:
    return ModelOutput({"spam": spam, "toxicity": 0.0}, {}, "v-test", THRESHOLDS)


def facts(kind: str | None, content: str = "Nice post", **more: object) -> Facts:
    standing = Standing(kind, **more) if kind else None  # type: ignore[arg-type]
    return Facts(content=content, standing=standing)


def test_banned_author_is_rejected_even_with_a_clean_comment() -> None:
    verdict = judge(facts("banned", reason="abuse"), output(0.01), {})
    assert (verdict.action, verdict.decided_by) == ("reject", "rule")
    assert [r["code"] for r in verdict.reasons] == ["author_banned"]
    assert verdict.reasons[0]["note"] == "abuse"


def test_suspended_author_is_rejected_and_the_reason_says_until_when() -> None:
    until = datetime(2030, 1, 2, 3, 4, tzinfo=UTC)
    verdict = judge(facts("suspended", until=until), output(0.01), {})
    assert verdict.action == "reject"
    reason = verdict.reasons[0]
    assert reason["code"] == "author_suspended" and reason["until"] == until.isoformat()
    assert "2030-01-02 03:04" in reason["message"]


def test_premoderated_author_is_held_but_a_blocked_term_still_rejects() -> None:
    held = judge(facts("premoderated"), output(0.01), {})
    assert (held.action, [r["code"] for r in held.reasons]) == ("hold", ["author_premoderated"])
    blocked = judge(facts("premoderated", "buy casino"), output(), {"blocked_terms": ["casino"]})
    assert blocked.action == "reject"
    assert {r["code"] for r in blocked.reasons} == {"blocked_term", "author_premoderated"}


def test_trusted_author_waives_model_and_rules_but_not_blocked_terms_or_honeypot() -> None:
    site = {"suspect_terms": ["crypto"], "blocked_terms": ["casino"], "honeypot_field": "hp"}
    mid = judge(facts("trusted", "crypto tips"), output(0.93), site)
    assert (mid.action, mid.decided_by) == ("approve", "rule")
    trusted = next(r for r in mid.reasons if r["code"] == "author_trusted")
    assert set(trusted["waived"]) == {"spam_score", "suspect_term"}
    assert judge(facts("trusted", "casino"), output(), site).action == "reject"
    trap = Facts(content="hi", metadata={"hp": "x"}, standing=Standing("trusted"))
    assert judge(trap, output(), site).action == "reject"


def test_trusted_author_with_a_clean_comment_keeps_a_reason() -> None:
    verdict = judge(facts("trusted"), output(0.01), {})
    assert verdict.action == "approve"
    assert [r["code"] for r in verdict.reasons] == ["author_trusted"]


def test_no_standing_decides_as_before() -> None:
    verdict = judge(facts(None), output(0.5), {})
    assert verdict.action == "hold" and verdict.reasons[0]["code"] == "spam_score"
