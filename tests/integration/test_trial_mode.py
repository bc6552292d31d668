"""Trial mode through the real service: comments are decided and kept as usual, nothing is
acted on (webhooks say ``"trial": true`` or are not sent, Akismet answers ``false``,
Perspective never refuses), and ``sites report`` counts exactly the stored decisions."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from service.db import session_scope
from service.models import Comment, Decision, Site, WebhookDelivery
from tests.conftest import REPO, Stack, auth, wait_for
from tests.support.stored import site_comments
from tests.support.texts import HAM, MORE_SPAM, SPAM, SPAM_THRESHOLDS

pytestmark = pytest.mark.integration


def post(client, site, external_id: str, content: str) -> str:
    body = {"external_id": external_id, "content": content}
    return client.post("/v1/comments", json=body, headers=auth(site)).get_json()["id"]


def akismet_check(client, site, content: str, author: str) -> Any:
    form = {
        "api_key": site.api_key,
        "blog": "https://blog.example",
        "user_ip": "203.0.113.7",
        "permalink": "https://blog.example/2024/01/on-iraq/",
        "comment_author": author,
        "comment_content": content,
    }
    return client.post("/1.1/comment-check", data=form), form


@pytest.mark.parametrize("stack", ["postgres-redis"], indirect=True)
def test_trial_mode_decides_and_keeps_everything_and_acts_on_nothing(
    stack: Stack, app, client, make_site, worker, start_receiver
) -> None:
    webhook_receiver = start_receiver()
    site = make_site(webhook_receiver.url)
    name = site.site.name
    document = stack.cli_json("sites", "policy", name, "--set", "mode=trial")
    assert document["mode"] == "trial" and document["trial_webhooks"] == "send"
    with session_scope(app.extensions["commentgate"].sessions) as session:
        row = session.get(Site, site.site.id)
        row.policy = {**row.policy, "thresholds": SPAM_THRESHOLDS}

    ham, spam = post(client, site, "c-ham", HAM), post(client, site, "c-spam", SPAM)
    events = wait_for(
        lambda: len(webhook_receiver.delivered()) == 2 and webhook_receiver.delivered()
    )
    payloads = {}
    for event in events:
        payload = Webhook(site.site.webhook_secret).verify(event["body"], event["headers"])
        assert payload["trial"] is True and payload["data"]["trial"] is True
        payloads[payload["data"]["comment_id"]] = payload["data"]
    assert payloads[ham]["action"] == "approve" and payloads[spam]["action"] == "reject"

    # Akismet: spam is decided and kept as spam, and answered "not spam"
    answer, form = akismet_check(client, site, MORE_SPAM, "Spammer")
    assert answer.get_data(as_text=True) == "false"
    assert "X-akismet-pro-tip" not in answer.headers
    guid = answer.headers["X-akismet-guid"]
    statuses = {c.id: c.status for c in site_comments(app, site)}
    assert statuses == {ham: "approved", spam: "rejected", guid: "rejected"}

    # Perspective: a language the site refuses is scored anyway during the trial
    with session_scope(app.extensions["commentgate"].sessions) as session:
        row = session.get(Site, site.site.id)
        row.policy = {**row.policy, "perspective_languages": "reject"}
    scored = client.post(
        f"/v1alpha1/comments:analyze?key={site.api_key}",
        json={
            "comment": {"text": HAM},
            "languages": ["xx"],
            "requestedAttributes": {"TOXICITY": {}},
        },
    )
    assert scored.status_code == 200, scored.get_json()
    assert 0 <= scored.get_json()["attributeScores"]["TOXICITY"]["summaryScore"]["value"] <= 1

    # The platform's labels: the Akismet spam confirmed, the API spam said to be ham
    client.post("/1.1/submit-spam", data={**form, "guid": guid})
    client.post("/1.1/submit-ham", data={**form, "guid": spam, "comment_content": SPAM})

    report = stack.cli_json("sites", "report", name)
    with session_scope(app.extensions["commentgate"].sessions) as session:
        decisions = session.scalars(
            select(Decision).join(Comment).where(Comment.site_id == site.site.id)
        ).all()
        actions = Counter(d.action for d in decisions)
        reasons = Counter(
            r["code"] for d in decisions for r in {x["code"]: x for x in d.reasons}.values()
        )
    assert report["mode"] == "trial" and report["decided"] == len(decisions) == 4
    assert report["by_action"] == {"approve": 0, "hold": 0, "reject": 0, **actions}
    assert report["by_reason"] == dict(reasons)
    spam_table = report["labels"]["spam"]
    assert spam_table["labeled"] == 2 and spam_table["agreement"] == 0.5
    assert spam_table["confusion"]["reject"] == {"spam": 1, "ham": 1}
    shown = subprocess.run(
        [sys.executable, "-m", "service.cli", "sites", "report", name],
        cwd=REPO,
        env=stack.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "(trial mode): 4 comments" in shown and "Agreement: 50.0%" in shown

    # A trial site that wants no webhooks gets none; a site that enforces, unmarked ones
    other = start_receiver()
    quiet, loud = make_site(other.url), make_site(other.url)
    with session_scope(app.extensions["commentgate"].sessions) as session:
        session.get(Site, quiet.site.id).policy = {"mode": "trial", "trial_webhooks": "none"}
    silent, heard = post(client, quiet, "q-1", SPAM), post(client, loud, "l-1", HAM)
    wait_for(lambda: other.events_for(heard), timeout=15)
    wait_for(lambda: all(c.status != "pending" for c in site_comments(app, quiet)), timeout=15)
    with session_scope(app.extensions["commentgate"].sessions) as session:
        query = select(WebhookDelivery).where(WebhookDelivery.comment_id == silent)
        assert session.scalars(query).all() == []
    assert not other.events_for(silent)
    [event] = other.events_for(heard)
    assert "trial" not in Webhook(loud.site.webhook_secret).verify(event["body"], event["headers"])
