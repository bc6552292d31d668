"""The README's run command on a fresh home: it trains a model, serves, decides, calls back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from standardwebhooks import Webhook

from tests.conftest import REPO, free_port, stop_process, wait_for

pytestmark = pytest.mark.integration


def test_commentgate_run_decides_and_calls_back_within_two_seconds(
    tmp_path: Path, start_receiver
) -> None:  # noqa: ANN001
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTGATE_")}
    env.update(COMMENTGATE_HOME=str(tmp_path / "var"), COMMENTGATE_RATE_LIMITS="off")
    port = free_port()
    log = tmp_path / "run.log"
    with open(log, "wb") as handle:
        service = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "run", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _ready(base) or service.poll() is not None, timeout=120, interval=0.5)
        assert service.poll() is None, log.read_text()[-3000:]
        assert (tmp_path / "var" / "models").is_dir(), "run trained a default model"
        receiver = start_receiver()
        created = subprocess.run(
            [
                sys.executable,
                "-m",
                "service.cli",
                "sites",
                "create",
                "demo",
                "--webhook-url",
                receiver.url,
                "--json",
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        site = json.loads(created.stdout)
        assert set(site) == {"id", "name", "api_key", "webhook_secret", "webhook_url"}
        time.sleep(1)  # let the worker finish starting
        started = time.monotonic()
        response = requests.post(
            f"{base}/v1/comments",
            json={"external_id": "wp-1", "content": "Great analysis of the occupation."},
            headers={"Authorization": f"Bearer {site['api_key']}"},
            timeout=10,
        )
        assert response.status_code == 202
        comment_id = response.json()["id"]
        [event] = wait_for(lambda: receiver.events_for(comment_id), timeout=10, interval=0.02)
        elapsed = time.monotonic() - started
        assert elapsed < 2.0, f"webhook after {elapsed:.2f}s"
        payload = Webhook(site["webhook_secret"]).verify(event["body"], event["headers"])
        assert payload["type"] == "comment.decided"
        assert payload["data"]["comment_id"] == comment_id
    finally:
        stop_process(service)
        subprocess.run(["pkill", "-KILL", "-g", str(service.pid)], check=False)


def _ready(base: str) -> bool:
    try:
        return requests.get(f"{base}/readyz", timeout=1).status_code == 200
    except requests.RequestException:
        return False
