"""Receivers that answer slowly or at length hold a worker's delivery thread no longer than the
webhook timeout (3 s in these stacks), through real worker processes on both back ends."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from service.db import session_scope
from service.models import WebhookAttempt, WebhookDelivery
from tests.conftest import wait_for
from tests.support.stored import submit

pytestmark = pytest.mark.integration

TIMEOUT_MS = 3000


def recorded(app, comment_id: str) -> tuple[Any, list[tuple[Any, ...]]] | None:
    """The comment's delivery and its attempts so far, once there is a delivery."""
    with session_scope(app.extensions["commentgate"].sessions) as session:
        delivery = session.scalar(
            select(WebhookDelivery).where(WebhookDelivery.comment_id == comment_id)
        )
        if delivery is None:
            return None
        attempts = session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery.id)
            .order_by(WebhookAttempt.id)
        ).all()
        session.expunge(delivery)
        return delivery, [(a.status_code, a.error, a.latency_ms) for a in attempts]


@pytest.mark.parametrize("stack", ["postgres-redis"], indirect=True)  # the HTTP client's limit
def test_a_trickling_answer_is_cut_off_at_the_timeout_and_retried(
    app, client, make_site, worker, start_receiver
) -> None:
    """Headers at once, then a byte a second: no read ever times out, and the whole answer would
    take a minute. Each attempt ends at 3 s, is recorded as failed, and another follows."""
    receiver = start_receiver("--drip", "1")
    response = submit(client, make_site(receiver.url), "slow-1")
    assert response.status_code == 202
    comment_id = response.get_json()["id"]

    def two_attempts():
        found = recorded(app, comment_id)
        return found if found and len(found[1]) >= 2 else None

    delivery, attempts = wait_for(two_attempts, timeout=25, interval=0.2)
    assert delivery.status == "pending" and delivery.attempts >= 2
    for status_code, error, latency in attempts[:2]:
        assert status_code is None  # the headers came, the answer never did: no status
        assert error == "DeadlineExceeded: no complete answer within 3s"
        assert TIMEOUT_MS <= latency < TIMEOUT_MS + 1500
    assert len(receiver.requests()) >= 2


def test_a_huge_answer_is_left_unread_and_the_event_delivered(
    app, client, make_site, worker, start_receiver
) -> None:
    size = 64 << 20
    receiver = start_receiver("--body-bytes", str(size))
    response = submit(client, make_site(receiver.url), "slow-1")
    assert response.status_code == 202
    comment_id = response.get_json()["id"]

    def delivered():
        found = recorded(app, comment_id)
        return found if found and found[0].status == "delivered" else None

    delivery, attempts = wait_for(delivered, timeout=20, interval=0.2)
    assert [(code, error) for code, error, _ in attempts] == [(200, None)]
    sent_log = receiver.log.with_name(receiver.log.name + ".sent")
    wait_for(sent_log.exists, timeout=10)
    [record] = [json.loads(line) for line in sent_log.read_text().splitlines()]
    assert record["sent"] < size // 2  # what socket buffers held, not the 64 MiB
