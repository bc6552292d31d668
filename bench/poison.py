"""Poison soak: one site's undecidable comments among another site's steady traffic.

    .venv/bin/python -m bench.poison          # 2,000 comments per site; 1 in 100 of A poisoned
    .venv/bin/python -m bench.poison --count 500 --rate 20

PostgreSQL + Redis, gunicorn, two Celery workers (one with beat), a webhook receiver. Site A
sends `--count` comments too, and every 100th of them is poisoned: stored without the API's
checks (as a comment received before the metadata checks existed would be), with metadata the
policy step raises on, and queued beside the traffic. Site B sends `--count` ordinary comments
at the same time. At the end: how many of B's were decided and delivered and how fast (compared
with a run without poison, measured first), and whether every poisoned comment was held with a
reason after a bounded number of attempts.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import requests
from sqlalchemy import create_engine, text

from bench.harness import Installation, create_site, installation, machine, percentile
from service import create_app
from service.comments import comment_row, insert_comment
from service.config import Settings
from service.db import session_scope
from service.models import Site

POISON = {"honeypot_field_name": ["website", "email"]}


def send(inst: Installation, site: dict, label: str, count: int, rate: float) -> dict[str, float]:
    """Open-loop: comment `i` is posted at `i / rate` s; comment id → time it was sent."""
    sent: dict[str, float] = {}
    lock = threading.Lock()
    local = threading.local()
    start = time.time() + 0.5
    headers = {"Authorization": f"Bearer {site['api_key']}"}

    def post(i: int) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        delay = start + i / rate - time.time()
        if delay > 0:
            time.sleep(delay)
        body = {"external_id": f"{label}-{i}", "content": f"Comment {i} from {label}: fair."}
        began = time.time()
        response = session.post(f"{inst.base_url}/v1/comments", json=body, headers=headers)
        response.raise_for_status()
        with lock:
            sent[response.json()["id"]] = began

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(post, range(count)))
    return sent


def poison(inst: Installation, site: dict, count: int, rate: float) -> list[str]:
    """Store and queue one poisoned comment of `site` every 100 / rate s."""
    app = create_app(Settings.from_env(inst.env))
    state = app.extensions["commentgate"]
    ids = []
    for i in range(count // 100):
        time.sleep(100 / rate)
        data = {"external_id": f"poison-{i}", "content": "Old comment.", "metadata": POISON}
        with session_scope(state.sessions) as session:
            key = state.settings.identifier_key
            row = comment_row(session.get(Site, site["id"]), data, identifier_key=key)
            comment_id, _ = insert_comment(session, row)
        state.enqueue_scoring([comment_id])
        ids.append(comment_id)
    return ids


def drain(inst: Installation, wanted: set[str], timeout: float) -> dict[str, float]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        delivered = inst.delivered()
        if wanted <= delivered.keys():
            break
        time.sleep(1)
    return inst.delivered()


def run(count: int, rate: float, poisoned: bool) -> dict:
    extra = {"COMMENTGATE_PENDING_TIMEOUT": "20", "COMMENTGATE_SWEEP_INTERVAL": "5"}
    with installation("postgres-redis", None, extra) as inst:
        inst.start_receiver()
        site_a, site_b = create_site(inst), create_site(inst)
        inst.start_api()
        inst.start_worker(concurrency=2, beat=True)
        inst.start_worker(concurrency=2, beat=False)
        results: dict[str, object] = {}
        threads = [
            threading.Thread(target=lambda: results.update(a=send(inst, site_a, "a", count, rate))),
            threading.Thread(target=lambda: results.update(b=send(inst, site_b, "b", count, rate))),
        ]
        if poisoned:
            threads.append(
                threading.Thread(target=lambda: results.update(p=poison(inst, site_a, count, rate)))
            )
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        sent_b: dict[str, float] = results["b"]  # type: ignore[assignment]
        poison_ids: list[str] = results.get("p", [])  # type: ignore[assignment]
        delivered = drain(inst, set(sent_b) | set(poison_ids), 300)
        latencies = [(delivered[c] - t) * 1000 for c, t in sent_b.items() if c in delivered]
        engine = create_engine(inst.env["COMMENTGATE_DATABASE_URL"])
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id, status, reasons, decide_failures FROM comments")
            ).all()
            pending = connection.execute(
                text("SELECT count(*) FROM comments WHERE status = 'pending'")
            ).scalar()
        engine.dispose()
        by_id = {r.id: r for r in rows}
        held_with_reason = [
            c
            for c in poison_ids
            if by_id[c].status == "held" and "processing_error" in json.dumps(by_id[c].reasons)
        ]
        return {
            "b_sent": len(sent_b),
            "b_decided": sum(1 for c in sent_b if by_id[c].status != "pending"),
            "b_delivered": sum(1 for c in sent_b if c in delivered),
            "b_p50": percentile(latencies, 50),
            "b_p99": percentile(latencies, 99),
            "poisoned": len(poison_ids),
            "poison_held": len(held_with_reason),
            "poison_delivered": sum(1 for c in poison_ids if c in delivered),
            "max_attempts": max((by_id[c].decide_failures for c in poison_ids), default=0),
            "pending_at_end": pending,
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=20.0, help="per site, comments per second")
    args = parser.parse_args()
    os.environ.setdefault("COMMENTGATE_LOG_LEVEL", "WARNING")
    clean = run(args.count, args.rate, poisoned=False)
    dirty = run(args.count, args.rate, poisoned=True)
    print(f"# poison soak, {date.today()}, {machine()}, 2 sites × {args.count} at {args.rate}/s")
    print(
        "| run | B sent | B decided | B delivered | B p50 ms | B p99 ms | poisoned | held "
        "with processing_error | their webhooks | most attempts | pending at end |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in (("no poison", clean), ("1 in 100 of A poisoned", dirty)):
        print(
            f"| {name} | {r['b_sent']} | {r['b_decided']} | {r['b_delivered']} | {r['b_p50']:.0f} "
            f"| {r['b_p99']:.0f} | {r['poisoned']} | {r['poison_held']} "
            f"| {r['poison_delivered']} | {r['max_attempts']} | {r['pending_at_end']} |"
        )
    print(f"B p99 with poison / without: {dirty['b_p99'] / clean['b_p99']:.2f}")
    print(json.dumps({"clean": clean, "poisoned": dirty}))


if __name__ == "__main__":
    main()
