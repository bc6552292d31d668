"""One webhook attempt against real receivers: the address it connects to, TLS, its deadline."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from service.outbound import webhook_pool
from service.security import new_webhook_secret
from service.urls import validate_webhook_url
from service.webhooks import MAX_ANSWER_BYTES, Target, post_event
from tests.conftest import Receiver, wait_for

NAME = "hooks.example.test"
PUBLIC = "93.184.215.14"  # a global address; no connection to it ever leaves this machine
_getaddrinfo = socket.getaddrinfo


class Resolver:
    """``socket.getaddrinfo`` whose answers for ``names`` are ``answers``, one per lookup (the
    last one repeats); other names resolve as usual."""

    def __init__(self, names: set[str], answers: list[str]) -> None:
        self.names, self.answers, self.lookups = names, answers, 0

    def __call__(self, host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in self.names:
            return _getaddrinfo(host, port, *args, **kwargs)
        address = self.answers[min(self.lookups, len(self.answers) - 1)]
        self.lookups += 1
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every address a socket connects to; loopback only is really connected, others refused."""
    connected: list[tuple[str, int]] = []

    class Recording(socket.socket):
        def connect(self, address: Any) -> None:
            connected.append(tuple(address[:2]))
            if address[0] != "127.0.0.1":
                raise ConnectionRefusedError(111, "Connection refused (test)")
            super().connect(address)

    monkeypatch.setattr(socket, "socket", Recording)
    return connected


def target(url: str) -> Target:
    body = json.dumps({"type": "comment.decided", "data": {"comment_id": "c1"}})
    return Target("blog", url, new_webhook_secret(), "msg_test", body, 0)


def send(url: str, *, timeout: float = 5, allow_private: bool = False, ca_certs: str | None = None):
    http = webhook_pool(2, ca_certs)
    try:
        return post_event(http, target(url), timeout=timeout, allow_private=allow_private)
    finally:
        http.clear()


# --- the address connected to is the address checked ----------------------------------------


def test_a_name_rebound_to_loopback_is_connected_at_the_address_checked(
    start_receiver: Callable[..., Receiver],
    monkeypatch: pytest.MonkeyPatch,
    connections: list[tuple[str, int]],
) -> None:
    """The check's lookup answers a public address, any later one 127.0.0.1: only the checked
    address is ever connected to, and the receiver on loopback gets nothing."""
    receiver = start_receiver()
    resolver = Resolver({NAME}, [PUBLIC, "127.0.0.1"])
    monkeypatch.setattr(socket, "getaddrinfo", resolver)

    status, error, _ = send(f"http://{NAME}:{receiver.port}/hook")

    assert connections == [(PUBLIC, receiver.port)]
    assert status is None and "Connection refused" in error
    assert resolver.lookups == 1
    assert receiver.requests() == []


def test_a_name_that_turns_private_after_the_url_was_accepted_is_refused(
    start_receiver: Callable[..., Receiver],
    monkeypatch: pytest.MonkeyPatch,
    connections: list[tuple[str, int]],
) -> None:
    receiver = start_receiver()
    url = f"http://{NAME}:{receiver.port}/hook"
    monkeypatch.setattr(socket, "getaddrinfo", Resolver({NAME}, [PUBLIC, "127.0.0.1"]))
    assert validate_webhook_url(url, allow_private=False)

    status, error, _ = send(url)

    assert status is None and "non-public address" in error
    assert connections == []
    assert receiver.requests() == []


def test_a_short_answer_leaves_the_connection_for_the_next_attempt(
    start_receiver: Callable[..., Receiver],
) -> None:
    receiver = start_receiver()
    http = webhook_pool(2)
    try:
        for _ in range(2):
            status, error, _ = post_event(http, target(receiver.url), timeout=5, allow_private=True)
            assert (status, error) == (200, None)
    finally:
        http.clear()
    first, second = receiver.requests()
    assert first["client_port"] == second["client_port"]


# --- TLS is verified against the URL's host name -----------------------------------------------


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``NAME`` (its own authority), and its key."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", f"/CN={NAME}", "-addext", f"subjectAltName=DNS:{NAME}"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_tls_names_and_verifies_the_host_while_connecting_to_its_checked_address(
    start_receiver: Callable[..., Receiver],
    monkeypatch: pytest.MonkeyPatch,
    connections: list[tuple[str, int]],
    certificate: tuple[Path, Path],
) -> None:
    cert, key = certificate
    receiver = start_receiver("--tls", str(cert), str(key))
    other = "other.example.test"
    monkeypatch.setattr(socket, "getaddrinfo", Resolver({NAME, other}, ["127.0.0.1"]))

    status, error, _ = send(
        f"https://{NAME}:{receiver.port}/hook", allow_private=True, ca_certs=str(cert)
    )
    assert (status, error) == (200, None)
    [request] = receiver.requests()
    assert request["sni"] == NAME
    assert request["headers"]["host"] == f"{NAME}:{receiver.port}"

    # the same address under a name the certificate is not for: refused by TLS
    status, error, _ = send(
        f"https://{other}:{receiver.port}/hook", allow_private=True, ca_certs=str(cert)
    )
    assert status is None and "certificate verify failed" in error
    assert len(receiver.requests()) == 1
    assert {address for address, _ in connections} == {"127.0.0.1"}


# --- one deadline per attempt, and a bounded read of the answer ------------------------------


@pytest.mark.slow  # each waits out its 2 s deadline
@pytest.mark.parametrize("trickle", ["--drip", "--drip-headers"])
def test_an_answer_trickling_in_ends_the_attempt_at_its_timeout(
    start_receiver: Callable[..., Receiver], trickle: str
) -> None:
    """A byte every half second never trips a 2 s read timeout; the attempt still ends at 2 s."""
    receiver = start_receiver(trickle, "0.5")
    started = time.monotonic()
    status, error, latency = send(receiver.url, timeout=2, allow_private=True)
    elapsed = time.monotonic() - started
    assert (status, error) == (None, "DeadlineExceeded: no complete answer within 2s")
    assert 2 <= elapsed < 3.5 and latency < 3500


def test_a_huge_answer_is_not_read(start_receiver: Callable[..., Receiver]) -> None:
    """Only the status counts: the receiver's 64 MiB are left unread (socket buffers hold a
    few MiB at most), and the attempt succeeds."""
    size = 64 << 20
    receiver = start_receiver("--body-bytes", str(size))
    status, error, _ = send(receiver.url, timeout=10, allow_private=True)
    assert (status, error) == (200, None)
    sent_log = receiver.log.with_name(receiver.log.name + ".sent")
    # The receiver writes its line once it gives up sending: wait for the whole line.
    wait_for(lambda: sent_log.exists() and sent_log.read_text().endswith("\n"), timeout=10)
    [record] = [json.loads(line) for line in sent_log.read_text().splitlines()]
    assert MAX_ANSWER_BYTES <= record["sent"] < size // 2
