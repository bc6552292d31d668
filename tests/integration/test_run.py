"""The README's run command on a fresh home, started from a folder that is not the
repository: it activates the shipped model, serves, decides and calls back."""

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

from classifier.shipped import shipped_version
from tests.conftest import Receiver, free_port, stop_process, wait_for

pytestmark = pytest.mark.integration


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("COMMENTGATE_")}


def _start_run(folder: Path, env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    with open(log, "wb") as handle:
        service = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "run", "--port", str(port)],
            cwd=folder,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return service, f"http://127.0.0.1:{port}"


def _ready(base: str) -> bool:
    try:
        return requests.get(f"{base}/readyz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


COMMENTS = {
    "approve": [
        "Awesome! You nailed it, very good read.",
        "Thanks for the summary. Do you have a source for the 60,000 troops figure?",
    ],
    "hold": ["Great post! Visit http://cheap-pills.example"],  # the README's link drop
    "reject": [
        "Great article! Check out my site for cheap viagra and cialis http://cheap-pills.example.ru",
    ],
}


def _commentgate(folder: Path, env: dict[str, str], *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "service.cli", *args, "--json"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout)


def test_run_in_an_empty_folder_serves_the_shipped_model_within_a_minute(
    tmp_path: Path, webhook_receiver: Receiver
) -> None:
    folder = tmp_path / "anywhere"
    folder.mkdir()
    env = _clean_env()
    log = tmp_path / "run.log"
    started = time.monotonic()
    process, base = _start_run(folder, env, log)
    try:
        wait_for(lambda: _ready(base) or process.poll() is not None, 60)
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() - started < 60
        assert "Activated the shipped model" in log.read_text()
        models = _commentgate(folder, env, "models", "list")
        assert models["active"] == shipped_version()
        assert (folder / "var" / "models" / models["active"] / "model.npz").is_file()
        site = _commentgate(
            folder, env, "sites", "create", "blog", "--webhook-url", webhook_receiver.url
        )
        assert set(site) == {
            "id",
            "name",
            "api_key",
            "akismet_key",
            "webhook_secret",
            "webhook_url",
        }
        headers = {"Authorization": f"Bearer {site['api_key']}"}
        expected = {}
        for action, texts in COMMENTS.items():
            for i, text in enumerate(texts):
                body = {"external_id": f"{action}-{i}", "content": text, "post": {"id": "iraq"}}
                url = f"{base}/v1/comments"
                answer = requests.post(url, json=body, headers=headers, timeout=10)
                assert answer.status_code == 202, answer.text
                expected[answer.json()["id"]] = action

        def decided() -> dict[str, str]:
            found = {}
            for request in webhook_receiver.delivered():
                data = json.loads(request["body"])["data"]
                found[data["comment_id"]] = data["action"]
            return found if set(found) == set(expected) else {}

        assert wait_for(decided, 60) == expected

        # Warm, a decision is back at the platform within two seconds, signed with its secret.
        # The best of three: one comment may meet a burst of other work on the machine.
        elapsed = []
        for attempt in range(3):
            started = time.monotonic()
            body = {"external_id": f"warm-{attempt}", "content": "Great analysis, thank you."}
            answer = requests.post(f"{base}/v1/comments", json=body, headers=headers, timeout=10)
            assert answer.status_code == 202, answer.text
            comment_id = answer.json()["id"]
            [event] = wait_for(
                lambda c=comment_id: webhook_receiver.events_for(c), 10, interval=0.02
            )
            elapsed.append(time.monotonic() - started)
            payload = Webhook(site["webhook_secret"]).verify(event["body"], event["headers"])
            assert payload["type"] == "comment.decided"
            assert payload["data"]["comment_id"] == comment_id
            if elapsed[-1] < 2.0:
                break
        assert min(elapsed) < 2.0, f"webhooks after {[round(e, 2) for e in elapsed]} s"
    finally:
        stop_process(process)
        subprocess.run(["pkill", "-KILL", "-g", str(process.pid)], check=False)
