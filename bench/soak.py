"""Soak: N comments at a fixed rate through the real service while faults are injected.

    .venv/bin/python -m bench.soak                          # 10,000 comments at 50/s
    .venv/bin/python -m bench.soak --count 2000 --rate 40   # a shorter run

PostgreSQL + a Redis of its own (so it can be stopped), gunicorn, two Celery workers with beat, a
webhook receiver. On a schedule across the run: a worker is SIGKILLed (and a new one started),
Redis is stopped for 30 s and restarted empty, PostgreSQL is restarted, and the platform's
receiver is down for two minutes. At the end it waits for the backlog to drain and reports
accepted, decided, delivered, duplicate deliveries, lost (accepted but never delivered) and the
POST-to-webhook latency.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from datetime import date
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from bench.harness import (
    Installation,
    create_site,
    installation,
    machine,
    percentile,
    stop,
)
from tests.support.local import restart_postgres
from tests.support.redis_server import RedisServer


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def faults(
    inst: Installation,
    redis_server: RedisServer,
    duration: float,
    stop_flag: threading.Event,
    receiver_down: float,
) -> None:
    """The fault schedule, as fractions of the sending phase."""
    started = time.time()

    def at(fraction: float) -> bool:
        while time.time() - started < fraction * duration:
            if stop_flag.wait(0.2):
                return False
        return True

    if at(0.15):
        victim = inst.named("worker")[0]
        log(f"fault: SIGKILL worker {victim.pid}")
        stop(victim, signal.SIGKILL)
        inst.processes.remove(victim)
        inst.start_worker(concurrency=2, beat="--beat" in victim.args)
    if at(0.30):
        log("fault: Redis stopped for 30 s")
        redis_server.stop()
        time.sleep(30)
        redis_server.start()
        log("fault: Redis back (empty)")
    if at(0.55):
        log("fault: PostgreSQL restart")
        restart_postgres()
        log("fault: PostgreSQL back")
    if at(0.70):
        log(f"fault: receiver down for {receiver_down:.0f} s")
        receiver = inst.named("receiver")[0]
        stop(receiver)
        inst.processes.remove(receiver)
        time.sleep(receiver_down)
        inst.spawn(
            "receiver",
            sys.executable,
            "-m",
            "tests.support.receiver",
            str(inst.receiver_port),
            str(inst.receiver_log),
        )
        log("fault: receiver back")


def send_all(inst: Installation, count: int, rate: float) -> tuple[dict[str, float], int, int]:
    """Open-loop sender; retries a refused (503) or failed POST like a platform would."""
    accepted: dict[str, float] = {}
    refused = 0
    errors = 0
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {inst.site['api_key']}"}
    start = time.time() + 0.5
    local = threading.local()

    def send(i: int) -> None:
        nonlocal refused, errors
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        delay = start + i / rate - time.time()
        if delay > 0:
            time.sleep(delay)
        first = time.time()
        body = {"external_id": f"soak-{i}", "content": f"Soak comment {i}: a fair point."}
        for _ in range(60):
            try:
                response = session.post(
                    f"{inst.base_url}/v1/comments", json=body, headers=headers, timeout=15
                )
            except requests.RequestException:
                with lock:
                    errors += 1
                time.sleep(1)
                continue
            if response.status_code in (200, 202):
                with lock:
                    accepted.setdefault(response.json()["id"], first)
                return
            with lock:
                refused += 1
            time.sleep(float(response.headers.get("Retry-After", "1")))

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=64) as pool:
        list(pool.map(send, range(count)))
    return accepted, refused, errors


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--receiver-down", type=float, default=120.0)
    parser.add_argument("--drain-timeout", type=float, default=600.0)
    parser.add_argument("--model-dir", type=Path, default=None)
    args = parser.parse_args()
    duration = args.count / args.rate
    folder = Path(os.environ.get("TMPDIR", "/tmp"))
    redis_server = RedisServer(folder)
    redis_server.start()
    extra = {
        "COMMENTGATE_BROKER_URL": redis_server.url,
        "COMMENTGATE_PENDING_TIMEOUT": "20",
        "COMMENTGATE_SWEEP_INTERVAL": "5",
        # 12 attempts, waits doubling from 1 s up to 30 s
        "COMMENTGATE_WEBHOOK_RETRY_SCHEDULE": "1s,2s,4s,8s,16s" + ",30s" * 6,
    }
    try:
        with installation("postgres-redis", args.model_dir, extra) as inst:
            inst.start_receiver()
            create_site(inst)
            inst.start_api()
            inst.start_worker(concurrency=2, beat=True)
            inst.start_worker(concurrency=2, beat=False)
            stop_flag = threading.Event()
            injector = threading.Thread(
                target=faults, args=(inst, redis_server, duration, stop_flag, args.receiver_down)
            )
            injector.start()
            log(f"sending {args.count} comments at {args.rate}/s")
            accepted, refused, errors = send_all(inst, args.count, args.rate)
            log(f"sent: {len(accepted)} accepted, {refused} refused answers, {errors} errors")
            injector.join()
            deadline = time.time() + args.drain_timeout
            while time.time() < deadline:
                delivered = inst.delivered()
                missing = [c for c in accepted if c not in delivered]
                if not missing:
                    break
                log(f"draining: {len(missing)} not yet delivered")
                time.sleep(5)
            delivered = inst.delivered()
            events, posts = inst.webhook_counts()
            engine = create_engine(inst.env["COMMENTGATE_DATABASE_URL"])
            with engine.connect() as connection:
                decided = connection.execute(
                    text("SELECT count(*) FROM comments WHERE status <> 'pending'")
                ).scalar()
            engine.dispose()
            latencies = [(delivered[c] - t) * 1000 for c, t in accepted.items() if c in delivered]
            lost = sum(1 for c in accepted if c not in delivered)
            print(f"# soak, {date.today()}, {machine()}, {args.count} comments at {args.rate}/s")
            print(
                "| accepted | decided | webhooks delivered | duplicate deliveries | lost "
                "| p50 ms | p99 ms | 503 answers |"
            )
            print("| --- | --- | --- | --- | --- | --- | --- | --- |")
            print(
                f"| {len(accepted)} | {decided} | {len(delivered)} | {posts - events} | {lost} "
                f"| {percentile(latencies, 50):.0f} | {percentile(latencies, 99):.0f} "
                f"| {refused} |"
            )
    finally:
        redis_server.stop()


if __name__ == "__main__":
    main()
