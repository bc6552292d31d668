"""A platform's webhook endpoint, run as its own process: records every request to a JSONL file.

Usage: python -m tests.support.receiver PORT LOG_FILE [--fail-first N] [--fail-for SECONDS]
    [--status CODE] [--delay SECONDS] [--drip SECONDS | --drip-headers SECONDS | --body-bytes N]
    [--tls CERT KEY]
``--fail-first N`` answers 503 to the first N attempts of each webhook-id; ``--fail-for``
answers 503 to everything for SECONDS after it starts (an outage); ``--status`` answers CODE
instead of 200 (410 for an endpoint that is gone); ``--delay`` sleeps
before answering (a slow or hanging platform). ``--drip`` sends the headers, then the body one
byte every SECONDS; ``--drip-headers`` sends even the status line and headers that way.
``--body-bytes`` answers a body of N bytes as fast as the client takes it and logs how many it
sent to LOG_FILE.sent. ``--tls`` serves HTTPS and logs the name the client asked for (SNI).
"""

from __future__ import annotations

import argparse
import json
import ssl
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DRIP_BODY = b"x" * 60
CHUNK = b"\0" * 65536


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("log")
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--fail-for", type=float, default=0.0)
    parser.add_argument("--status", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--drip", type=float, default=0.0)
    parser.add_argument("--drip-headers", type=float, default=0.0)
    parser.add_argument("--body-bytes", type=int, default=0)
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    args = parser.parse_args()
    attempts: Counter[str] = Counter()
    started = time.monotonic()
    lock = threading.Lock()

    def log(suffix: str, record: dict) -> None:
        with lock, open(args.log + suffix, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # An answer's head and body go out as two writes: with Nagle's algorithm the body
        # would wait for the client's delayed acknowledgement of the head, 40 ms.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            received = time.time()
            webhook_id = self.headers.get("webhook-id", "")
            with lock:
                attempts[webhook_id] += 1
                attempt = attempts[webhook_id]
            if args.delay:
                with lock, open(args.log + ".arrived", "a", encoding="utf-8") as handle:
                    handle.write(webhook_id + "\n")
                time.sleep(args.delay)
            down = attempt <= args.fail_first or time.monotonic() - started < args.fail_for
            status = 503 if down else args.status
            record = {
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
                "attempt": attempt,
                "status": status,
                "received_at": received,
                "client_port": self.client_address[1],
                "sni": getattr(self.connection, "sni", None),
            }
            log("", record)
            if args.drip_headers:
                self._drip(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", args.drip_headers)
            elif args.drip:
                self._answer_head(status, len(DRIP_BODY))
                self._drip(DRIP_BODY, args.drip)
            elif args.body_bytes:
                self._answer_head(status, args.body_bytes)
                log(".sent", {"webhook_id": webhook_id, "sent": self._flood(args.body_bytes)})
            else:
                self._answer_head(status, 2)
                self.wfile.write(b"ok")

        def _answer_head(self, status: int, length: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.flush()

        def _drip(self, data: bytes, interval: float) -> None:
            """One byte at a time, until all is sent or the client hangs up."""
            try:
                for index in range(len(data)):
                    self.wfile.write(data[index : index + 1])
                    self.wfile.flush()
                    time.sleep(interval)
            except OSError:
                self.close_connection = True

        def _flood(self, size: int) -> int:
            """Send ``size`` bytes; how many went before the client hung up."""
            sent = 0
            try:
                while sent < size:
                    chunk = CHUNK[: size - sent]
                    self.wfile.write(chunk)
                    sent += len(chunk)
            except OSError:
                self.close_connection = True
            return sent

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    if args.tls:
        server.socket = _tls_context(*args.tls).wrap_socket(server.socket, server_side=True)
    server.serve_forever()


def _tls_context(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def remember_name(connection: ssl.SSLSocket, name: str | None, _: ssl.SSLContext) -> None:
        connection.sni = name  # type: ignore[attr-defined]

    context.sni_callback = remember_name
    return context


if __name__ == "__main__":
    main()
