"""A webhook secret rotation with overlap, through the real command line, worker and receiver:
during the overlap a platform holding either secret verifies every webhook with the
``standardwebhooks`` library; after it, only the new secret does."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from service.db import session_scope
from service.models import Site, utcnow
from tests.conftest import Stack, auth, wait_for

pytestmark = pytest.mark.integration


def delivered(client, site, receiver, external_id: str) -> dict:
    body = {"external_id": external_id, "content": "Thanks, a thoughtful post."}
    comment_id = client.post("/v1/comments", json=body, headers=auth(site)).get_json()["id"]
    [event] = wait_for(lambda: receiver.events_for(comment_id), timeout=15)
    return event


@pytest.mark.parametrize("stack", ["postgres-redis"], indirect=True)
def test_both_secrets_verify_during_the_overlap_and_only_the_new_one_after(
    stack: Stack, app, client, make_site, worker, webhook_receiver
) -> None:
    site = make_site(webhook_receiver.url)
    old = site.site.webhook_secret
    rotated = stack.cli_json("sites", "rotate-secret", site.site.name, "--overlap-hours", "2")
    new = rotated["webhook_secret"]
    assert new != old and new.startswith("whsec_") and rotated["previous_secret_expires_at"]

    during = delivered(client, site, webhook_receiver, "during")
    assert len(during["headers"]["webhook-signature"].split(" ")) == 2
    for secret in (new, old):
        payload = Webhook(secret).verify(during["body"], during["headers"])
        assert payload["data"]["external_id"] == "during"

    with session_scope(app.extensions["commentgate"].sessions) as session:
        row = session.get(Site, site.site.id)
        row.previous_webhook_secret_expires_at = utcnow() - timedelta(seconds=1)

    after = delivered(client, site, webhook_receiver, "after")
    assert " " not in after["headers"]["webhook-signature"]
    assert Webhook(new).verify(after["body"], after["headers"])["data"]["external_id"] == "after"
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(after["body"], after["headers"])

    shown = stack.cli_json("sites", "show", site.site.name)
    ended = datetime.fromisoformat(shown["previous_secret_expires_at"].replace("Z", "+00:00"))
    assert ended < utcnow()
