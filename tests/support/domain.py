"""Fixtures for domain tests: one migrated SQLite database and the embedded broker, no server,
no worker process, no Flask app. A test costs milliseconds: the database is a copy of the
session's migrated template (``tests.conftest._migrated_sqlite``).

Registered for every test by ``pytest_plugins`` in ``tests/conftest.py``.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from celery import Celery
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.db import make_engine, make_session_factory
from service.models import Moderator, Site
from service.sites import NewSite
from tests.support.stored import new_moderator, new_site
from workers.celery_app import create_celery

SECRET_KEY = "domain-tests-secret-key"


@dataclass
class Domain:
    """What domain code needs of an installation: its settings, its sessions, its Celery app
    (the embedded broker: messages are files in ``settings.broker_folder``)."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    celery: Celery

    def queued(self) -> list[Message]:
        """The messages waiting in the broker's folder (every queue), oldest first."""
        folder = self.settings.broker_folder / "queue"
        found = []
        for path in sorted(folder.glob("*.msg")):
            message = json.loads(path.read_text(encoding="utf-8"))
            body = json.loads(base64.b64decode(message["body"]))
            headers = message["headers"]
            found.append(Message(headers["task"], list(body[0]), headers.get("eta")))
        return found


class Message(NamedTuple):
    """A task message as the embedded broker keeps it; ``eta`` when it was sent with a delay."""

    task: str
    args: list[Any]
    eta: str | None


@pytest.fixture
def domain(tmp_path: Path, _migrated_sqlite: Path) -> Iterator[Domain]:
    """A fresh SQLite installation of its own, copied from the migrated template."""
    home = tmp_path / "home"
    home.mkdir()
    database = home / "commentgate.db"
    shutil.copyfile(_migrated_sqlite, database)
    settings = Settings(
        home=home,
        database_url=f"sqlite:///{database}",
        broker_url="filesystem://",
        model_dir=home / "models",
        training_data=home / "training_data",
        webhook_allow_private=True,
        secret_key=SECRET_KEY,
        rate_limits="off",
        secure_cookies=False,
    )
    engine = make_engine(settings.database_url)
    celery = create_celery(settings)
    yield Domain(settings, engine, make_session_factory(engine), celery)
    celery.close()
    engine.dispose()


@pytest.fixture
def db(domain: Domain) -> Iterator[Session]:
    """A session on the domain's database; the test commits what others must see. SQLite has
    one writer: call the ``tests.support.stored`` helpers (their own sessions) before this
    session writes, or after it commits, or they wait for its lock."""
    with domain.sessions() as session:
        yield session


@pytest.fixture
def domain_site(domain: Domain) -> NewSite:
    """A committed site with its keys, webhooks to a closed loopback port."""
    return new_site(domain)


@pytest.fixture
def site(domain_site: NewSite, db: Session) -> Site:
    """The site's row in the test's session."""
    return db.get_one(Site, domain_site.site.id)


@pytest.fixture
def moderator(domain: Domain, domain_site: NewSite, db: Session) -> Moderator:
    """A committed moderator of the site, in the test's session."""
    created = new_moderator(domain, domain_site, email="mod@example.org")
    return db.get_one(Moderator, created.moderator.id)
