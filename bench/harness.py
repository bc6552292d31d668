"""Start a real CommentGate installation for benchmarks: API (gunicorn), workers, receiver.

Used by the bench scripts; everything runs on 127.0.0.1 and is stopped by process id.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis
import requests

from bench.profiling import cpu_seconds, descendants
from classifier import Registry, default_training_paths, train
from tests.support.local import free_port

REPO = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_BENCH_DB = "redis://127.0.0.1:6379/13"


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(interval)


def wait_until_settled(pid: int, processes: int, timeout: float = 90.0, quiet: float = 0.5) -> None:
    """Wait until ``pid`` and the processes below it number ``processes`` and have used no CPU
    for ``quiet`` seconds: every API worker has loaded its model. The master listens before its
    workers are warm, and with keep-alive a load generator's connections all stay with the
    first worker that accepts them, so a run that starts earlier measures one process."""
    deadline = time.monotonic() + timeout
    last, still_since = -1.0, time.monotonic()
    while time.monotonic() < deadline:
        pids = descendants(pid)
        used = sum(cpu_seconds(p) for p in pids)
        if len(pids) < processes or used - last > 0.02:
            last, still_since = used, time.monotonic()
        elif time.monotonic() - still_since >= quiet:
            return
        time.sleep(0.1)
    raise TimeoutError("the API's workers did not settle")


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Installation:
    backend: str
    home: Path
    env: dict[str, str]
    processes: list[subprocess.Popen] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    _seen: dict[str, float] = field(default_factory=dict)
    _offset: int = 0
    base_url: str = ""
    base_urls: list[str] = field(default_factory=list)  # every API started, ``base_url`` the last
    receiver_log: Path | None = None
    receiver_port: int = 0
    site: dict = field(default_factory=dict)

    def run(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "service.cli", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout

    def spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.home / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            list(args),
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        self.names[process.pid] = name
        return process

    def named(self, prefix: str) -> list[subprocess.Popen]:
        """Running processes whose name starts with ``prefix`` (``worker``, ``api``, ...)."""
        return [p for p in self.processes if self.names.get(p.pid, "").startswith(prefix)]

    def start_receiver(self, *options: str, port: int | None = None) -> None:
        """The test receiver, on ``port`` if given (a site's endpoint that comes back)."""
        self.receiver_port = port or free_port()
        self.receiver_log = self.home / "receiver.jsonl"
        self.spawn(
            "receiver",
            sys.executable,
            "-m",
            "tests.support.receiver",
            str(self.receiver_port),
            str(self.receiver_log),
            *options,
        )
        wait_until(lambda: _port_open(self.receiver_port), 10)

    def start_api(self, workers: int = 2, threads: int = 4) -> None:
        port = free_port()
        self.spawn(
            "api",
            sys.executable,
            "-m",
            "service.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        )
        self.base_url = f"http://127.0.0.1:{port}"
        self.base_urls.append(self.base_url)
        wait_until(lambda: _port_open(port), 30)
        wait_until_settled(self.processes[-1].pid, workers + 1)

    def start_worker(self, concurrency: int = 2, beat: bool = True) -> subprocess.Popen:
        index = len(self.names)
        args = [
            sys.executable,
            "-m",
            "service.cli",
            "worker",
            f"--concurrency={concurrency}",
            "--loglevel=WARNING",
        ]
        if beat:
            args.append("--beat")
        process = self.spawn(f"worker-{index}", *args)
        time.sleep(3)
        return process

    def delivered(self) -> dict[str, float]:
        """comment id → time the receiver got its first successful webhook.

        Reads only what the receiver appended since the last call: re-parsing the whole log
        on every poll would take CPU from the system being measured.
        """
        if not self.receiver_log or not self.receiver_log.exists():
            return dict(self._seen)
        with self.receiver_log.open("rb") as handle:
            handle.seek(self._offset)
            chunk = handle.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._offset += len(complete)
        for line in complete.splitlines():
            record = json.loads(line)
            if record["status"] != 200:
                continue
            comment_id = json.loads(record["body"])["data"]["comment_id"]
            self._seen.setdefault(comment_id, record["received_at"])
        return dict(self._seen)

    def webhook_counts(self) -> tuple[int, int]:
        """(distinct events delivered, total successful POSTs) — the difference is duplicates."""
        if not self.receiver_log or not self.receiver_log.exists():
            return 0, 0
        ids = [
            json.loads(line)["headers"].get("webhook-id")
            for line in self.receiver_log.read_text().splitlines()
            if json.loads(line)["status"] == 200
        ]
        return len(set(ids)), len(ids)

    def pending(self) -> int:
        text = requests.get(f"{self.base_url}/metrics", timeout=5).text
        for line in text.splitlines():
            if line.startswith("commentgate_comments_pending "):
                return int(float(line.split()[-1]))
        return 0

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            stop(process)
        self.processes.clear()


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def installation(
    backend: str, model_dir: Path | None = None, extra_env: dict[str, str] | None = None
) -> Iterator[Installation]:
    """A fresh installation on ``embedded`` (SQLite + filesystem broker) or ``postgres-redis``."""
    home = Path(tempfile.mkdtemp(prefix=f"cg-bench-{backend}-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTGATE_")}
    env.update(
        COMMENTGATE_HOME=str(home),
        COMMENTGATE_WEBHOOK_ALLOW_PRIVATE="true",
        COMMENTGATE_RATE_LIMITS="off",
        COMMENTGATE_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    if model_dir is not None:
        env["COMMENTGATE_MODEL_DIR"] = str(model_dir)
    database = None
    if backend == "postgres-redis":
        database = "cg_bench_" + uuid.uuid4().hex[:10]
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        redis.Redis.from_url(REDIS_BENCH_DB).flushdb()
        env["COMMENTGATE_DATABASE_URL"] = f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
        env["COMMENTGATE_BROKER_URL"] = REDIS_BENCH_DB
    env.update(extra_env or {})
    inst = Installation(backend=backend, home=home, env=env)
    try:
        inst.run("db", "upgrade")
        registry = Registry(Path(env.get("COMMENTGATE_MODEL_DIR") or home / "models"))
        if registry.active_version() is None:
            registry.promote(
                train(default_training_paths(REPO / "training_data"), registry).version
            )
        yield inst
    finally:
        inst.stop_all()
        if database:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            redis.Redis.from_url(REDIS_BENCH_DB).flushdb()


BACKENDS = ("embedded", "postgres-redis")


def backend_parser(description: str | None) -> argparse.ArgumentParser:
    """A bench script's parser, with ``--backend`` (one back end, or ``both``)."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both")
    return parser


def chosen_backends(choice: str) -> list[str]:
    return list(BACKENDS) if choice == "both" else [choice]


def create_site(inst: Installation) -> dict:
    url = f"http://127.0.0.1:{inst.receiver_port}/hook"
    inst.site = json.loads(
        inst.run("sites", "create", f"bench-{uuid.uuid4().hex[:6]}", "--webhook-url", url, "--json")
    )
    return inst.site


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}"
