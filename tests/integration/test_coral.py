"""Coral Talk's Perspective client, replayed as its source builds it, against a freshly started
``commentgate serve``: the endpoint joining, the body, the 800 ms timeout, one keep-alive socket
reused after ~5 s of silence, a burst of concurrent checks, and a model promotion meanwhile.

Coral (``server/src/core/server/services/perspective/perspective.ts``) posts to
``{endpoint}/comments:analyze?key=KEY`` with a keep-alive agent and publishes the comment
unchecked on any failure (fail open): every timeout, reset or 429 here is a comment nobody
checked.
"""

from __future__ import annotations

import http.client
import json
import posixpath
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest
import requests
from sqlalchemy import select

from classifier import Registry
from classifier.shipped import SHIPPED_MODEL
from service.db import make_engine, make_session_factory
from service.models import Comment
from tests.conftest import Stack, serve, stop_process, wait_for

pytestmark = pytest.mark.integration

CORAL_TIMEOUT = 0.8  # seconds: Coral's Perspective request timeout
KEEPALIVE_GAP = 5.0  # seconds between checks on one socket: the gap that met "socket hang up"
BURST = 50
COMMENTS = [
    "Thanks for the thoughtful article, it reminded me of my grandmother's stories.",
    "You are a worthless idiot and everyone here hates you, shut up.",
    "Does anyone know when the council votes on the new bus lanes?",
]


def coral_url(host: str, key: str, operation: str = "comments:analyze") -> str:
    """Coral's joining of the admin's endpoint setting: ``path.join(pathname, "/" + operation)``
    (Node's join normalizes, so a trailing slash in the setting does not matter), then
    ``searchParams.set("key", key)``."""
    endpoint = urlsplit(f"{host}/v1alpha1/".strip())
    path = posixpath.normpath(f"{endpoint.path}/{'/' + operation}")
    return urlunsplit((endpoint.scheme, endpoint.netloc, path, urlencode({"key": key}), ""))


def coral_body(text: str, do_not_store: bool = True) -> dict[str, Any]:
    """Coral's ``formatBody`` for ``comments:analyze`` (its default model is TOXICITY)."""
    return {
        "comment": {"text": text},
        "doNotStore": do_not_store,
        "requestedAttributes": {"TOXICITY": {}},
        "languages": ["en"],
    }


def toxicity(response: requests.Response) -> float:
    """The one value Coral reads; anything else is a comment published unchecked."""
    assert response.status_code == 200, response.text
    value = response.json()["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
    assert 0.0 <= value <= 1.0
    return value


@pytest.fixture
def coral_stack(stack: Stack, tmp_path: Path) -> Stack:
    """A model folder of its own (the test promotes in it) holding the shipped model (the
    production one, slower to load than the test's), and the default rate limits on."""
    models = tmp_path / f"models-{stack.name}"
    registry = Registry(models)
    registry.promote(registry.install(SHIPPED_MODEL))
    stack.env["COMMENTGATE_MODEL_DIR"] = str(models)
    stack.env.pop("COMMENTGATE_RATE_LIMITS")
    return stack


@pytest.fixture
def coral_server(coral_stack: Stack) -> Iterator[str]:
    process, base = serve(coral_stack)
    try:
        wait_for(lambda: _ready(base), timeout=60, interval=0.2)
        yield base
    finally:
        stop_process(process)


def _ready(base: str) -> bool:
    try:
        return requests.get(f"{base}/readyz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def copy_active_model(stack: Stack) -> str:
    """Register the active model again under a new version (what a retrain would promote)."""
    root = Path(stack.env["COMMENTGATE_MODEL_DIR"])
    active = json.loads((root / "active.json").read_text())["active"]
    version = f"{active}-copy"
    shutil.copytree(root / active, root / version)
    metadata = json.loads((root / version / "metadata.json").read_text())
    (root / version / "metadata.json").write_text(json.dumps({**metadata, "version": version}))
    return version


def stored_model_version(stack: Stack, text: str) -> str | None:
    engine = make_engine(stack.settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            query = select(Comment.model_version).where(Comment.content == text)
            return session.scalars(query.order_by(Comment.received_at.desc())).first()
    finally:
        engine.dispose()


class KeepAliveClient:
    """One socket reused for every check, as Coral's keep-alive agent does. Unlike requests,
    ``http.client`` does not quietly reconnect: a socket the server closed while idle fails the
    next check ("socket hang up" in Node), which is what Coral saw."""

    def __init__(self, host: str, key: str) -> None:
        parts = urlsplit(coral_url(host, key))
        self.target = f"{parts.path}?{parts.query}"
        self.connection = http.client.HTTPConnection(parts.netloc, timeout=CORAL_TIMEOUT)
        self.local_port: int | None = None

    def check(self, text: str, do_not_store: bool = True) -> float:
        body = json.dumps(coral_body(text, do_not_store))
        headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
        self.connection.request("POST", self.target, body=body, headers=headers)
        response = self.connection.getresponse()
        payload = response.read()
        port = self.connection.sock.getsockname()[1]
        assert self.local_port in (None, port), "the server closed the kept-alive socket"
        self.local_port = port
        assert response.status == 200, payload
        value = json.loads(payload)["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
        assert 0.0 <= value <= 1.0
        return value

    def idle_checks(self, rounds: int) -> list[float]:
        """Checks after ``KEEPALIVE_GAP`` of silence each."""
        values = []
        for index in range(rounds):
            time.sleep(KEEPALIVE_GAP)
            values.append(self.check(COMMENTS[index % len(COMMENTS)]))
        return values

    def close(self) -> None:
        self.connection.close()


def burst(url: str) -> list[float]:
    """A busy site's synchronous checks, all at once, each on its own connection."""

    def check(index: int) -> float:
        body = coral_body(f"{COMMENTS[index % len(COMMENTS)]} #{index}")
        return toxicity(requests.post(url, json=body, timeout=CORAL_TIMEOUT))

    with ThreadPoolExecutor(BURST) as pool:
        return list(pool.map(check, range(BURST)))


# Coral talks to the HTTP server; the back end behind it is not what this test is about.
@pytest.mark.parametrize("stack", ["postgres-redis"], indirect=True)
def test_coral_client_gets_a_score_for_every_check_across_restart_idle_burst_and_promotion(
    coral_stack: Stack, coral_server: str, make_site_for
) -> None:
    site = make_site_for(coral_stack, "http://127.0.0.1:9/hook")
    url = coral_url(coral_server, site.api_key)
    coral = KeepAliveClient(coral_server, site.api_key)
    try:
        assert coral.check(COMMENTS[0]) < 0.5, "the first check after a start is in time"
        assert len(coral.idle_checks(2)) == 2
        assert len(burst(url)) == BURST, "no 429, no timeout in a burst"
        new_version = copy_active_model(coral_stack)
        coral_stack.cli_json("models", "promote", new_version)
        deadline = time.monotonic() + 30
        while True:  # every check is answered in time while the new version loads
            text = f"{COMMENTS[0]} ({time.monotonic():.3f})"
            coral.check(text, do_not_store=False)
            if stored_model_version(coral_stack, text) == new_version:
                break
            assert time.monotonic() < deadline, "the promoted version is never used"
            time.sleep(0.2)
        assert len(coral.idle_checks(1)) == 1
        assert len(burst(url)) == BURST
    finally:
        coral.close()
