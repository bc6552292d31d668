"""What an edit's re-decision may change, given who decided the earlier text."""

from __future__ import annotations

import pytest

from service.decisions.edits import EDITED_AFTER_APPROVAL, REJECTED_BEFORE_EDIT, after_edit, settle
from service.decisions.policy import Verdict
from service.models import Comment

SPAM = Verdict("reject", "model", [{"code": "spam_score", "action": "reject"}])
HELD = Verdict("hold", "rule", [{"code": "too_many_links", "action": "hold"}])
FINE = Verdict("approve", "model", [{"code": "below_thresholds", "action": "approve"}])


@pytest.mark.parametrize("verdict", [SPAM, HELD, FINE])
@pytest.mark.parametrize("by", ["model", "rule"])
def test_an_automatic_decision_gives_way_to_the_new_texts_verdict(verdict, by) -> None:
    assert after_edit("approve", by, verdict) == verdict


def test_a_moderators_approval_holds_new_spam_for_review_instead_of_rejecting_it() -> None:
    settled = after_edit("approve", "moderator", SPAM)
    assert (settled.action, settled.decided_by) == ("hold", "rule")
    first = settled.reasons[0]
    assert first["code"] == EDITED_AFTER_APPROVAL and first["would_be"] == "reject"
    assert settled.reasons[1:] == SPAM.reasons


def test_a_moderators_approval_stands_when_the_new_text_is_fine() -> None:
    assert after_edit("approve", "moderator", FINE) == FINE


def test_a_moderators_rejection_stands_whatever_the_new_text() -> None:
    settled = after_edit("reject", "moderator", FINE)
    assert settled.action == "reject"
    assert settled.reasons[0]["code"] == REJECTED_BEFORE_EDIT


def pending(action: str | None, by: str | None = "model") -> Comment:
    return Comment(status="pending", action=action, decided_by=by if action else None)


def test_a_first_decision_always_notifies() -> None:
    assert settle(pending(None), FINE) == (FINE, True)


@pytest.mark.parametrize(
    ("before", "verdict", "notify"),
    [
        ("approve", SPAM, True),
        ("approve", FINE, False),
        ("hold", HELD, False),
        ("hold", FINE, True),
    ],
)
def test_a_redecision_notifies_only_when_the_action_changes(before, verdict, notify) -> None:
    assert settle(pending(before), verdict) == (verdict, notify)
