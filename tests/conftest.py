"""Fixtures shared by every test: back ends, a trained model, workers and webhook receivers."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from service import create_app
from service.config import Settings
from service.db import make_engine, make_session_factory
from service.migrate import upgrade
from service.sites import NewSite
from tests.support.local import free_port
from tests.support.stored import CLOSED_HOOK, new_site

# The domain tests' fixtures (SQLite, embedded broker, no worker): ``domain``, ``db``, ``site``...
pytest_plugins = ["tests.support.domain"]

REPO = Path(__file__).resolve().parents[1]
SEED_SET = REPO / "training_data" / "seed"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379"


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Poll until ``predicate`` returns something truthy; fail the test with a clear message."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def stop_process(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    """Stop a child by its process id: SIGTERM to the main process (it stops its own children),
    SIGKILL to the whole process group (a crash: nothing gets to clean up)."""
    if process.poll() is not None:
        return
    try:
        if sig == signal.SIGKILL:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.send_signal(sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    else:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# --- the model ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def seed_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project's seed set, named ``seed`` as in the checkout: tests train from it,
    never from the checkout's ``training_data/``, which commands such as ``commentgate feedback
    export`` write into."""
    copy = tmp_path_factory.mktemp("training_data") / "seed"
    shutil.copytree(SEED_SET, copy)
    return copy


@pytest.fixture(scope="session")
def seed_model(tmp_path_factory: pytest.TempPathFactory, seed_set: Path) -> Path:
    """One model trained on the project's seed set (seconds, not minutes), shared by every test
    that needs a small real model."""
    from classifier import Registry, train

    return train([seed_set], Registry(tmp_path_factory.mktemp("seed-model"))).path


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, seed_model: Path) -> Path:
    """A registry whose active model is the seed model."""
    from classifier import Registry

    root = tmp_path_factory.mktemp("models")
    shutil.copytree(seed_model, root / seed_model.name)
    Registry(root).promote(seed_model.name)
    return root


# --- back ends -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    settings: Settings
    sessions: sessionmaker[Session]


@dataclass
class Stack:
    """One isolated CommentGate installation: its settings as environment variables."""

    name: str
    env: dict[str, str]
    home: Path
    workers: list[subprocess.Popen] = field(default_factory=list)

    @property
    def settings(self) -> Settings:
        return Settings.from_env(self.env)

    def start_worker(self, concurrency: int = 2) -> subprocess.Popen:
        """A worker as ``commentgate worker`` starts it: it schedules its own sweep."""
        log = self.home / f"worker-{len(self.workers)}.log"
        args = [sys.executable, "-m", "service.cli", "worker", f"--concurrency={concurrency}"]
        with open(log, "wb") as handle:
            process = subprocess.Popen(
                args,
                cwd=REPO,
                env=self.env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.workers.append(process)
        wait_for(lambda: b" ready." in log.read_bytes() or process.poll() is not None, 60)
        assert process.poll() is None, log.read_text()[-3000:]
        return process

    def cli_json(self, *args: str) -> dict[str, Any]:
        """Run ``commentgate ARGS --json`` against this stack; its one JSON object."""
        out = subprocess.run(
            [sys.executable, "-m", "service.cli", *args, "--json"],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return json.loads(out.stdout)

    @contextmanager
    def opened(self) -> Iterator[Opened]:
        """Its database, opened from the test's process (``tests.support.stored`` helpers)."""
        engine = make_engine(self.settings.database_url)
        try:
            yield Opened(self.settings, make_session_factory(engine))
        finally:
            engine.dispose()

    def stop_workers(self) -> None:
        """The test is over and its stack is thrown away: no need to wait for a clean exit."""
        for process in self.workers:
            stop_process(process, signal.SIGKILL)


def _base_env(home: Path, model_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTGATE_")}
    env.update(
        COMMENTGATE_HOME=str(home),
        COMMENTGATE_MODEL_DIR=str(model_dir),
        COMMENTGATE_WEBHOOK_ALLOW_PRIVATE="true",
        COMMENTGATE_PENDING_TIMEOUT="3",
        COMMENTGATE_SWEEP_INTERVAL="1",
        COMMENTGATE_WEBHOOK_RETRY_SCHEDULE="0.5,1,2,2,2,2,2",  # 8 attempts in about 12 s
        COMMENTGATE_WEBHOOK_TIMEOUT="3",
        COMMENTGATE_RATE_LIMITS="off",
        COMMENTGATE_SECURE_COOKIES="false",
        PYTHONUNBUFFERED="1",
    )
    return env


class _Dropper:
    """Drops the tests' databases on a thread of its own: a drop waits for a checkpoint (about a
    second), which the next test need not wait for. The session waits for the last one."""

    def __init__(self) -> None:
        self._names: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="drop-databases", daemon=True)
        self._thread.start()

    def drop(self, name: str) -> None:
        self._names.put(name)

    def close(self) -> None:
        self._names.put(None)
        self._thread.join(timeout=300)

    def _run(self) -> None:
        while (name := self._names.get()) is not None:
            # A connection per drop: some tests restart PostgreSQL, which ends every connection.
            for _ in range(30):
                try:
                    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    break
                except psycopg.OperationalError:  # restarting: try again shortly
                    time.sleep(1)


@pytest.fixture(scope="session")
def _databases() -> Iterator[_Dropper]:
    dropper = _Dropper()
    yield dropper
    dropper.close()


def _new_database(dropper: _Dropper, template: str | None = None) -> Iterator[str]:
    """A database of its own for one test. Tests may lose the last commits on a crash of the
    server (``synchronous_commit`` off), which no test makes: commits need not wait for the disk."""
    name = "cg_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit TO off')
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    dropper.drop(name)


@pytest.fixture
def postgres_url(_databases: _Dropper) -> Iterator[str]:
    """A fresh, empty PostgreSQL database of its own, dropped afterwards."""
    yield from _new_database(_databases)


@pytest.fixture(scope="session")
def _migrated_postgres(_databases: _Dropper) -> Iterator[str]:
    """A database with every migration applied: the template each test's database copies."""
    for url in _new_database(_databases):
        upgrade_database(url)
        yield url.rsplit("/", 1)[1]


@pytest.fixture
def migrated_postgres_url(_databases: _Dropper, _migrated_postgres: str) -> Iterator[str]:
    """A fresh PostgreSQL database of its own with the schema in place, dropped afterwards."""
    yield from _new_database(_databases, template=_migrated_postgres)


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database with every migration applied, which each embedded stack copies."""
    path = tmp_path_factory.mktemp("sqlite-template") / "commentgate.db"
    upgrade_database(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that trains a model (from the seed set) is ``slow``: ``make test-fast`` leaves
    it out."""
    for item in items:
        if {"seed_model", "seed_set"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def upgrade_database(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


@pytest.fixture
def redis_db() -> Iterator[str]:
    """A Redis database number of its own on the machine's Redis, emptied before and after."""
    number = 1 + (os.getpid() % 14)
    url = f"{REDIS_URL}/{number}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


def _make_stack(
    name: str,
    tmp_path: Path,
    model_dir: Path,
    extra: dict[str, str],
    sqlite_template: Path | None = None,
) -> Stack:
    home = tmp_path / name
    home.mkdir()
    if sqlite_template is not None and "COMMENTGATE_DATABASE_URL" not in extra:
        shutil.copyfile(sqlite_template, home / "commentgate.db")
    env = _base_env(home, model_dir)
    env.update(extra)
    stack = Stack(name=name, env=env, home=home)
    app = create_app(stack.settings)
    upgrade(app.extensions["commentgate"].engine)
    app.extensions["commentgate"].engine.dispose()
    return stack


# For tests of what is refused before anything is stored or queued: the back end plays no part.
BEFORE_STORAGE = pytest.mark.parametrize("stack", ["embedded"], indirect=True)


@pytest.fixture(params=["embedded", "postgres-redis"])
def stack(request: pytest.FixtureRequest, tmp_path: Path, model_dir: Path) -> Iterator[Stack]:
    """Each test using this runs twice: SQLite + embedded broker, and PostgreSQL + Redis."""
    extra: dict[str, str] = {}
    if request.param == "postgres-redis":
        extra = {
            "COMMENTGATE_DATABASE_URL": request.getfixturevalue("migrated_postgres_url"),
            "COMMENTGATE_BROKER_URL": request.getfixturevalue("redis_db"),
        }
    template = request.getfixturevalue("_migrated_sqlite")
    stack = _make_stack(request.param, tmp_path, model_dir, extra, template)
    yield stack
    stack.stop_workers()


@pytest.fixture
def pg_stack(
    tmp_path: Path, model_dir: Path, migrated_postgres_url: str, redis_db: str
) -> Iterator[Stack]:
    stack = _make_stack(
        "postgres-redis",
        tmp_path,
        model_dir,
        {"COMMENTGATE_DATABASE_URL": migrated_postgres_url, "COMMENTGATE_BROKER_URL": redis_db},
    )
    yield stack
    stack.stop_workers()


@pytest.fixture
def app(stack: Stack):
    flask_app = create_app(stack.settings)
    yield flask_app
    flask_app.extensions["commentgate"].engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def worker(stack: Stack) -> subprocess.Popen:
    return stack.start_worker()


# --- webhook receivers ---------------------------------------------------------------------


@dataclass
class Receiver:
    """A real HTTP server in its own process that logs every webhook it gets."""

    port: int
    log: Path
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def requests(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        lines = self.log.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def delivered(self) -> list[dict[str, Any]]:
        return [r for r in self.requests() if r["status"] == 200]

    def events_for(self, comment_id: str) -> list[dict[str, Any]]:
        return [
            r for r in self.delivered() if json.loads(r["body"])["data"]["comment_id"] == comment_id
        ]

    def stop(self) -> None:
        stop_process(self.process)


@pytest.fixture
def start_receiver(tmp_path: Path) -> Iterator[Callable[..., Receiver]]:
    receivers: list[Receiver] = []

    def start(*options: str, port: int | None = None) -> Receiver:
        port = port or free_port()
        log = tmp_path / f"receiver-{port}-{len(receivers)}.jsonl"
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.receiver", str(port), str(log), *options],
            cwd=REPO,
            start_new_session=True,
        )
        wait_for(lambda: _port_open(port), 10)
        receiver = Receiver(port=port, log=log, process=process)
        receivers.append(receiver)
        return receiver

    yield start
    for receiver in receivers:
        receiver.stop()


@pytest.fixture
def webhook_receiver(start_receiver: Callable[..., Receiver]) -> Receiver:
    return start_receiver()


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


# --- sites -----------------------------------------------------------------------------------


@pytest.fixture
def make_site(app) -> Callable[..., NewSite]:
    def make(webhook_url: str = CLOSED_HOOK, name: str | None = None) -> NewSite:
        return new_site(app, webhook_url, name)

    return make


def auth(site: NewSite) -> dict[str, str]:
    return {"Authorization": f"Bearer {site.api_key}"}


def serve(stack: Stack) -> tuple[subprocess.Popen, str]:
    """The API under gunicorn (the production server) in its own process, and its base URL."""
    port = free_port()
    log = stack.home / f"server-{port}.log"
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--workers", "2"],
            cwd=REPO,
            env=stack.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_for(lambda: _port_open(port) or process.poll() is not None, 30)
    assert process.poll() is None, log.read_text()[-3000:]
    return process, f"http://127.0.0.1:{port}"


@pytest.fixture
def live_server(stack: Stack) -> Iterator[str]:
    process, base = serve(stack)
    yield base
    stop_process(process)


@pytest.fixture
def make_site_for() -> Callable[[Stack, str], NewSite]:
    """Create a site in any stack's database (for tests that build their own stack)."""

    def make(stack: Stack, webhook_url: str) -> NewSite:
        with stack.opened() as opened:
            return new_site(opened, webhook_url)

    return make
