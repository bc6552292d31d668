"""A small HTTP endpoint for a process tree's own metrics (a worker on a machine of its own).

prometheus_client renders the scrape; wsgiref serves it from a daemon thread. The access rule is
the API's: the metrics token when one is set, otherwise direct requests from this machine.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from service.metrics import access, exposition


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Scrapes every few seconds would flood the worker's log."""


def metrics_app(token: str, collectors: Callable[[], list[Any]]) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        forwarded = bool(environ.get("HTTP_X_FORWARDED_FOR") or environ.get("HTTP_FORWARDED"))
        refused = access.refusal(
            token, environ.get("HTTP_AUTHORIZATION"), environ.get("REMOTE_ADDR"), forwarded
        )
        if refused is not None:
            status = HTTPStatus(refused.status)
            code = "unauthorized" if refused.status == 401 else "forbidden"
            body = json.dumps({"error": {"code": code, "message": refused.message}}).encode()
            headers = [("Content-Type", "application/json")]
            if refused.status == 401:
                headers.append(("WWW-Authenticate", "Bearer"))
            start_response(f"{status.value} {status.phrase}", headers)
            return [body]
        body, content_type = exposition.render(collectors(), environ.get("HTTP_ACCEPT"))
        start_response(
            "200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        )
        return [body]

    return app


def start(host: str, port: int, token: str, collectors: Callable[[], list[Any]]) -> WSGIServer:
    """Serve ``collectors`` on ``host:port`` until the process ends."""
    server = make_server(host, port, metrics_app(token, collectors), handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="metrics-exporter", daemon=True)
    thread.start()
    return server
