"""Latency of the synchronous compatibility endpoints against a baseline, in one run.

    .venv/bin/python -m bench.sync                         # both back ends, 1,000 requests each
    .venv/bin/python -m bench.sync --backend embedded --requests 2000 --concurrency 4

For each back end: a fresh installation, the API under gunicorn (``commentgate serve``, its
default 2 processes x 4 threads), then ``POST /1.1/comment-check`` (Akismet) and
``POST /v1alpha1/comments:analyze`` (Perspective, stored) with a new 1,000-character comment each
time, interleaved with ``GET /healthz`` as the baseline: same server, same client, same minute.
Each request opens its own connection, as a PHP plugin does. Then the same three requests
through the WSGI app in this process (Flask's test client), which is the service time without
HTTP. Prints p50/p99 in milliseconds and their ratios to the baseline.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import importlib
import json
import os
import pstats
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

import psycopg

from bench.harness import (
    BACKENDS,
    PG_ADMIN,
    REPO,
    chosen_backends,
    free_port,
    machine,
    percentile,
    stop,
    wait_until,
)

REDIS_DB = "redis://127.0.0.1:6379/12"

Send = Callable[[str, str, bytes, dict[str, str]], tuple[int, bytes]]


PROSE_MODULES = (
    "argparse asyncio calendar collections csv datetime decimal email functools http.client "
    "inspect json logging pathlib random shutil socket sqlite3 statistics subprocess tarfile "
    "textwrap threading unittest zipfile"
).split()


@cache
def sentences() -> tuple[str, ...]:
    """English sentences from the standard library's docstrings: varied prose, as comments are."""
    found = set()
    for name in PROSE_MODULES:
        module = importlib.import_module(name)
        for obj in (module, *vars(module).values()):
            doc = getattr(obj, "__doc__", None)
            prose = " ".join(doc.split()) if isinstance(doc, str) else ""
            for sentence in re.split(r"(?<=[.!?])\s+", prose):
                if 40 <= len(sentence) <= 200 and re.fullmatch(r"[A-Za-z ,.;:'()!?-]+", sentence):
                    found.add(sentence)
    return tuple(sorted(found))


def comment_text(n: int, length: int = 1000) -> str:
    """A 1,000-character comment of its own for round ``n``: new prose, not a copy of another
    (copies would be a flood, which the policy's near-duplicate rule examines at length)."""
    rng = random.Random(n)
    text = ""
    while len(text) < length:
        text += rng.choice(sentences()) + " "
    return text[: length - 1] + "."


def requests_for(key: str, n: int) -> list[tuple[str, str, str, bytes, dict[str, str]]]:
    """(label, method, path, body, headers) of the three requests of round ``n``."""
    text = comment_text(n)
    form = {
        "api_key": key,
        "blog": "https://blog.example",
        "user_ip": f"203.0.{n % 250}.{n % 200 + 1}",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
        "referrer": "https://blog.example/2024/01/budget/",
        "permalink": "https://blog.example/2024/01/budget/",
        "comment_type": "comment",
        "comment_author": f"Reader {n}",
        "comment_author_email": f"reader{n}@example.org",
        "comment_content": text,
        "blog_lang": "en_US",
        "blog_charset": "UTF-8",
    }
    analyze = {
        "comment": {"text": text},
        "requestedAttributes": {"TOXICITY": {}, "SPAM": {}},
        "languages": ["en"],
        "doNotStore": False,
    }
    return [
        ("GET /healthz (baseline)", "GET", "/healthz", b"", {}),
        (
            "POST /1.1/comment-check",
            "POST",
            "/1.1/comment-check",
            urlencode(form).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        ),
        (
            "POST /v1alpha1/comments:analyze",
            "POST",
            f"/v1alpha1/comments:analyze?key={key}",
            json.dumps(analyze).encode(),
            {"Content-Type": "application/json"},
        ),
    ]


def over_http(host: str, port: int) -> Send:
    def send(method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        try:
            conn.request(method, path, body=body or None, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    return send


def in_process(env: dict[str, str]) -> Send:
    from service import create_app
    from service.config import Settings

    client = create_app(Settings.from_env(env)).test_client()

    def send(method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        response = client.open(path, method=method, data=body, headers=headers)
        return response.status_code, response.data

    return send


def measure(send: Send, key: str, rounds: int, concurrency: int, start: int = 0) -> dict:
    """Latencies in ms per endpoint; every answer is checked, a failure stops the run."""
    timings: dict[str, list[float]] = {}

    def one(n: int) -> list[tuple[str, float]]:
        out = []
        for label, method, path, body, headers in requests_for(key, start + n):
            began = time.perf_counter()
            status, data = send(method, path, body, headers)
            elapsed = (time.perf_counter() - began) * 1000
            if status != 200 or ("comment-check" in path and data not in (b"true", b"false")):
                raise RuntimeError(f"{label}: {status} {data[:200]!r}")
            out.append((label, elapsed))
        return out

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for results in pool.map(one, range(rounds)):
            for label, elapsed in results:
                timings.setdefault(label, []).append(elapsed)
    return timings


def report(title: str, timings: dict[str, list[float]]) -> list[str]:
    baseline = timings["GET /healthz (baseline)"]
    b50, b99 = percentile(baseline, 50), percentile(baseline, 99)
    lines = [
        f"\n{title}",
        f"{'endpoint':34} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'p50 ×base':>10} {'p99 ×base':>10}",
    ]
    for label, values in timings.items():
        p50, p99 = percentile(values, 50), percentile(values, 99)
        lines.append(
            f"{label:34} {len(values):6d} {p50:8.2f} {p99:8.2f} {p50 / b50:10.2f} {p99 / b99:10.2f}"
        )
    return lines


@contextmanager
def installation(backend: str) -> Iterator[tuple[dict[str, str], str]]:
    """A fresh, migrated installation with a model trained on the seed set and one site.

    Built with the library rather than the CLI, so only ``commentgate serve`` runs as a command.
    Yields the environment and the site's API key.
    """
    from classifier import Registry, default_training_paths, train
    from service.config import Settings
    from service.db import make_engine, make_session_factory, session_scope
    from service.migrate import upgrade
    from service.sites import create_site

    home = Path(tempfile.mkdtemp(prefix=f"cg-sync-{backend}-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTGATE_")}
    env.update(COMMENTGATE_HOME=str(home), COMMENTGATE_RATE_LIMITS="off")
    env.update(COMMENTGATE_LOG_LEVEL="WARNING")
    database = f"cg_sync_{uuid.uuid4().hex[:10]}" if backend == "postgres-redis" else None
    if database:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        env["COMMENTGATE_DATABASE_URL"] = f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
        env["COMMENTGATE_BROKER_URL"] = REDIS_DB
    try:
        settings = Settings.from_env(env)
        engine = make_engine(settings.database_url)
        upgrade(engine)
        registry = Registry(settings.model_dir)
        registry.promote(train(default_training_paths(REPO / "training_data"), registry).version)
        with session_scope(make_session_factory(engine)) as session:
            name = f"sync-{uuid.uuid4().hex[:6]}"
            key = create_site(session, name, "http://127.0.0.1:9/hook", allow_private=True).api_key
        engine.dispose()
        yield env, key
    finally:
        if database:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@contextmanager
def gunicorn(env: dict[str, str], server: str = "2x4") -> Iterator[tuple[str, int]]:
    """``commentgate serve`` with ``server`` = PROCESSESxTHREADS (its defaults: 2x4)."""
    port = free_port()
    processes, _, threads = server.partition("x")
    with open(Path(env["COMMENTGATE_HOME"]) / "api.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(port),
             "--workers", processes, "--threads", threads or "1"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_until(lambda: _answers(port), 30)
        yield "127.0.0.1", port
    finally:
        stop(process)


def _answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False


# Where a comment-check's time goes: ours (key, store, record), the model's, the policy's.
STAGES = {
    "authenticate_site": "find the site by its key",
    "insert_comment": "store the comment",
    "score_facts": "the model",
    "verdict_for": "the policy, with its queries:",
    "history_of": "  author history and copies (one query)",
    "count_copies": "  interpret the copies found",
    "record_decision": "record the decision",
    "commit": "commit",
}


def stages(send: Send, key: str, rounds: int) -> list[str]:
    """Milliseconds per call of each stage of comment-check, under cProfile (which inflates)."""
    profile = cProfile.Profile()
    profile.enable()
    for n in range(rounds):
        _, method, path, body, headers = requests_for(key, 4 * 10**6 + n)[1]
        send(method, path, body, headers)
    profile.disable()
    found = {}
    for (file, _, name), (_, calls, _, total, _) in pstats.Stats(profile).stats.items():
        if name in STAGES and ("/service/" in file or name == "commit" and "orm/session" in file):
            found[name] = 1000 * total / calls
    lines = [f"\nwhere comment-check's time goes ({rounds} calls, in-process, under cProfile)"]
    for name, label in STAGES.items():
        if name in found:
            lines.append(f"{label:32} {name:18} {found[name]:8.2f} ms")
    return lines


def run_backend(
    backend: str, rounds: int, warmup: int, concurrency: int, profile: int, server: str = "2x4"
) -> list[str]:
    with installation(backend) as (env, key), gunicorn(env, server) as address:
        http_send = over_http(*address)
        measure(http_send, key, warmup, concurrency, start=10**6)  # warms both processes
        lines = report(
            f"{backend}: gunicorn {server} (processes x threads), {concurrency} client(s), "
            "a new connection per request",
            measure(http_send, key, rounds, concurrency),
        )
        local = in_process(env)
        measure(local, key, warmup, 1, start=2 * 10**6)
        lines += report(
            f"{backend}: the WSGI app in-process (service time, no HTTP)",
            measure(local, key, rounds, 1, start=3 * 10**6),
        )
        return lines + (stages(local, key, profile) if profile else [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both")
    parser.add_argument("--requests", type=int, default=1000, help="requests per endpoint")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=1, help="client threads")
    parser.add_argument("--profile", type=int, default=200, help="profiled calls (0: none)")
    parser.add_argument(
        "--server", default="2x4", help="gunicorn PROCESSESxTHREADS (commentgate serve's: 2x4)"
    )
    args = parser.parse_args(argv)
    backends = chosen_backends(args.backend)
    print(f"bench.sync {date.today()} on {machine()}; 1,000-character comments")
    for backend in backends:
        for line in run_backend(
            backend, args.requests, args.warmup, args.concurrency, args.profile, args.server
        ):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
