"""Each policy rule on its own, the documented precedence, and obfuscated terms."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.decisions.floods import NEAR_JACCARD, fingerprint, jaccard, signature
from service.decisions.policy import Author, Facts, History, ModelOutput, judge, merge, resolve

THRESHOLDS = {
    "spam": {"approve_below": 0.4, "reject_at": 0.9},
    "toxicity": {"approve_below": 0.5, "reject_at": 0.95},
}


def output(spam: float = 0.0, toxicity: float = 0.0) -> ModelOutput:
    return ModelOutput(
        scores={"spam": spam, "toxicity": toxicity},
        terms={"spam": ["bonus"] if spam >= 0.4 else [], "toxicity": []},
        version="v-test",
        thresholds=THRESHOLDS,
    )


def codes(verdict) -> list[str]:
    return [r["code"] for r in verdict.reasons]


def history(copies: int = 0, copies_here: int | None = None, **author: object) -> History:
    """Copies on every site, by default all of them on the comment's own."""
    here = copies if copies_here is None else copies_here
    return History(author=Author(known_by="email", **author), copies=copies, copies_here=here)  # type: ignore[arg-type]


# --- each rule alone -------------------------------------------------------------------------


def test_honeypot_filled_rejects_and_empty_passes() -> None:
    policy = {"honeypot_field": "website2"}
    filled = judge(Facts(content="Hi", metadata={"website2": "http://x"}), output(), policy)
    assert (filled.action, filled.decided_by) == ("reject", "rule")
    assert filled.reasons[0]["code"] == "honeypot" and filled.reasons[0]["field"] == "website2"
    empty = judge(Facts(content="Hi", metadata={"website2": " "}), output(), policy)
    assert (empty.action, codes(empty)) == ("approve", ["below_thresholds"])


def test_blocked_term_rejects_with_term_and_field() -> None:
    verdict = judge(Facts(content="Best casino here"), output(), {"blocked_terms": ["casino"]})
    assert (verdict.action, verdict.decided_by) == ("reject", "rule")
    reason = verdict.reasons[0]
    assert reason["code"] == "blocked_term"
    assert (reason["term"], reason["field"], reason["action"]) == ("casino", "content", "reject")
    assert "casino" in reason["message"]


def test_suspect_term_holds() -> None:
    verdict = judge(Facts(content="Try crypto today"), output(), {"suspect_terms": ["crypto"]})
    assert (verdict.action, verdict.decided_by, codes(verdict)) == (
        "hold",
        "rule",
        ["suspect_term"],
    )


def test_repeat_post_holds_by_default_and_rejects_when_configured() -> None:
    facts = Facts(content="x", history=history(copies=3))
    held = judge(facts, output(), {})
    assert (held.action, codes(held)) == ("hold", ["repeat_post"])
    assert held.reasons[0]["copies"] == 3 and held.reasons[0]["max"] == 3
    assert held.reasons[0]["other_sites"] is False
    rejected = judge(facts, output(), {"flood": {"action": "reject"}})
    assert rejected.action == "reject"
    below = judge(Facts(content="x", history=history(copies=2)), output(), {})
    assert below.action == "approve"
    off = judge(facts, output(), {"flood": {"enabled": False}})
    assert off.action == "approve"


def test_repeat_post_counts_only_the_sites_own_copies() -> None:
    """Copies on other sites decide, but their number is never shown to this site."""
    mixed = judge(Facts(content="x", history=history(copies=8, copies_here=2)), output(), {})
    [reason] = mixed.reasons
    assert (mixed.action, reason["copies"], reason["other_sites"]) == ("hold", 2, True)
    assert "at least 2 times before on this site" in reason["message"]
    assert "other sites" in reason["message"] and "8" not in reason["message"]
    elsewhere = judge(Facts(content="x", history=history(copies=8, copies_here=0)), output(), {})
    [reason] = elsewhere.reasons
    assert (elsewhere.action, reason["copies"], reason["other_sites"]) == ("hold", 0, True)
    assert reason["message"] == (
        "The same or nearly the same text was posted on other sites within 3600 seconds."
    )


def test_toxicity_score_holds_and_rejects() -> None:
    held = judge(Facts(content="x"), output(toxicity=0.6), {})
    assert (held.action, held.decided_by, codes(held)) == ("hold", "model", ["toxicity_score"])
    assert judge(Facts(content="x"), output(toxicity=0.96), {}).action == "reject"


def test_language_outside_the_accepted_ones_holds() -> None:
    policy = {"languages": ["en", "de"]}
    held = judge(Facts(content="Привет", language="ru"), output(), policy)
    assert (held.action, codes(held)) == ("hold", ["language"])
    assert held.reasons[0]["language"] == "ru" and held.reasons[0]["allowed"] == ["en", "de"]
    assert judge(Facts(content="Hi", language="en-GB"), output(), policy).action == "approve"
    assert judge(Facts(content="Hi"), output(), policy).action == "approve"
    assert judge(Facts(content="Hi", language="ru"), output(), {}).action == "approve"


@pytest.mark.parametrize(
    "metadata",
    [
        {"submit_seconds": 1.5},
        {"form_rendered_at": "2026-01-01T10:00:00Z", "submitted_at": "2026-01-01T10:00:01Z"},
        {"form_rendered_at": 1767261600, "submitted_at": 1767261601},
        {"form_rendered_at": 1767261600000, "submitted_at": 1767261601000},
        {"form_rendered_at": "2026-01-01T10:00:00+00:00"},
    ],
)
def test_too_fast_from_each_metadata_form(metadata: dict[str, object]) -> None:
    sent = datetime(2026, 1, 1, 10, 0, 2, tzinfo=UTC)
    facts = Facts(content="Hi", metadata=metadata, submitted_at=sent)
    verdict = judge(facts, output(), {"min_submit_seconds": 3})
    assert (verdict.action, codes(verdict)) == ("hold", ["too_fast"])
    assert verdict.reasons[0]["seconds"] < 3 and verdict.reasons[0]["min"] == 3


def test_too_fast_does_not_fire_when_slow_unmeasured_or_off() -> None:
    slow = Facts(content="Hi", metadata={"submit_seconds": 40})
    assert judge(slow, output(), {"min_submit_seconds": 3}).action == "approve"
    unknown = Facts(content="Hi", metadata={"form_rendered_at": "not a time"})
    assert judge(unknown, output(), {"min_submit_seconds": 3}).action == "approve"
    skewed = Facts(content="Hi", metadata={"submit_seconds": -5})
    assert judge(skewed, output(), {"min_submit_seconds": 3}).action == "approve"
    fast = Facts(content="Hi", metadata={"submit_seconds": 0.2})
    assert judge(fast, output(), {}).action == "approve"


def test_recent_rejections_hold() -> None:
    facts = Facts(content="x", history=history(rejected=2, recent_rejections=2))
    verdict = judge(facts, output(), {})
    assert (verdict.action, verdict.decided_by) == ("hold", "rule")
    reason = verdict.reasons[0]
    assert (reason["code"], reason["kind"], reason["rejections"]) == (
        "author_history",
        "recent_rejections",
        2,
    )
    old = Facts(content="x", history=history(rejected=2, recent_rejections=0))
    assert judge(old, output(), {}).action == "approve"


@pytest.mark.parametrize("by", ["author", "ip"])
def test_burst_from_one_author_or_ip_holds(by: str) -> None:
    facts = Facts(content="x", history=history(**{f"recent_by_{by}": 5}))
    verdict = judge(facts, output(), {})
    assert verdict.action == "hold"
    assert (verdict.reasons[0]["kind"], verdict.reasons[0]["by"]) == ("burst", by)
    calm = Facts(content="x", history=history(**{f"recent_by_{by}": 4}))
    assert judge(calm, output(), {}).action == "approve"
    assert judge(facts, output(), {"burst": {"max_comments": 10}}).action == "approve"


def test_trusted_author_mid_spam_is_approved_by_rule_with_every_reason() -> None:
    facts = Facts(content="x", history=history(approved=3))
    verdict = judge(facts, output(spam=0.6), {})
    assert (verdict.action, verdict.decided_by) == ("approve", "rule")
    assert codes(verdict) == ["spam_score", "model_terms", "author_history"]
    assert verdict.reasons[-1]["kind"] == "trusted" and verdict.reasons[-1]["waived"] == [
        "spam_score"
    ]


def test_trust_needs_approvals_and_no_rejection() -> None:
    newcomer = Facts(content="x", history=history(approved=0))
    assert judge(newcomer, output(spam=0.6), {}).action == "hold"
    mixed = Facts(content="x", history=history(approved=5, rejected=1))
    assert judge(mixed, output(spam=0.6), {}).action == "hold"
    policy = {"reputation": {"trusted_after": 5}}
    assert judge(Facts(content="x", history=history(approved=4)), output(0.6), policy).action == (
        "hold"
    )
    off = {"reputation": {"enabled": False}}
    assert judge(Facts(content="x", history=history(approved=9)), output(0.6), off).action == (
        "hold"
    )


# --- precedence ------------------------------------------------------------------------------


def test_blocked_term_rejects_even_a_low_spam_score() -> None:
    verdict = judge(Facts(content="cheap c4sino"), output(spam=0.01), {"blocked_terms": ["casino"]})
    assert (verdict.action, verdict.decided_by) == ("reject", "rule")


def test_very_high_score_rejects_a_trusted_author() -> None:
    facts = Facts(content="x", history=history(approved=3))
    verdict = judge(facts, output(spam=0.97), {})
    assert (verdict.action, verdict.decided_by) == ("reject", "model")
    assert "author_history" not in codes(verdict)
    lenient = judge(facts, output(spam=0.97), {"reputation": {"trusted_max_score": 0.99}})
    assert (lenient.action, lenient.decided_by) == ("approve", "rule")
    strict = judge(facts, output(spam=0.6), {"reputation": {"trusted_max_score": 0.5}})
    assert strict.action == "hold"


def test_trust_waives_only_the_model_not_the_rules() -> None:
    facts = Facts(content="buy crypto", history=history(approved=3))
    verdict = judge(facts, output(spam=0.6), {"suspect_terms": ["crypto"]})
    assert (verdict.action, verdict.decided_by) == ("hold", "rule")
    assert codes(verdict) == ["spam_score", "model_terms", "suspect_term", "author_history"]


def test_every_fired_rule_is_listed_in_the_documented_order() -> None:
    facts = Facts(
        content="casino crypto http://a.example http://b.example http://c.example",
        language="ru",
        metadata={"hp": "x", "submit_seconds": 1},
        history=history(copies=5, recent_rejections=1, rejected=1, recent_by_ip=9),
    )
    policy = {
        "honeypot_field": "hp",
        "blocked_terms": ["casino"],
        "suspect_terms": ["crypto"],
        "languages": ["en"],
        "min_submit_seconds": 3,
    }
    verdict = judge(facts, output(spam=0.95, toxicity=0.6), policy)
    assert (verdict.action, verdict.decided_by) == ("reject", "rule")
    assert codes(verdict) == [
        "honeypot",
        "blocked_term",
        "repeat_post",
        "spam_score",
        "model_terms",
        "toxicity_score",
        "too_many_links",
        "suspect_term",
        "language",
        "too_fast",
        "author_history",
        "author_history",
    ]
    assert all(r["message"] for r in verdict.reasons)


def test_ties_go_to_the_earlier_step() -> None:
    links = "http://a.example http://b.example http://c.example"
    model_first = judge(Facts(content=links), output(spam=0.5), {})
    assert (model_first.action, model_first.decided_by) == ("hold", "model")
    flood_first = judge(Facts(content="x", history=history(copies=4)), output(spam=0.5), {})
    assert (flood_first.action, flood_first.decided_by) == ("hold", "rule")
    model_rejects = judge(Facts(content=links), output(spam=0.95), {})
    assert (model_rejects.action, model_rejects.decided_by) == ("reject", "model")


# --- obfuscated terms ------------------------------------------------------------------------

OBFUSCATED_CASINO = [
    "c a s i n o",
    "c.a.s.i.n.o",
    "c-a-s-i-n-o",
    "ca sino",
    "cas1no",
    "c4sino",
    "ca$ino",
    "c\u0430sino",  # Cyrillic а
    "\u0441\u0430sino",  # Cyrillic с and а
    "ca\u200dsi\u200dno",  # zero-width joiners
    "c\u200basino",  # zero-width space
    "cas\u00adino",  # soft hyphen
    "CASINO",
    "\uff23\uff21\uff33\uff29\uff2e\uff2f",  # full-width
    "càsìnò",
    "caaasinooo",
    "c*sino",
    "ca**no",
]


@pytest.mark.parametrize("text", OBFUSCATED_CASINO)
def test_obfuscated_blocked_terms_are_caught(text: str) -> None:
    verdict = judge(
        Facts(content=f"Win big at {text} tonight"), output(), {"blocked_terms": ["casino"]}
    )
    assert verdict.action == "reject", text
    assert verdict.reasons[0]["term"] == "casino"


@pytest.mark.parametrize("text", ["occasionally", "casinos", "Casablanca", "cash in on it"])
def test_whole_words_only_unless_a_prefix_is_asked(text: str) -> None:
    assert judge(Facts(content=text), output(), {"blocked_terms": ["casino"]}).action == "approve"


def test_prefix_terms_and_phrases() -> None:
    assert judge(Facts(content="top casinos"), output(), {"blocked_terms": ["casino*"]}).action == (
        "reject"
    )
    phrase = {"blocked_terms": ["free money"]}
    for text in ["get FR33 M0NEY", "free-money", "f r e e  m o n e y", "freemoney"]:
        assert judge(Facts(content=text), output(), phrase).action == "reject", text


@pytest.mark.parametrize(
    ("facts", "field"),
    [
        (Facts(content="hello", author_name="Casino King"), "author_name"),
        (Facts(content="hello", author_email="win@best-c4sino.example"), "author_email"),
        (Facts(content="hello", author_url="https://cheapcasino.example/x"), "author_url"),
    ],
)
def test_terms_are_matched_in_author_fields(facts: Facts, field: str) -> None:
    verdict = judge(facts, output(), {"blocked_terms": ["casino"]})
    assert verdict.action == "reject"
    assert (verdict.reasons[0]["term"], verdict.reasons[0]["field"]) == ("casino", field)


@pytest.mark.parametrize(
    ("term", "ip", "blocked"),
    [
        ("203.0.113.7", "203.0.113.7", True),
        ("203.0.113.0/24", "203.0.113.99", True),
        ("203.0.113.0/24", "198.51.100.1", False),
        ("2001:db8::/32", "2001:db8::1", True),
        ("2001:db8::/32", "203.0.113.7", False),
    ],
)
def test_ip_terms_match_the_author_ip(term: str, ip: str, blocked: bool) -> None:
    verdict = judge(Facts(content="hello", author_ip=ip), output(), {"blocked_terms": [term]})
    assert (verdict.action == "reject") is blocked
    if blocked:
        assert verdict.reasons[0]["field"] == "author_ip"


def test_suspect_terms_use_the_same_matching() -> None:
    verdict = judge(Facts(content="v i a g r a"), output(), {"suspect_terms": ["viagra"]})
    assert (verdict.action, verdict.reasons[0]["field"]) == ("hold", "content")


# --- settings and copies ---------------------------------------------------------------------


def test_resolve_fills_defaults_and_merge_patches() -> None:
    settings = resolve({"max_links": 5, "flood": {"action": "reject"}})
    assert settings["max_links"] == 5 and settings["blocked_terms"] == []
    assert settings["flood"]["action"] == "reject" and settings["flood"]["copies"] == 3
    stored = {"max_links": 5, "flood": {"action": "reject", "copies": 4}}
    patched = merge(stored, {"max_links": None, "flood": {"copies": 6}, "languages": ["en"]})
    assert patched == {"flood": {"action": "reject", "copies": 6}, "languages": ["en"]}


def test_fingerprint_ignores_case_spacing_symbols_and_look_alikes() -> None:
    base = fingerprint("Great post! Visit my casino.")
    assert fingerprint("great   POST, visit my c\u0430sino") == base
    assert fingerprint("Great post! Visit my bakery.") != base
    assert fingerprint("!!!") is not None and fingerprint("") is None


def test_near_copies_share_a_band_and_unrelated_texts_do_not() -> None:
    base = (
        "Earn money fast from home with our amazing online offer, visit http://spam.example "
        "today and claim your free bonus"
    )
    near = base.replace("amazing", "incredible").replace("today", "now")
    other = "I really enjoyed this article about gardening and growing tomatoes up north."
    a, b, c = signature(base), signature(near), signature(other)
    assert jaccard(a.shingles, b.shingles) >= NEAR_JACCARD > jaccard(a.shingles, c.shingles)
    assert set(a.bands) & set(b.bands)
    assert not set(a.bands) & set(c.bands)
    assert signature("too short").bands == ()
