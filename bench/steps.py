"""CPU and waiting per comment in the worker's two steps, deciding and a webhook attempt, on a
quiet database: what ``bench.e2e --census`` adds up, taken apart.

    .venv/bin/python -m bench.steps                        # both back ends, batches of 1, 8, 32
    .venv/bin/python -m bench.steps --backend postgres --batches 8 --count 960

Runs in this process, without a server: a migrated database of its own, a site whose webhooks go
to a receiver process on 127.0.0.1, comments stored as the API stores them. Then:

- deciding: ``decide_pending`` over the comments in batches (the model is the seed-trained one
  the other benchmarks use), per comment: the thread's CPU time, and the wall time;
- a webhook attempt (``service.attempts.attempt``: claim, POST, record) per attempt, and the
  POST alone;
- what a commit costs: a one-row UPDATE in a transaction of its own, and 32 to a transaction.

For scale, the same run times a bare round trip to the same database (``SELECT 1``, its own
transaction) and prints each figure also as a multiple of it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from bench.harness import PG_ADMIN, REPO, machine, stop, wait_until
from tests.support.local import free_port


@contextmanager
def database(backend: str) -> Iterator[str]:
    """A migrated database of its own; its URL."""
    home = Path(tempfile.mkdtemp(prefix="cg-steps-"))
    name = None
    if backend == "postgres":
        name = "cg_steps_" + uuid.uuid4().hex[:10]
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    else:
        url = f"sqlite:///{home / 'commentgate.db'}"
    env = dict(os.environ, COMMENTGATE_DATABASE_URL=url, COMMENTGATE_HOME=str(home))
    subprocess.run(
        [sys.executable, "-m", "service.cli", "db", "upgrade"], env=env, check=True, cwd=REPO
    )
    try:
        yield url
    finally:
        if name:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def receiver() -> Iterator[str]:
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="cg-steps-")) / "receiver.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.receiver", str(port), str(log)],
        cwd=REPO,
        start_new_session=True,
    )
    try:
        wait_until(lambda: _listening(port))
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        stop(process)


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def timed(function: Callable[[], object]) -> tuple[float, float]:
    """(CPU seconds of this thread, wall seconds) of one call."""
    cpu, wall = time.thread_time(), time.perf_counter()
    function()
    return time.thread_time() - cpu, time.perf_counter() - wall


def round_trip(sessions: sessionmaker[Session], count: int = 400) -> tuple[float, float]:
    """A bare round trip in a transaction of its own: the unit the other figures are given in."""

    def once() -> None:
        with sessions() as session, session.begin():
            session.execute(text("SELECT 1"))

    for _ in range(20):
        once()
    cpu = wall = 0.0
    for _ in range(count):
        c, w = timed(once)
        cpu, wall = cpu + c, wall + w
    return cpu / count, wall / count


def commit_cost(
    sessions: sessionmaker[Session], site_id: str, count: int = 320, group: int = 32
) -> tuple[tuple[float, float], tuple[float, float]]:
    """A one-row UPDATE in a transaction of its own, and the same UPDATE ``group`` to a
    transaction, per UPDATE: what grouping a batch's records into one transaction could save."""
    statement = text("UPDATE sites SET webhook_failures = webhook_failures WHERE id = :id")

    def updates(n: int) -> None:
        with sessions() as session, session.begin():
            for _ in range(n):
                session.execute(statement, {"id": site_id})

    found = []
    for per_transaction in (1, group):
        updates(per_transaction)
        cpu = wall = 0.0
        for _ in range(count // per_transaction):
            c, w = timed(partial(updates, per_transaction))
            cpu, wall = cpu + c, wall + w
        done = per_transaction * (count // per_transaction)
        found.append((cpu / done, wall / done))
    return found[0], found[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--batches", default="1,8,32", help="comments per decide call")
    parser.add_argument("--count", type=int, default=640, help="comments per batch size")
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    print(f"# worker steps, {date.today()}, {machine()}")
    print("| back end | step | CPU ms | wall ms | CPU / round trip | wall / round trip |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    batches = [int(b) for b in args.batches.split(",")]
    model = seed_model()
    with receiver() as hook:
        for backend in backends:
            with database(backend) as url:
                for line in measure(url, hook, model, batches, args.count):
                    print(f"| {backend} | " + line, flush=True)


def seed_model() -> Any:
    """The model the other benchmarks use when none is given: trained on the seed set."""
    from classifier import Registry, default_training_paths, train
    from classifier.registry import ActiveModel

    registry = Registry(Path(tempfile.mkdtemp(prefix="cg-steps-models-")))
    registry.promote(train(default_training_paths(REPO / "training_data"), registry).version)
    return ActiveModel(registry, 60, background=False).get()


def measure(url: str, hook: str, model: Any, batches: list[int], count: int) -> Iterator[str]:
    from service import attempts, outbound
    from service.comments import comment_row, insert_comment
    from service.db import make_engine, make_session_factory, session_scope
    from service.decisions import pipeline
    from service.models import Comment, WebhookDelivery
    from service.retry_schedule import RetrySchedule
    from service.security import new_webhook_secret
    from service.sites import create_site
    from service.webhooks import Target, post_event

    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with session_scope(sessions) as session:
        site = create_site(session, "steps", hook, allow_private=True).site
        session.flush()
        session.expunge(site)
    unit_cpu, unit_wall = round_trip(sessions)
    yield f"round trip (SELECT 1) | {1000 * unit_cpu:.3f} | {1000 * unit_wall:.3f} | 1 | 1 |"

    def row(step: str, cpu: float, wall: float) -> str:
        return (
            f"{step} | {1000 * cpu:.3f} | {1000 * wall:.3f} "
            f"| {cpu / unit_cpu:.1f} | {wall / unit_wall:.1f} |"
        )

    alone, grouped = commit_cost(sessions, site.id)
    yield row("one-row UPDATE, its own transaction", *alone)
    yield row("the same, 32 to a transaction, per UPDATE", *grouped)

    serial = 0
    delivery_ids: list[str] = []
    for batch in batches:
        ids = []
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for _ in range(count):
                serial += 1
                data = {
                    "external_id": f"s{serial}",
                    "content": f"A thoughtful comment, number {serial}, on the post.",
                    "author": {"name": f"Reader {serial % 7}", "ip": "203.0.113.5"},
                }
                stored = comment_row(site, data, identifier_key=b"k" * 32)
                ids.append(insert_comment(connection, stored)[0])
        cpu = wall = 0.0
        for start in range(0, count, batch):
            chunk = ids[start : start + batch]
            c, w = timed(lambda chunk=chunk: pipeline.decide_pending(sessions, chunk, model))
            cpu, wall = cpu + c, wall + w
        yield row(f"deciding, batches of {batch}, per comment", cpu / count, wall / count)
        with session_scope(sessions) as session:
            pending = session.scalars(
                select(Comment.id).where(Comment.id.in_(ids), Comment.status == "pending")
            ).all()
            assert not pending, "every comment decided"
            delivery_ids += session.scalars(
                select(WebhookDelivery.id).where(WebhookDelivery.comment_id.in_(ids))
            ).all()
    http = outbound.webhook_pool(2)
    rules = attempts.Rules(RetrySchedule.parse("1m"), 3600.0, 10.0, True)
    share = attempts.SiteShare(8)
    whole = [0.0, 0.0]
    for delivery_id in delivery_ids:
        turn = attempts.Turn(share, print, site_id=site.id)

        def attempt(delivery_id: str = delivery_id, turn: attempts.Turn = turn) -> None:
            outcome = attempts.attempt(sessions, http, delivery_id, rules, expected=0, turn=turn)
            assert outcome is not None and outcome.delivered, outcome

        c, w = timed(attempt)
        whole[0], whole[1] = whole[0] + c, whole[1] + w
    attempted = max(1, len(delivery_ids))
    yield row("webhook attempt (claim, POST, record)", whole[0] / attempted, whole[1] / attempted)
    target = Target("steps", hook, new_webhook_secret(), "msg_steps", '{"type":"test"}', 0)
    post = [0.0, 0.0]
    for _ in range(attempted):
        c, w = timed(lambda: post_event(http, target, timeout=10, allow_private=True))
        post[0], post[1] = post[0] + c, post[1] + w
    yield row("of which the POST alone", post[0] / attempted, post[1] / attempted)
    http.clear()
    engine.dispose()


if __name__ == "__main__":
    main()
