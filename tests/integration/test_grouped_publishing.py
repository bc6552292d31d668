"""Comments accepted together are queued as one message, and a worker decides every one of them;
both back ends."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from service.db import session_scope
from service.models import Comment
from tests.conftest import auth, wait_for
from workers.broker import queue_length
from workers.celery_app import QUEUE, SCORE_TASK

pytestmark = pytest.mark.integration


def _messages(celery) -> list[list[str]]:
    """The score messages waiting in the queue, as their lists of comment ids (taken off it)."""
    found = []
    with celery.connection_for_read() as connection:
        queue = connection.SimpleQueue(QUEUE, no_ack=True)
        while True:
            try:
                message = queue.get(block=True, timeout=0.5)
            except queue.Empty:
                break
            assert message.headers["task"] == SCORE_TASK
            args, _kwargs, _embed = message.decode()
            found.append([str(a) for a in args])
        queue.close()
    return found


def test_comments_posted_together_go_out_as_one_message_and_are_all_decided(
    app, client, make_site, stack
) -> None:
    site = make_site()
    headers = auth(site)
    celery = app.extensions["commentgate"].celery
    bodies = [{"external_id": uuid.uuid4().hex, "content": f"Thanks, post {n}!"} for n in range(8)]

    def post(body: dict) -> str:
        response = app.test_client().post("/v1/comments", json=body, headers=headers)
        assert response.status_code == 202
        return response.get_json()["id"]

    # one group: ids handed over within the publisher's window go out together
    grouped = app.extensions["commentgate"].scoring
    grouped.window = 0.5
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(post, bodies))
    wait_for(lambda: queue_length(celery) > 0, timeout=10)
    time.sleep(0.6)
    messages = _messages(celery)
    assert sorted(i for m in messages for i in m) == sorted(ids), "every id exactly once"
    assert len(messages) < len(ids), messages

    grouped.window = 0.002
    for message in messages:  # put them back as they were, for a real worker to decide
        celery.send_task(SCORE_TASK, args=message)
    stack.start_worker()
    sessions = app.extensions["commentgate"].sessions

    def decided() -> bool:
        with session_scope(sessions) as session:
            return all(session.get(Comment, i).status != "pending" for i in ids)

    wait_for(decided, timeout=60)
