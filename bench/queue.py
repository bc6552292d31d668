"""Server time of the moderator's queue with a large backlog of held comments.

    python -m bench.queue [--held 20000] [--requests 50] [--backend embedded|postgres-redis]

A fresh installation (with a model trained on the seed set: the page reads its thresholds), one
site with ``--held`` held comments from 25 authors on 5 posts, each with its model decision,
reasons and a delivered webhook, and a signed-in moderator. Each request goes through the WSGI
app in this process (service time, no HTTP); every answer is checked.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import click
from flask.testing import FlaskClient
from sqlalchemy import Engine, insert, text

from bench.harness import installation, machine, percentile
from service import create_app
from service.config import Settings
from service.db import session_scope
from service.models import Comment, Decision, WebhookDelivery, new_id, utcnow
from service.moderators import create_moderator
from service.server import settle_heap
from service.sites import create_site

WORDS = "casino great post thanks idiot cheap pills free read more agree wrong news".split()
BATCH = 2000


def _rows(site_id: str, count: int) -> tuple[list[dict], list[dict], list[dict]]:
    rng = random.Random(7)
    now = utcnow()
    comments, decisions, deliveries = [], [], []
    for n in range(count):
        spam = round(rng.uniform(0.5, 0.99), 4)
        received = now - timedelta(seconds=count - n)
        reasons = [
            {"code": "spam_score", "message": "held", "score": spam, "threshold": 0.5},
            {"code": "model_terms", "task": "spam", "terms": rng.sample(WORDS, 3)},
            {"code": "suspect_term", "term": "casino", "field": "content", "message": "held"},
        ]
        comment_id = new_id()
        comments.append(
            {
                "id": comment_id,
                "site_id": site_id,
                "external_id": f"wp-{n}",
                "status": "held",
                "content": " ".join(rng.choices(WORDS, k=40)) + " c4sino &amp; <a href=x>y</a>",
                "post_id": str(n % 5),
                "author_name": f"Author {n % 25}",
                "received_at": received,
                "decided_at": received,
                "action": "hold",
                "decided_by": "model",
                "scores": {"spam": spam, "toxicity": 0.1},
                "reasons": reasons,
            }
        )
        decisions.append(
            {
                "comment_id": comment_id,
                "action": "hold",
                "scores": {"spam": spam},
                "reasons": reasons,
                "decided_by": "model",
                "decided_at": received,
            }
        )
        deliveries.append(
            {
                "id": new_id(),
                "site_id": site_id,
                "comment_id": comment_id,
                "event_id": "msg_" + new_id(),
                "event_type": "comment.decided",
                "payload": {},
                "status": "delivered",
                "attempts": 1,
                "created_at": received,
                "delivered_at": received,
            }
        )
    return comments, decisions, deliveries


def _store(sessions: Any, site_id: str, count: int) -> None:
    comments, decisions, deliveries = _rows(site_id, count)
    for start in range(0, count, BATCH):
        with session_scope(sessions) as session:
            session.execute(insert(Comment), comments[start : start + BATCH])
            session.execute(insert(Decision), decisions[start : start + BATCH])
            session.execute(insert(WebhookDelivery), deliveries[start : start + BATCH])


def _settle(engine: Engine) -> None:
    """Give the planner the statistics autovacuum (or SQLite's ``ANALYZE``) would have gathered
    on a live installation by the time 20,000 comments are waiting; a table queried straight
    after a bulk load has none."""
    statement = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(statement))


def _signed_in(client: FlaskClient, token: str) -> None:
    page = client.get("/moderate").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert (
        client.post("/moderate/sign-in", data={"token": token, "csrf_token": csrf}).status_code
        == 303
    )


def _time(call: Callable[[], Any], requests: int) -> tuple[float, float]:
    call()  # warm
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return percentile(times, 50), percentile(times, 99)


@click.command()
@click.option("--held", default=20_000, show_default=True)
@click.option("--requests", default=50, show_default=True)
@click.option("--backend", type=click.Choice(["embedded", "postgres-redis"]), default="embedded")
def main(held: int, requests: int, backend: str) -> None:
    with installation(backend) as inst:
        app = create_app(Settings.from_env(inst.env))
        sessions = app.extensions["commentgate"].sessions
        with session_scope(sessions) as session:
            site = create_site(session, "bench", "http://127.0.0.1:9/hook", allow_private=True)
            token = create_moderator(session, site.site, "ana@example.org", "moderator").token
            site_id = site.site.id
        _store(sessions, site_id, held)
        _settle(app.extensions["commentgate"].engine)
        settle_heap()  # as the server does once a process has started
        client = app.test_client()
        _signed_in(client, token)
        api = {"Authorization": f"Bearer {token}"}
        first = client.get("/v1/moderation/queue?limit=25", headers=api).get_json()
        cards = f"/moderate/cards?cursor={first['next']}"

        def check(path: str, **kw: Any) -> Callable[[], Any]:
            def call() -> None:
                response = client.get(path, **kw)
                assert response.status_code == 200 and "wp-" in response.text, path

            return call

        print(f"{held:,} held comments, {backend}, {machine()}, {requests} requests each")
        print("| request | p50 ms | p99 ms |\n| --- | ---: | ---: |")
        for name, call in (
            ("`GET /moderate` (held, oldest first, 25 cards)", check("/moderate")),
            ("`GET /moderate?sort=spam`", check("/moderate?sort=spam")),
            (
                "`GET /moderate?author=Author 3&reason=suspect_term`",
                check("/moderate?author=Author%203&reason=suspect_term"),
            ),
            ("`GET /moderate/cards` (the next 25)", check(cards)),
            ("`GET /v1/moderation/queue?limit=50`", check("/v1/moderation/queue", headers=api)),
        ):
            p50, p99 = _time(call, requests)
            print(f"| {name} | {p50:.1f} | {p99:.1f} |")
        app.extensions["commentgate"].engine.dispose()


if __name__ == "__main__":
    main()
