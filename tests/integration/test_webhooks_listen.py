"""``commentgate webhooks listen`` as its own process: signed events are printed and answered
2xx, forged or stale ones 401, and ``--forward`` passes the verified request on unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from standardwebhooks import Webhook

from service.cli import cli
from service.config import Settings
from service.db import make_engine, make_session_factory, session_scope
from service.migrate import upgrade
from service.security import new_webhook_secret
from service.sites import create_site
from tests.conftest import REPO, Receiver, _port_open, stop_process, wait_for
from tests.support.local import free_port

pytestmark = pytest.mark.integration

EVENT = {
    "type": "comment.decided",
    "timestamp": "2026-11-30T10:00:00Z",
    "data": {
        "comment_id": "c1",
        "external_id": "wp-1042",
        "action": "hold",
        "scores": {"spam": 0.76, "toxicity": 0.03},
        "reasons": [{"code": "spam_score", "message": "…"}, {"code": "model_terms"}],
    },
}


def signed(secret: str, event: dict, *, age: timedelta = timedelta(0)) -> tuple[bytes, dict]:
    """A request as the service's worker sends it (``service.webhooks.signed_headers``)."""
    body = json.dumps(event, separators=(",", ":"))
    when = datetime.now(UTC) - age
    headers = {
        "content-type": "application/json",
        "user-agent": "CommentGate-Webhooks/1",
        "webhook-id": "msg_test1",
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign("msg_test1", when, body),
    }
    return body.encode(), headers


class Listening:
    def __init__(self, process: subprocess.Popen, port: int, out: Path, err: Path) -> None:
        self.process, self.port, self.out, self.err = process, port, out, err

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def lines(self) -> list[str]:
        return self.out.read_text(encoding="utf-8").splitlines()


@pytest.fixture
def listen(tmp_path: Path) -> Iterator[Callable[..., Listening]]:
    started: list[Listening] = []

    def start(*options: str, env: dict[str, str] | None = None) -> Listening:
        port = free_port()
        out, err = tmp_path / f"listen-{port}.out", tmp_path / f"listen-{port}.err"
        with open(out, "wb") as stdout, open(err, "wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "service.cli", "webhooks", "listen", "--port", str(port)]
                + list(options),
                cwd=REPO,
                env=env,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
            )
        listening = Listening(process, port, out, err)
        started.append(listening)
        wait_for(lambda: _port_open(port) or process.poll() is not None, 30)
        assert process.poll() is None, err.read_text()
        return listening

    yield start
    for listening in started:
        stop_process(listening.process)


def test_a_signed_event_is_printed_and_answered_2xx_a_forged_or_stale_one_401(listen) -> None:
    secret = new_webhook_secret()
    listening = listen("--secret", secret, "--json")

    body, headers = signed(secret, EVENT)
    answer = requests.post(listening.url, data=body, headers=headers, timeout=5)
    assert 200 <= answer.status_code < 300
    wait_for(lambda: listening.lines(), 5)

    forged_body, forged_headers = signed(new_webhook_secret(), EVENT)
    assert requests.post(listening.url, data=forged_body, headers=forged_headers).status_code == 401
    tampered = body.replace(b"hold", b"approve")
    assert requests.post(listening.url, data=tampered, headers=headers).status_code == 401
    stale_body, stale_headers = signed(secret, EVENT, age=timedelta(minutes=10))
    assert requests.post(listening.url, data=stale_body, headers=stale_headers).status_code == 401
    assert requests.post(listening.url, data=body).status_code == 401  # no signature at all

    stop_process(listening.process)
    assert listening.process.returncode == 0
    assert [json.loads(line) for line in listening.lines()] == [EVENT]  # only the verified one
    assert listening.err.read_text().count("rejected: 401") == 4


def test_forward_passes_the_verified_body_and_headers_on_and_answers_with_its_status(
    listen, start_receiver: Callable[..., Receiver]
) -> None:
    secret = new_webhook_secret()
    receiver = start_receiver("--fail-first", "1")
    listening = listen("--secret", secret, "--forward", receiver.url)

    body, headers = signed(secret, EVENT)
    first = requests.post(listening.url, data=body, headers=headers, timeout=10)
    again = requests.post(listening.url, data=body, headers=headers, timeout=10)
    assert (first.status_code, again.status_code) == (503, 200)  # the receiver's answers
    forged_body, forged_headers = signed(new_webhook_secret(), EVENT)
    assert requests.post(listening.url, data=forged_body, headers=forged_headers).status_code == 401

    passed = receiver.requests()
    assert [r["status"] for r in passed] == [503, 200]  # the forged one never reached it
    for request in passed:
        assert request["body"] == body.decode()
        assert request["path"] == "/hook"
        for name, value in headers.items():
            assert request["headers"][name] == value
        Webhook(secret).verify(request["body"], request["headers"])  # still verifiable there
    lines = wait_for(lambda: len(listening.lines()) == 2 and listening.lines(), 5)
    assert lines[0].endswith("wp-1042  hold  spam_score,model_terms  -> 503")
    assert lines[1].endswith("-> 200")


def test_forward_to_nothing_answers_502(listen) -> None:
    secret = new_webhook_secret()
    listening = listen("--secret", secret, "--forward", f"http://127.0.0.1:{free_port()}/x")
    body, headers = signed(secret, EVENT)
    assert requests.post(listening.url, data=body, headers=headers, timeout=15).status_code == 502
    assert "-> failed: ConnectionError" in wait_for(lambda: listening.lines(), 5)[0]


def test_site_reads_the_secret_from_the_database(listen, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTGATE_")}
    env["COMMENTGATE_HOME"] = str(tmp_path / "var")
    engine = make_engine(Settings.from_env(env).database_url)
    upgrade(engine)
    with session_scope(make_session_factory(engine)) as session:
        site = create_site(session, "demo", "http://127.0.0.1:9/hook", allow_private=True)
        secret = site.site.webhook_secret
    engine.dispose()
    listening = listen("--site", "demo", env=env)

    body, headers = signed(secret, EVENT)
    assert requests.post(listening.url, data=body, headers=headers, timeout=5).status_code == 200
    (line,) = wait_for(lambda: listening.lines(), 5)
    date, clock, kind, external_id, action, codes = line.split()
    assert datetime.strptime(f"{date} {clock}", "%Y-%m-%d %H:%M:%S")
    assert (kind, external_id, action, codes) == (
        "comment.decided",
        "wp-1042",
        "hold",
        "spam_score,model_terms",
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ([], "Give either --site NAME or --secret"),
        (["--site", "a", "--secret", "whsec_x"], "Give either --site NAME or --secret"),
        (["--secret", "not-a-secret"], "not a webhook secret"),
        (["--secret", "whsec_AAAA", "--forward", "ftp://x"], "an http(s) URL is expected"),
    ],
)
def test_bad_options_are_usage_errors(options: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["webhooks", "listen", *options], env={"COMMENTGATE_HOME": str(tmp_path)}
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
