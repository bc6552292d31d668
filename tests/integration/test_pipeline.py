"""The whole pipeline through real worker processes: API → store → Celery → decision → webhook.

Every test runs on both back ends: SQLite + the embedded broker, and PostgreSQL + Redis.
"""

from __future__ import annotations

import json
import signal
import time

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from service.db import session_scope
from service.models import WebhookAttempt, WebhookDelivery
from tests.conftest import auth, stop_process, wait_for
from tests.support.stored import submit

pytestmark = pytest.mark.integration


def test_comment_is_decided_and_signed_webhook_verifies(
    client, make_site, worker, webhook_receiver
) -> None:
    site = make_site(webhook_receiver.url)
    started = time.monotonic()
    response = submit(
        client,
        site,
        "c-1",
        post={"id": "p-1", "url": "https://blog.example/p-1", "title": "On Iraq"},
        author={"name": "Ann", "email": "ann@example.org", "ip": "203.0.113.9"},
    )
    assert response.status_code == 202
    created = response.get_json()
    assert created["status"] == "pending" and created["external_id"] == "c-1"

    def decided():
        body = client.get(f"/v1/comments/{created['id']}", headers=auth(site)).get_json()
        return body if body["status"] != "pending" else None

    comment = wait_for(decided, timeout=10)
    assert time.monotonic() - started < 2.0, "decision took longer than 2 s"
    decision = comment["decision"]
    assert decision["action"] in {"approve", "hold", "reject"}
    assert set(decision["scores"]) >= {"spam", "toxicity"}
    assert decision["model_version"]
    assert decision["decided_by"] in {"model", "rule"}

    [event] = wait_for(lambda: webhook_receiver.events_for(created["id"]), timeout=10)
    payload = Webhook(site.site.webhook_secret).verify(event["body"], event["headers"])
    assert payload["type"] == "comment.decided"
    assert payload["data"]["external_id"] == "c-1"
    assert payload["data"]["action"] == decision["action"]
    assert payload["data"]["status"] == comment["status"] != "pending"
    assert payload["data"]["scores"] == decision["scores"]
    with pytest.raises(Exception, match="(?i)signature"):
        Webhook("whsec_" + "A" * 44).verify(event["body"], event["headers"])


def test_failing_receiver_gets_event_later_and_attempts_are_recorded(
    app, client, make_site, worker, start_receiver
) -> None:
    receiver = start_receiver("--fail-first", "2")
    site = make_site(receiver.url)
    comment_id = submit(client, site, "flaky-1").get_json()["id"]

    [event] = wait_for(lambda: receiver.events_for(comment_id), timeout=30)
    assert event["attempt"] == 3
    Webhook(site.site.webhook_secret).verify(event["body"], event["headers"])
    ids = {r["headers"]["webhook-id"] for r in receiver.requests()}
    assert len(ids) == 1, "every attempt carries the same webhook-id"

    sessions = app.extensions["commentgate"].sessions

    def recorded():
        with session_scope(sessions) as session:
            delivery = session.scalar(
                select(WebhookDelivery).where(WebhookDelivery.comment_id == comment_id)
            )
            attempts = session.scalars(
                select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id)
            ).all()
            if delivery.status != "delivered":
                return None
            return delivery, [(a.status_code, a.error, a.latency_ms) for a in attempts]

    delivery, attempts = wait_for(recorded, timeout=10)
    assert delivery.attempts == 3
    assert [code for code, _, _ in attempts] == [503, 503, 200]
    assert attempts[0][1] == "HTTP 503" and attempts[2][1] is None
    assert all(latency is not None and latency >= 0 for _, _, latency in attempts)


def test_worker_killed_holding_tasks_loses_nothing(
    stack, client, make_site, start_receiver
) -> None:
    """SIGKILL a worker while it holds tasks (a slow platform keeps it busy); a new one finishes."""
    slow = start_receiver("--delay", "30")
    site = make_site(slow.url)
    first = stack.start_worker(concurrency=2)
    ids = [submit(client, site, f"kill-{i}").get_json()["id"] for i in range(20)]
    arrived = slow.log.with_name(slow.log.name + ".arrived")
    wait_for(arrived.exists, timeout=20)
    stop_process(first, signal.SIGKILL)

    slow.stop()
    fast = start_receiver(port=slow.port)
    stack.start_worker(concurrency=2)
    wait_for(
        lambda: {json.loads(r["body"])["data"]["comment_id"] for r in fast.delivered()} >= set(ids),
        timeout=60,
    )
    for comment_id in ids:
        body = client.get(f"/v1/comments/{comment_id}", headers=auth(site)).get_json()
        assert body["status"] in {"approved", "held", "rejected"}
