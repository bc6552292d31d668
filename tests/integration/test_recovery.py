"""A worker alone recovers lost work: no separate scheduler process is needed.

The worker is started exactly as ``commentgate worker`` starts it, with no ``celery beat``
anywhere; the test settings make the sweep run every second and re-enqueue what has waited
3 seconds (``COMMENTGATE_SWEEP_INTERVAL`` and ``COMMENTGATE_PENDING_TIMEOUT``).
"""

from __future__ import annotations

import json
import signal
import time
from datetime import timedelta

import pytest

from service.db import session_scope
from service.leases import take
from service.models import Comment, utcnow
from service.sites import NewSite
from tests.conftest import Stack, auth, stop_process, wait_for
from tests.support.stored import store_comment

pytestmark = pytest.mark.integration

# What the sweep may take after a comment is due: one interval, the queue's polling and the
# decision itself, with room for a slow, shared machine.
WITHIN_SECONDS = 12.0


def status_of(app, comment_id: str) -> str:
    with session_scope(app.extensions["commentgate"].sessions) as session:
        return session.get(Comment, comment_id).status


def test_a_pending_comment_no_message_names_is_decided_by_a_worker_alone(
    app, stack: Stack, make_site
) -> None:
    """Stored but never published (the API's publish was lost): only the sweep can find it."""
    site: NewSite = make_site()
    comment_id = store_comment(app, site, "A comment whose queue message was lost.")
    with session_scope(app.extensions["commentgate"].sessions) as session:
        session.get(Comment, comment_id).enqueued_at = utcnow() - timedelta(minutes=5)
    stack.start_worker()
    started = time.monotonic()
    wait_for(lambda: status_of(app, comment_id) != "pending", timeout=30)
    assert time.monotonic() - started < WITHIN_SECONDS
    log = "".join(p.read_text(errors="replace") for p in stack.home.glob("worker-*.log"))
    assert "sweep re-enqueued 1 comments" in log


def test_a_killed_workers_comments_are_decided_by_the_next_worker_alone(
    app, client, stack: Stack, make_site, start_receiver
) -> None:
    """SIGKILL a worker holding messages (on Redis they would wait an hour to come back); a
    worker started after it, without any scheduler, decides and delivers everything."""
    slow = start_receiver("--delay", "30")
    site = make_site(slow.url)
    first = stack.start_worker(concurrency=1)
    ids = [
        client.post(
            "/v1/comments",
            json={"external_id": f"k{i}", "content": "Kind words."},
            headers=auth(site),
        ).get_json()["id"]
        for i in range(10)
    ]
    arrived = slow.log.with_name(slow.log.name + ".arrived")
    wait_for(arrived.exists, timeout=30)
    stop_process(first, signal.SIGKILL)
    slow.stop()
    fast = start_receiver(port=slow.port)

    stack.start_worker(concurrency=1)
    started = time.monotonic()
    wait_for(
        lambda: {json.loads(r["body"])["data"]["comment_id"] for r in fast.delivered()} >= set(ids),
        timeout=60,
    )
    assert time.monotonic() - started < 3 * WITHIN_SECONDS
    assert {status_of(app, comment_id) for comment_id in ids} <= {"approved", "held", "rejected"}


def test_one_lease_holder_at_a_time(app) -> None:
    """Workers all publish the sweep; the lease lets one of them do it per period."""
    now = utcnow()
    sessions = app.extensions["commentgate"].sessions

    def ask(at: float, seconds: float = 10.0) -> bool:
        with session_scope(sessions) as session:
            return take(session, "test-job", now + timedelta(seconds=at), seconds)

    assert ask(0) is True, "nobody holds it yet"
    assert ask(1) is False and ask(9.9) is False, "held until its time is up"
    assert ask(10) is True, "then the next caller takes it"
    assert ask(15) is False
    with session_scope(sessions) as session:
        assert take(session, "another-job", now, 10) is True, "each job has a lease of its own"
