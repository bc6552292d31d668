"""One site's endpoint is dead with thousands of deliveries in retry: another site's webhooks.

    .venv/bin/python -m bench.outage                       # PostgreSQL + Redis, 5,000 in retry
    .venv/bin/python -m bench.outage --backend embedded --backlog 2000 --duration 20

One installation: gunicorn API, `commentgate worker` (its main lane and its retry lane), a webhook
receiver process for the healthy site. The dead site's endpoint accepts connections and never
answers, so each attempt lasts the whole webhook timeout (5 s), the costliest way to be down.
The healthy site sends comments at --rate for --duration seconds twice: with no backlog (the
baseline), then while the dead site has --backlog deliveries in retry and still gets
--dead-rate new comments a second. Prints p50 and p99 from POST to webhook received for both
phases, the ratio to the baseline, and what the retry lane did meanwhile.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import requests

from bench.e2e import measure
from bench.harness import Installation, create_site, installation, machine, wait_until


class DeadEndpoint:
    """A listening socket that never accepts: connections are made, requests never answered."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4096)
        self.port = self.sock.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def close(self) -> None:
        self.sock.close()


def metric(inst: Installation, name: str, **labels: str) -> float:
    """The sum of a series' samples whose labels match, from the API's /metrics."""
    text = requests.get(f"{inst.base_url}/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        series, _, rest = head.partition("{")
        if series != name or not all(f'{k}="{v}"' in rest for k, v in labels.items()):
            continue
        total += float(value)
    return total


def post_many(inst: Installation, api_key: str, count: int, prefix: str, threads: int = 16) -> int:
    """POST ``count`` comments as fast as ``threads`` senders go; returns how many got 202."""
    local = threading.local()
    headers = {"Authorization": f"Bearer {api_key}"}

    def send(i: int) -> bool:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        body = {"external_id": f"{prefix}-{i}", "content": f"A comment, number {i}."}
        answer = session.post(
            f"{inst.base_url}/v1/comments", json=body, headers=headers, timeout=60
        )
        return answer.status_code == 202

    with ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(send, range(count)))


def trickle(inst: Installation, api_key: str, rate: float, stop: threading.Event) -> None:
    """The dead site's platform keeps sending comments while the healthy site is measured."""
    headers = {"Authorization": f"Bearer {api_key}"}
    session = requests.Session()
    index = 0
    while rate > 0 and not stop.wait(1 / rate):
        body = {"external_id": f"late-{index}", "content": "Still posting, endpoint or not."}
        session.post(f"{inst.base_url}/v1/comments", json=body, headers=headers, timeout=60)
        index += 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--backend", choices=["embedded", "postgres-redis"], default="postgres-redis"
    )
    parser.add_argument("--backlog", type=int, default=5000, help="dead site's deliveries")
    parser.add_argument("--rate", type=float, default=20.0, help="healthy site's comments/s")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per phase")
    parser.add_argument("--dead-rate", type=float, default=2.0, help="dead site's comments/s")
    parser.add_argument("--concurrency", type=int, default=2, help="main lane's processes")
    parser.add_argument("--model-dir", type=Path, default=None)
    args = parser.parse_args()
    count = int(args.rate * args.duration)
    dead = DeadEndpoint()
    print(f"# outage, {date.today()}, {machine()}, load average {os.getloadavg()[0]:.1f}")
    try:
        with installation(args.backend, args.model_dir) as inst:
            inst.start_receiver()
            create_site(inst)
            name = f"dead-{uuid.uuid4().hex[:6]}"
            dead_site = json.loads(
                inst.run("sites", "create", name, "--webhook-url", dead.url, "--json")
            )
            inst.start_api()
            inst.start_worker(concurrency=args.concurrency)
            measure(inst, args.rate, 40, "warmup", 60)
            baseline = measure(inst, args.rate, count, "baseline", 120)

            started = time.monotonic()
            accepted = post_many(inst, dead_site["api_key"], args.backlog, "dead")
            wait_until(
                lambda: (
                    metric(inst, "commentgate_webhook_deliveries_pending") >= accepted
                    and metric(inst, "commentgate_comments_pending") == 0
                ),
                timeout=1800,
                interval=2,
            )
            setup = time.monotonic() - started
            attempts_before = metric(inst, "commentgate_webhook_attempts_total", site=name)
            stop = threading.Event()
            sender = threading.Thread(
                target=trickle, args=(inst, dead_site["api_key"], args.dead_rate, stop)
            )
            sender.start()
            window = time.monotonic()
            loaded = measure(inst, args.rate, count, "backlog", 120)
            stop.set()
            sender.join()
            window = time.monotonic() - window
            attempts = (
                metric(inst, "commentgate_webhook_attempts_total", site=name) - attempts_before
            )
            pending = metric(inst, "commentgate_webhook_deliveries_pending")
            delivered_dead = metric(
                inst, "commentgate_webhook_attempts_total", site=name, outcome="success"
            )
    finally:
        dead.close()
    print(
        f"backend {args.backend}, healthy site at {args.rate:g}/s for {args.duration:g} s a phase;"
    )
    print(
        f"dead site: {accepted} deliveries put in retry in {setup:.0f} s, then {args.dead_rate:g} "
        f"new comments/s; {attempts:.0f} attempts to it during the measured phase "
        f"({attempts / window:.1f}/s, each ending at the 5 s timeout), {pending:.0f} deliveries "
        f"pending at its end, {delivered_dead:.0f} delivered to the dead endpoint"
    )
    print()
    print("| phase | sent | delivered | p50 ms | p99 ms | p99 / baseline p99 |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, row in (("no backlog (baseline)", baseline), (f"{accepted} in retry", loaded)):
        ratio = row["p99_ms"] / baseline["p99_ms"]
        print(
            f"| {label} | {row['sent']} | {row['delivered']} | {row['p50_ms']:.0f} "
            f"| {row['p99_ms']:.0f} | {ratio:.2f} |"
        )


if __name__ == "__main__":
    main()
