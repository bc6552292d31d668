"""The policy engine on real stored history, its admin API and its command.

Every test runs on both back ends. Where the queue is not what is tested, comments are stored
with the ingest code and decided in-process by ``decide_pending`` with a constant model, so the
scores are known and only the policy and the stored history vary.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from service.cli import cli
from service.db import session_scope
from service.decisions.floods import fingerprint
from service.decisions.pipeline import decide_pending
from service.models import AuditEntry, Comment, Site
from service.sites import NewSite
from tests.conftest import BEFORE_STORAGE, auth, wait_for
from tests.support.failing_model import FailsOn
from tests.support.stored import (
    ConstantModel,
    moderator_headers,
    reason_codes,
    sessions_of,
    store_and_decide,
    store_comment,
    store_policy,
)

pytestmark = pytest.mark.integration

# The model everyone would trust: approve below 1.0, never reject; so only rules decide.
PERMISSIVE = {
    "spam": {"approve_below": 1.0, "reject_at": 1.0},
    "toxicity": {"approve_below": 1.0, "reject_at": 1.0},
}
FLOOD_TEXT = "Amazing deals on replica watches in our shop today, the best prices guaranteed!"
NAMES = ["Anna", "Bert", "Carl", "Dora", "Emil", "Fritz"]


def near_copy(name: str) -> str:
    """One of a family of texts that differ only in the name: near copies, not exact ones."""
    return f"Hello {name}, amazing deals on replica watches at our shop today!"


def test_a_comment_the_model_fails_on_is_held_and_its_batch_is_decided(app, make_site) -> None:
    site = make_site()
    poison = "the one text the model fails on"
    ids = [
        store_comment(app, site, text) for text in ("Nice post.", poison, "Thanks, well argued.")
    ]
    decide_pending(sessions_of(app), ids, FailsOn(poison, ConstantModel()))
    with session_scope(sessions_of(app)) as session:
        first, failed, last = (session.get(Comment, i) for i in ids)
        assert (first.status, last.status) == ("approved", "approved")
        assert failed.status == "held" and reason_codes(failed) == ["model_error"]
        assert failed.scores == {} and failed.decided_by == "model"


# --- rules on stored history -----------------------------------------------------------------


def test_trusted_author_mid_spam_is_approved_and_others_are_held(app, make_site) -> None:
    site = make_site()
    for i in range(2):
        earlier = store_and_decide(
            app, site, f"Lovely write-up, number {i}.", email="Ann@Example.org"
        )
        assert earlier.status == "approved"

    trusted = store_and_decide(app, site, "Check my new page", spam=0.7, email="ann@example.org")
    assert (trusted.status, trusted.decided_by) == ("approved", "rule")
    assert reason_codes(trusted) == ["spam_score", "author_history"]
    assert trusted.reasons[-1]["kind"] == "trusted" and trusted.reasons[-1]["approved"] == 2

    stranger = store_and_decide(app, site, "Check my new page", spam=0.7, email="bob@example.org")
    assert (stranger.status, stranger.decided_by, reason_codes(stranger)) == (
        "held",
        "model",
        ["spam_score"],
    )
    very_high = store_and_decide(app, site, "Check my new page", spam=0.97, email="ann@example.org")
    assert (very_high.status, very_high.decided_by) == ("rejected", "model")

    other_site = make_site()
    elsewhere = store_and_decide(
        app, other_site, "Check my new page", spam=0.7, email="ann@example.org"
    )
    assert elsewhere.status == "held", "reputation is per site"


def test_recent_rejection_holds_the_authors_next_comment(app, make_site) -> None:
    site = make_site()
    assert (
        store_and_decide(app, site, "spam spam", spam=0.99, ip="198.51.100.4").status == "rejected"
    )
    clean = store_and_decide(app, site, "A fair and kind remark.", ip="198.51.100.4")
    assert (clean.status, clean.decided_by) == ("held", "rule")
    [reason] = clean.reasons
    assert (reason["code"], reason["kind"], reason["rejections"]) == (
        "author_history",
        "recent_rejections",
        1,
    )
    assert (
        store_and_decide(app, site, "A fair and kind remark.", ip="198.51.100.5").status
        == "approved"
    )


def test_burst_from_one_ip_is_held(app, make_site) -> None:
    site = make_site()
    store_policy(app, site, {"reputation": {"enabled": False}})
    statuses = [
        store_and_decide(app, site, f"Comment number {i} here.", ip="203.0.113.50").status
        for i in range(7)
    ]
    assert statuses == ["approved"] * 5 + ["held"] * 2
    last = store_and_decide(app, site, "One more.", ip="203.0.113.50", email="new@example.org")
    burst = [r for r in last.reasons if r.get("kind") == "burst"]
    assert burst and burst[0]["by"] == "ip" and burst[0]["count"] == 7


def test_flood_of_copies_across_posts_and_sites_is_held_after_the_first_few(app, make_site) -> None:
    first, second = make_site(), make_site()
    decided = [store_and_decide(app, (first, second)[i % 2], FLOOD_TEXT) for i in range(20)]
    assert [c.status for c in decided] == ["approved"] * 3 + ["held"] * 17
    assert all(reason_codes(c) == ["repeat_post"] for c in decided[3:])
    last = decided[-1].reasons[0]
    assert (last["copies"], last["other_sites"]) == (9, True), "the site's own copies only"

    store_policy(app, first, {"flood": {"action": "reject"}})
    disguised = "AMAZING deals on r3plica watches in our shop today - the best prices guaranteed"
    assert store_and_decide(app, first, disguised).status == "rejected"
    assert store_and_decide(app, second, disguised).status == "held"


def copy_numbers(reason: dict[str, Any]) -> set[Any]:
    """Every number a reason shows: its values, and the figures in its message."""
    figures = set(re.findall(r"\d+", reason["message"]))
    return {v for v in reason.values() if isinstance(v, int | float)} | figures


def test_a_site_is_not_shown_how_often_another_site_received_a_text(app, client, make_site) -> None:
    site_a, site_b = make_site(), make_site()
    for _ in range(7):
        store_and_decide(app, site_a, FLOOD_TEXT)
    first_on_b = store_and_decide(app, site_b, FLOOD_TEXT)
    assert (first_on_b.status, reason_codes(first_on_b)) == ("held", ["repeat_post"]), (
        "still detected"
    )
    [reason] = first_on_b.reasons
    assert not copy_numbers(reason) & {7, "7", 6, "6"}, reason
    assert (reason["copies"], reason["other_sites"]) == (0, True)
    shown = client.get(f"/v1/comments/{first_on_b.id}", headers=auth(site_b)).get_json()
    assert shown["decision"]["reasons"] == [reason], "the API shows B the same reason"

    second_on_b = store_and_decide(app, site_b, FLOOD_TEXT)
    [reason] = second_on_b.reasons
    assert (reason["copies"], reason["other_sites"]) == (1, True), "B's own copy is counted"
    assert "at least 1 time before on this site" in reason["message"]
    assert not copy_numbers(reason) & {7, "7", 8, "8"}, reason

    for name in NAMES[:5]:
        store_and_decide(app, site_a, near_copy(name))
    near = store_and_decide(app, site_b, near_copy("Zoe"))
    [reason] = near.reasons
    assert (near.status, reason["copies"], reason["other_sites"]) == ("held", 0, True)
    assert not copy_numbers(reason) & {5, "5", 4, "4"}, reason


def test_near_copies_count_as_a_flood(app, make_site) -> None:
    site = make_site()
    decided = [store_and_decide(app, site, near_copy(name)) for name in NAMES]
    assert len({c.fingerprint for c in decided}) == len(NAMES), "no two are exact copies"
    assert [c.status for c in decided] == ["approved"] * 3 + ["held"] * 3
    assert reason_codes(decided[-1]) == ["repeat_post"]
    unrelated = store_and_decide(
        app, site, "Hello Anna, I loved the part about the harbour in winter."
    )
    assert unrelated.status == "approved"


def test_near_copies_within_one_batch_count_as_a_flood(app, make_site) -> None:
    """A batch's histories are read together (on PostgreSQL in one pipeline): each comment
    still finds the bands of those before it in the batch."""
    site = make_site()
    ids = [store_comment(app, site, near_copy(name)) for name in NAMES]
    decide_pending(sessions_of(app), ids, ConstantModel())
    with session_scope(sessions_of(app)) as session:
        decided = [session.get_one(Comment, comment_id) for comment_id in ids]
        assert [c.status for c in decided] == ["approved"] * 3 + ["held"] * 3
        assert reason_codes(decided[-1]) == ["repeat_post"]


def test_ingest_stores_the_fingerprint(app, client, make_site) -> None:
    site = make_site()
    body = {"external_id": "fp-1", "content": "Great  POST, visit c\u0430sino!"}
    created = client.post("/v1/comments", json=body, headers=auth(site)).get_json()
    with session_scope(sessions_of(app)) as session:
        stored = session.get(Comment, created["id"])
        assert stored.fingerprint == fingerprint("great post visit casino")


# --- the admin API ---------------------------------------------------------------------------


def test_policy_api_needs_an_admin_of_the_site(app, client, make_site) -> None:
    site, other = make_site(), make_site()
    url = f"/v1/sites/{site.site.id}/policy"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401
    denied = client.put(
        url, json={"max_links": 1}, headers=moderator_headers(app, site, "moderator")
    )
    assert denied.status_code == 403 and denied.get_json()["error"]["code"] == "forbidden"
    hidden = client.patch(url, json={"max_links": 1}, headers=moderator_headers(app, other))
    assert hidden.status_code == 404 and hidden.get_json()["error"]["code"] == "not_found"
    with session_scope(sessions_of(app)) as session:
        assert session.get(Site, site.site.id).policy == {}


def test_policy_api_reads_replaces_and_patches(app, client, make_site) -> None:
    site = make_site()
    admin = moderator_headers(app, site)
    url = f"/v1/sites/{site.site.id}/policy"

    shown = client.get(url, headers=admin).get_json()
    assert shown["site_id"] == site.site.id and shown["max_links"] == 2
    assert shown["thresholds"] == {} and shown["model_version"]
    assert set(shown["effective_thresholds"]) == {"spam", "toxicity"}
    assert shown["flood"]["action"] == "hold" and shown["blocked_terms"] == []

    replaced = client.put(
        url,
        json={"blocked_terms": ["casino"], "thresholds": {"spam": {"approve_below": 0.3}}},
        headers=admin,
    )
    assert replaced.status_code == 200, replaced.get_json()
    body = replaced.get_json()
    assert body["blocked_terms"] == ["casino"] and body["effective_thresholds"]["spam"][
        "approve_below"
    ] == pytest.approx(0.3)

    patched = client.patch(
        url, json={"flood": {"action": "reject"}, "thresholds": None}, headers=admin
    ).get_json()
    assert patched["flood"] == {**shown["flood"], "action": "reject"}
    assert patched["blocked_terms"] == ["casino"] and patched["thresholds"] == {}

    round_trip = client.put(url, json=patched, headers=admin)
    assert round_trip.status_code == 200
    with session_scope(sessions_of(app)) as session:
        stored = session.get(Site, site.site.id).policy
        assert stored["flood"]["action"] == "reject" and "site_id" not in stored
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.site_id == site.site.id)
        ).all()
        assert [e.action for e in entries] == ["policy.update"] * 3


@BEFORE_STORAGE
@pytest.mark.parametrize(
    "body",
    [
        {"max_linkz": 3},
        {"flood": {"action": "delete"}},
        {"flood": {"surprise": 1}},
        {"thresholds": {"spam": {"approve_below": 0.9, "reject_at": 0.5}}},
        {"thresholds": {"spam": {"approve_below": 1.5}}},
        {"blocked_terms": ["!!!"]},
        {"languages": ["english please"]},
        {"max_links": -1},
    ],
)
def test_invalid_policies_are_422(app, client, make_site, body: dict[str, Any]) -> None:
    site = make_site()
    response = client.put(
        f"/v1/sites/{site.site.id}/policy", json=body, headers=moderator_headers(app, site)
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error" and error["details"]


def test_patch_is_checked_against_the_stored_policy(app, client, make_site) -> None:
    site = make_site()
    admin = moderator_headers(app, site)
    url = f"/v1/sites/{site.site.id}/policy"
    thresholds = {"thresholds": {"spam": {"approve_below": 0.4, "reject_at": 0.6}}}
    assert client.put(url, json=thresholds, headers=admin).status_code == 200
    clash = {"thresholds": {"spam": {"approve_below": 0.8}}}
    response = client.patch(url, json=clash, headers=admin)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_error"

    store_policy(app, site, {"max_links": 4, "written_by_hand": True})
    assert client.patch(url, json={"max_links": 3}, headers=admin).status_code == 200
    with session_scope(sessions_of(app)) as session:
        assert session.get(Site, site.site.id).policy == {"max_links": 3}


def test_policy_change_applies_to_the_next_comment_without_restart(
    app, client, make_site, worker
) -> None:
    site, other = make_site(), make_site()
    for each in (site, other):
        response = client.put(
            f"/v1/sites/{each.site.id}/policy",
            json={"thresholds": PERMISSIVE},
            headers=moderator_headers(app, each),
        )
        assert response.status_code == 200

    def decided(each: NewSite, external_id: str, content: str) -> dict[str, Any]:
        body = {"external_id": external_id, "content": content}
        comment_id = client.post("/v1/comments", json=body, headers=auth(each)).get_json()["id"]

        def status() -> dict[str, Any] | None:
            shown = client.get(f"/v1/comments/{comment_id}", headers=auth(each)).get_json()
            return shown if shown["status"] != "pending" else None

        return wait_for(status, timeout=30)

    assert decided(site, "before", "Poker night at my place?")["status"] == "approved"
    response = client.patch(
        f"/v1/sites/{site.site.id}/policy",
        json={"blocked_terms": ["poker"]},
        headers=moderator_headers(app, site),
    )
    assert response.status_code == 200
    after = decided(site, "after", "P0KER night at my place?")
    assert after["status"] == "rejected" and after["decision"]["decided_by"] == "rule"
    assert after["decision"]["reasons"][0] == {
        "code": "blocked_term",
        "message": "The content contains the blocked term 'poker'.",
        "term": "poker",
        "field": "content",
        "action": "reject",
    }
    assert decided(other, "other", "P0KER night at my place?")["status"] == "approved"


# --- the command -----------------------------------------------------------------------------


def test_sites_policy_command_shows_and_sets(stack, app, make_site) -> None:
    site = make_site()
    runner = CliRunner()
    name = site.site.name
    args = ["sites", "policy", name, "--json"]
    shown = runner.invoke(cli, args, env=stack.env)
    assert shown.exit_code == 0, shown.output
    assert '"max_links": 2' in shown.output

    changed = runner.invoke(
        cli,
        [
            *args,
            "--set",
            "blocked_terms=casino, poker",
            "--set",
            "flood.action=reject",
            "--set",
            "max_links=5",
        ],
        env=stack.env,
    )
    assert changed.exit_code == 0, changed.output
    with session_scope(sessions_of(app)) as session:
        assert session.get(Site, site.site.id).policy == {
            "blocked_terms": ["casino", "poker"],
            "flood": {"action": "reject"},
            "max_links": 5,
        }
    reset = runner.invoke(cli, [*args, "--set", "max_links=null"], env=stack.env)
    assert reset.exit_code == 0 and '"max_links": 2' in reset.output

    bad = runner.invoke(cli, [*args, "--set", "flood.action=delete"], env=stack.env)
    assert bad.exit_code != 0 and "action" in bad.output


def test_every_decision_has_a_reason_approvals_included(app, make_site) -> None:
    site = make_site()
    plain = store_and_decide(app, site, "Thanks, this helped.")
    assert (plain.status, reason_codes(plain)) == ("approved", ["below_thresholds"])
    assert plain.reasons[0]["scores"]["spam"] == 0.05
    held = store_and_decide(app, site, "Buy cheap pills", spam=0.7)
    rejected = store_and_decide(app, site, "Buy cheap pills now", spam=0.999)
    for comment in (plain, held, rejected):
        assert comment.reasons, f"{comment.status} without a reason"
    assert held.status == "held" and rejected.status == "rejected"
