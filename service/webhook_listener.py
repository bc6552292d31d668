"""A local endpoint for this service's webhooks, like ``stripe listen``: verify, report, forward.

``commentgate webhooks listen`` runs it on 127.0.0.1 so that the decisions of a development
installation land somewhere visible and, with a forward URL, reach the platform being built
with their signature intact. The standard library's threading HTTP server is enough for that.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
from standardwebhooks import Webhook
from standardwebhooks.webhooks import EmptyWebhookSecretError, WebhookVerificationError

HOST = "127.0.0.1"
MAX_BODY_BYTES = 1 << 20
FORWARD_TIMEOUT = 10.0
# Headers that describe one connection, not the event: never passed on.
HOP_BY_HOP = {
    "connection",
    "content-length",
    "host",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


@dataclass(frozen=True)
class Received:
    """A verified event, and how the forward target answered when there is one."""

    event: dict[str, Any]
    webhook_id: str
    received_at: datetime = field(default_factory=lambda: datetime.now().astimezone())
    forward_status: int | None = None
    forward_error: str | None = None


def describe(received: Received) -> str:
    """One line for people: time, type, external id, action and the reasons' codes."""
    data = received.event.get("data")
    data = data if isinstance(data, dict) else {}
    reasons = data.get("reasons")
    reasons = reasons if isinstance(reasons, list) else []
    codes = ",".join(str(r.get("code", "?")) for r in reasons if isinstance(r, dict)) or "-"
    parts = [
        received.received_at.strftime("%Y-%m-%d %H:%M:%S"),
        str(received.event.get("type", "?")),
        str(data.get("external_id", "-")),
        str(data.get("action", "-")),
        codes,
    ]
    if received.forward_status is not None:
        parts.append(f"-> {received.forward_status}")
    elif received.forward_error:
        parts.append(f"-> failed: {received.forward_error}")
    return "  ".join(parts)


class Listener(ThreadingHTTPServer):
    """Answers 2xx to events signed with ``secret`` (or the forward target's status), 401 to
    forged or stale ones; ``on_event`` and ``on_rejected`` are called from request threads."""

    daemon_threads = True

    def __init__(
        self,
        port: int,
        secret: str,
        *,
        on_event: Callable[[Received], None],
        on_rejected: Callable[[str], None],
        forward: str | None = None,
    ) -> None:
        if not secret.startswith("whsec_"):
            raise ValueError("A webhook secret starts with whsec_.")
        try:
            self.webhook = Webhook(secret)
        except EmptyWebhookSecretError as exc:
            raise ValueError(str(exc)) from exc
        self.on_event = on_event
        self.on_rejected = on_rejected
        self.forward = forward
        self.http = requests.Session()
        super().__init__((HOST, port), _Handler)

    def server_close(self) -> None:
        super().server_close()
        self.http.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Listener

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self.close_connection = True
            self._answer(413 if length > 0 else 400, _error("A body of known size is expected."))
            return
        body = self.rfile.read(length)
        headers = dict(self.headers.items())
        try:
            self.server.webhook.verify(body, headers, json_parse=False)
            event = json.loads(body)
        except (WebhookVerificationError, ValueError) as exc:
            reason = str(exc) or type(exc).__name__
            self.server.on_rejected(f"401 {self.path}: {reason}")
            self._answer(401, _error(f"Not verified: {reason}"))
            return
        if not isinstance(event, dict):
            self._answer(400, _error("The event is not a JSON object."))
            return
        webhook_id = self.headers.get("webhook-id", "")
        if self.server.forward is None:
            self.server.on_event(Received(event=event, webhook_id=webhook_id))
            self._answer(200, b'{"received": true}')
            return
        try:
            response = self._forward(self.server.forward, body, headers)
        except requests.RequestException as exc:
            error = type(exc).__name__
            self.server.on_event(Received(event, webhook_id, forward_error=error))
            self._answer(502, _error(f"Forwarding failed: {error}"))
            return
        self.server.on_event(Received(event, webhook_id, forward_status=response.status_code))
        content_type = response.headers.get("Content-Type", "text/plain")
        self._answer(response.status_code, response.content, content_type)

    def _forward(self, url: str, body: bytes, headers: dict[str, str]) -> requests.Response:
        """The verified body and its headers, as received, to ``url``; redirects not followed."""
        passed = {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}
        return self.server.http.post(
            url, data=body, headers=passed, timeout=FORWARD_TIMEOUT, allow_redirects=False
        )

    def _answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        """Each event is reported once, by the listener's callbacks; no access log."""


def _error(message: str) -> bytes:
    return json.dumps({"error": {"message": message}}).encode()


def serve_until_signalled(listener: Listener) -> None:
    """Serve until SIGINT or SIGTERM, then finish the requests in hand and close the socket."""
    stopped = threading.Event()
    previous = {
        signum: signal.signal(signum, lambda *_: stopped.set())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    thread = threading.Thread(target=listener.serve_forever, name="webhook-listener", daemon=True)
    thread.start()
    try:
        stopped.wait()
    finally:
        listener.shutdown()
        listener.server_close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
