"""Faults survived by real processes: broker outage, database restart, platform down for long.

Each test fails if an accepted comment is never decided or its webhook never delivered.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from service.db import session_scope
from service.models import WebhookDelivery
from tests.conftest import REPO, Stack, _make_stack, auth, free_port, serve, stop_process, wait_for
from tests.support.local import restart_postgres
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.integration


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def _post(base: str, site, external_id: str) -> requests.Response:
    return requests.post(
        f"{base}/v1/comments",
        json={"external_id": external_id, "content": f"Comment {external_id}, thanks."},
        headers=auth(site),
        timeout=10,
    )


def _delivered_ids(receiver) -> set[str]:
    return {json.loads(r["body"])["data"]["comment_id"] for r in receiver.delivered()}


def test_redis_outage_under_load_loses_nothing(
    tmp_path, model_dir, postgres_url, private_redis, make_site_for, start_receiver
) -> None:
    stack = _make_stack(
        "redis-outage",
        tmp_path,
        model_dir,
        {"COMMENTGATE_DATABASE_URL": postgres_url, "COMMENTGATE_BROKER_URL": private_redis.url},
    )
    receiver = start_receiver()
    site = make_site_for(stack, receiver.url)
    server, base = serve(stack)
    try:
        stack.start_worker()
        accepted: list[str] = []
        for i in range(30):
            response = _post(base, site, f"before-{i}")
            assert response.status_code == 202
            accepted.append(response.json()["id"])

        private_redis.stop()
        outage_started = time.monotonic()
        unavailable = 0
        i = 0
        while time.monotonic() - outage_started < 8:
            response = _post(base, site, f"during-{i}")
            i += 1
            if response.status_code == 202:
                accepted.append(response.json()["id"])
            else:
                assert response.status_code == 503 and response.headers.get("Retry-After")
                unavailable += 1
            time.sleep(0.1)
        assert len(accepted) > 30, "the API kept accepting while the broker was down"

        private_redis.start()
        for i in range(10):
            response = _post(base, site, f"after-{i}")
            assert response.status_code == 202
            accepted.append(response.json()["id"])

        wait_for(lambda: _delivered_ids(receiver) >= set(accepted), timeout=120, interval=0.5)
    finally:
        stop_process(server)
        stack.stop_workers()


def test_postgres_restart_recovers_without_restarting_the_service(
    pg_stack, start_receiver, make_site_for
) -> None:
    receiver = start_receiver()
    site = make_site_for(pg_stack, receiver.url)
    server, base = serve(pg_stack)
    try:
        pg_stack.start_worker()
        accepted = [_post(base, site, f"pre-{i}").json()["id"] for i in range(10)]
        restart_postgres()
        answers = []
        deadline = time.monotonic() + 60
        i = 0
        while len(answers) < 10 and time.monotonic() < deadline:
            response = _post(base, site, f"post-{i}")
            assert response.status_code in (202, 503), response.text
            if response.status_code == 202:
                answers.append(response.json()["id"])
                i += 1
            else:
                assert response.headers.get("Retry-After")
                time.sleep(0.5)
        accepted += answers
        assert len(answers) == 10
        wait_for(lambda: _delivered_ids(receiver) >= set(accepted), timeout=90, interval=0.5)
    finally:
        stop_process(server)
        pg_stack.stop_workers()


def test_platform_down_for_long_is_dead_lettered_then_replayed(
    tmp_path, model_dir, start_receiver, make_site_for
) -> None:
    stack = _make_stack(
        "dead-letter",
        tmp_path,
        model_dir,
        {"COMMENTGATE_WEBHOOK_RETRY_SCHEDULE": "0.3,0.6,1.2"},  # 4 attempts
    )
    port = free_port()
    site = make_site_for(stack, f"http://127.0.0.1:{port}/hook")
    from service import create_app

    app = create_app(stack.settings)
    client = app.test_client()
    stack.start_worker()
    ids = [
        client.post(
            "/v1/comments",
            json={"external_id": f"dl-{i}", "content": "Hello there."},
            headers=auth(site),
        ).get_json()["id"]
        for i in range(3)
    ]
    sessions = app.extensions["commentgate"].sessions

    def failed() -> list[WebhookDelivery]:
        with session_scope(sessions) as session:
            rows = list(session.scalars(select(WebhookDelivery)))
            return rows if len(rows) == 3 and all(r.status == "failed" for r in rows) else []

    rows = wait_for(failed, timeout=60, interval=0.3)
    assert all(row.attempts == 4 for row in rows)

    listed = _cli(stack, "webhooks", "list", "--failed", "--json")
    assert {d["comment_id"] for d in listed["deliveries"]} == set(ids)

    receiver = start_receiver(port=port)
    replayed = _cli(stack, "webhooks", "replay", "--failed", "--json")
    assert replayed["replayed"] == 3
    wait_for(lambda: _delivered_ids(receiver) >= set(ids), timeout=30)
    assert _cli(stack, "webhooks", "list", "--failed", "--json")["deliveries"] == []
    stack.stop_workers()
    app.extensions["commentgate"].engine.dispose()


def _cli(stack: Stack, *args: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        cwd=REPO,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
