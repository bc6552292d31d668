"""Signatures during a secret rotation, checked with the ``standardwebhooks`` library that
platforms verify with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from service.security import new_webhook_secret
from service.sites import overlapping_secret
from service.webhooks import signed_headers

BODY = '{"type":"comment.decided","data":{"action":"approve"}}'


def test_during_an_overlap_either_secret_verifies() -> None:
    new, old = new_webhook_secret(), new_webhook_secret()
    headers = signed_headers(new, "msg_1", BODY, datetime.now(UTC), previous=old)
    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    for secret in (new, old):
        assert Webhook(secret).verify(BODY, headers)["type"] == "comment.decided"
    with pytest.raises(WebhookVerificationError):
        Webhook(new_webhook_secret()).verify(BODY, headers)


def test_without_an_overlap_only_the_current_secret_verifies() -> None:
    new, old = new_webhook_secret(), new_webhook_secret()
    headers = signed_headers(new, "msg_2", BODY, datetime.now(UTC))
    assert " " not in headers["webhook-signature"]
    Webhook(new).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(BODY, headers)


def test_the_previous_secret_signs_only_until_its_overlap_ends() -> None:
    now = datetime.now(UTC)
    assert overlapping_secret("whsec_old", now + timedelta(seconds=1), now) == "whsec_old"
    assert overlapping_secret("whsec_old", now, now) is None
    assert overlapping_secret("whsec_old", None, now) is None
    assert overlapping_secret(None, now + timedelta(hours=1), now) is None
