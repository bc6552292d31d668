"""A platform's webhook endpoint, run as its own process: records every request to a JSONL file.

Usage: python -m tests.support.receiver PORT LOG_FILE [--fail-first N] [--delay SECONDS]
``--fail-first N`` answers 503 to the first N attempts of each webhook-id; ``--delay`` sleeps
before answering (a slow or hanging platform).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("log")
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    attempts: Counter[str] = Counter()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

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
            status = 503 if attempt <= args.fail_first else 200
            record = {
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
                "attempt": attempt,
                "status": status,
                "received_at": received,
            }
            with lock, open(args.log, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
            payload = b"ok"
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
