"""A site's threshold trade-off through the admin API and ``commentgate sites thresholds``.

Every test runs on both back ends, with the model the fixtures train. Where the site's own
curve is tested, comments are stored and scored in-process by a constant model per comment, and
labeled through the moderation API as a moderator would.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from service.cli import cli
from service.db import session_scope
from service.models import AuditEntry, Site
from service.sites import NewSite
from service.thresholds import MIN_SITE_BAD, MIN_SITE_LEGIT
from tests.conftest import BEFORE_STORAGE
from tests.support.stored import moderator_headers, sessions_of, store_and_decide

pytestmark = pytest.mark.integration


def url(site: NewSite) -> str:
    return f"/v1/sites/{site.site.id}/policy/thresholds"


def point(curve: dict[str, Any], target: float) -> dict[str, Any]:
    return next(p for p in curve["points"] if p["target"] == target)


def stored_thresholds(app, site: NewSite) -> dict[str, Any]:
    with session_scope(sessions_of(app)) as session:
        return (session.get(Site, site.site.id).policy or {}).get("thresholds") or {}


def scored(app, site: NewSite, spam: float) -> str:
    """A comment stored as the API does and decided by a model that gives it ``spam``."""
    return store_and_decide(app, site, f"A comment {uuid.uuid4().hex}", spam).id


# --- the admin API ---------------------------------------------------------------------------


def test_thresholds_api_needs_an_admin_of_the_site(app, client, make_site) -> None:
    site, other = make_site(), make_site()
    body = {"task": "spam", "approve_legit": 0.9}
    assert client.get(url(site)).status_code == 401
    assert client.put(url(site), json=body).status_code == 401
    denied = client.put(url(site), json=body, headers=moderator_headers(app, site, "moderator"))
    assert denied.status_code == 403 and denied.get_json()["error"]["code"] == "forbidden"
    assert (
        client.get(url(site), headers=moderator_headers(app, site, "moderator")).status_code == 403
    )
    hidden = client.put(url(site), json=body, headers=moderator_headers(app, other))
    assert hidden.status_code == 404 and hidden.get_json()["error"]["code"] == "not_found"
    assert stored_thresholds(app, site) == {}


def test_a_target_from_the_model_curve_sets_the_sites_threshold(app, client, make_site) -> None:
    site = make_site()
    admin = moderator_headers(app, site)
    shown = client.get(url(site), headers=admin)
    assert shown.status_code == 200, shown.get_json()
    spam = shown.get_json()["tasks"]["spam"]
    assert spam["source"] == "model" and spam["site_labels"] == {"legit": 0, "bad": 0}
    [curve] = spam["curves"]
    assert curve["labels"]["legit"] > 0 and curve["labels"]["bad"] > 0
    chosen = point(curve, 0.9)

    response = client.put(url(site), json={"task": "spam", "approve_legit": 0.9}, headers=admin)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["source"] == "model" and body["point"] == chosen
    assert body["previous"] == spam["current"]
    assert body["thresholds"]["approve_below"] == chosen["approve_below"]
    assert body["thresholds"]["reject_at"] >= chosen["approve_below"]
    assert stored_thresholds(app, site)["spam"]["approve_below"] == chosen["approve_below"]

    policy = client.get(f"/v1/sites/{site.site.id}/policy", headers=admin).get_json()
    assert policy["effective_thresholds"]["spam"] == body["thresholds"]
    again = client.get(url(site), headers=admin).get_json()["tasks"]["spam"]
    assert again["current"] == body["thresholds"]
    nearest = again["curves"][0]["points"][again["curves"][0]["nearest"]]
    assert nearest["approve_below"] == chosen["approve_below"]
    with session_scope(sessions_of(app)) as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.site_id == site.site.id))
        assert entry.action == "policy.update" and entry.moderator_id
        assert entry.details["change"]["approve_legit"] == 0.9


@BEFORE_STORAGE
@pytest.mark.parametrize(
    "body",
    [
        {"task": "links", "approve_legit": 0.9},
        {"task": "spam", "approve_legit": 1.5},
        {"task": "spam", "approve_legit": 0},
        {"task": "spam", "approve_legit": "most"},
        {"task": "spam", "approve_legit": 0.999},
        {"task": "spam"},
        {"approve_legit": 0.9},
        {"task": "spam", "approve_legit": 0.9, "reject_at": 0.99},
    ],
)
def test_invalid_targets_are_422(app, client, make_site, body: dict[str, Any]) -> None:
    site = make_site()
    response = client.put(url(site), json=body, headers=moderator_headers(app, site))
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_error" and error["details"]
    assert stored_thresholds(app, site) == {}


def test_with_enough_labels_the_site_curve_sets_the_threshold(app, client, make_site) -> None:
    site = make_site()
    admin = moderator_headers(app, site)
    labels = [(i / 100, "ham") for i in range(1, MIN_SITE_LEGIT + 1)]
    labels += [(0.6 + i / 100, "spam") for i in range(MIN_SITE_BAD)]
    for spam, label in labels:
        comment_id = scored(app, site, spam)
        action = "approve" if label == "ham" else "reject"
        decided = client.post(
            f"/v1/moderation/comments/{comment_id}/decision",
            json={"action": action, "label": label},
            headers=admin,
        )
        assert decided.status_code == 200, decided.get_json()

    spam = client.get(url(site), headers=admin).get_json()["tasks"]["spam"]
    assert spam["source"] == "site"
    assert spam["site_labels"] == {"legit": MIN_SITE_LEGIT, "bad": MIN_SITE_BAD}
    assert [c["source"] for c in spam["curves"]] == ["site", "model"]
    assert point(spam["curves"][0], 0.9)["approve_below"] == 0.270001

    response = client.put(url(site), json={"task": "spam", "approve_legit": 0.9}, headers=admin)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    # 27 of the 30 legitimate scores (0.01 ... 0.27) fall below it, no bad one does
    assert body["source"] == "site" and body["labels"] == spam["site_labels"]
    assert body["point"]["approve_below"] == 0.270001
    assert body["point"]["legit_approved"] == 0.9 and body["point"]["bad_approved"] == 0.0
    assert stored_thresholds(app, site)["spam"]["approve_below"] == 0.270001


# --- the command -----------------------------------------------------------------------------


def test_sites_thresholds_command_shows_and_sets(stack, app, make_site) -> None:
    site = make_site()
    runner = CliRunner()
    args = ["sites", "thresholds", site.site.name]

    shown = runner.invoke(cli, [*args, "--json"], env=stack.env)
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.output)
    assert set(document["tasks"]) == {"spam", "toxicity"}
    curve = document["tasks"]["toxicity"]["curves"][0]
    assert curve["source"] == "model"

    table = runner.invoke(cli, [*args, "--task", "toxicity"], env=stack.env)
    assert table.exit_code == 0, table.output
    assert "the model's dev data" in table.output and "current" in table.output
    assert "spam" not in table.output.replace(site.site.name, "")

    chosen = point(curve, 0.8)
    changed = runner.invoke(
        cli, [*args, "--task", "toxicity", "--approve-legit", "0.8", "--json"], env=stack.env
    )
    assert changed.exit_code == 0, changed.output
    assert json.loads(changed.output)["point"] == chosen
    assert stored_thresholds(app, site)["toxicity"]["approve_below"] == chosen["approve_below"]

    toxicity = [*args, "--task", "toxicity"]
    said = runner.invoke(cli, [*toxicity, "--approve-legit", "0.8"], env=stack.env)
    assert said.exit_code == 0 and f"approve below {chosen['approve_below']:.4f}" in said.output

    no_task = runner.invoke(cli, [*args, "--approve-legit", "0.8"], env=stack.env)
    assert no_task.exit_code == 2 and "--task" in no_task.output
    too_much = runner.invoke(cli, [*toxicity, "--approve-legit", "1.5"], env=stack.env)
    assert too_much.exit_code == 2
    unknown = runner.invoke(cli, ["sites", "thresholds", "no-such-site"], env=stack.env)
    assert unknown.exit_code == 1 and "no-such-site" in unknown.output
