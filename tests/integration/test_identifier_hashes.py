"""Stored author hashes are keyed per installation, match an author alike, and survive upgrade."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from sqlalchemy import MetaData, Table, select, text

from service.comments import comment_row, insert_comment
from service.db import make_engine, make_session_factory, session_scope
from service.migrate import upgrade
from service.models import Comment, Site
from service.moderation import author_history
from service.security import hash_identifier
from tests.conftest import Stack, _make_stack, auth, serve, stop_process

pytestmark = pytest.mark.integration

HASHED = {"COMMENTGATE_STORE_PII_HASHED": "true"}
IP, EMAIL = "198.51.100.23", "Jane@Example.org"


def plain(value: str) -> str:
    """What was stored before hashes were keyed."""
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()


def post_and_read(stack: Stack, make_site_for, emails: list[str]) -> list[Comment]:
    """Comments from the same IP with ``emails``, through the API served as in production."""
    site = make_site_for(stack, "http://127.0.0.1:9/h")
    process, base = serve(stack)
    try:
        for index, email in enumerate(emails):
            response = requests.post(
                f"{base}/v1/comments",
                json={
                    "external_id": f"c{index}",
                    "content": "hello",
                    "author": {"email": email, "ip": IP},
                },
                headers=auth(site),
                timeout=10,
            )
            assert response.status_code == 202, response.text
    finally:
        stop_process(process)
    engine = make_engine(stack.settings.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            rows = session.scalars(select(Comment).order_by(Comment.external_id)).all()
            session.expunge_all()
            return list(rows)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "stack", ["postgres-redis"], indirect=True
)  # hashing happens before storage
def test_hashed_pii_is_keyed_stable_and_differs_between_installations(
    stack: Stack, tmp_path: Path, model_dir: Path, make_site_for
) -> None:
    stack.env.update(HASHED)
    first, again = post_and_read(stack, make_site_for, [EMAIL, "jane@example.ORG"])
    assert first.author_ip != plain(IP) and len(first.author_ip) == 64
    assert first.author_email_hash != plain(EMAIL)
    assert first.author_email == first.author_email_hash
    # the same author, whatever the e-mail's case: one hash, so their history still matches
    assert (again.author_ip, again.author_email_hash) == (first.author_ip, first.author_email_hash)
    assert first.author_email_hash == hash_identifier(EMAIL, stack.settings.identifier_key)

    other = _make_stack("other", tmp_path, model_dir, HASHED)
    [elsewhere] = post_and_read(other, make_site_for, [EMAIL])
    assert other.settings.secret_key != stack.settings.secret_key
    assert elsewhere.author_ip != first.author_ip
    assert elsewhere.author_email_hash != first.author_email_hash


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'upgrade.db'}"
    return request.getfixturevalue("postgres_url")


def test_upgrade_keys_the_hashes_stored_before_so_history_still_matches(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    key = hashlib.sha256(b"this installation's secret").digest()
    try:
        upgrade(engine, "0006")
        with engine.begin() as connection:  # the sites table as 0006 left it
            connection.execute(
                text(
                    "INSERT INTO sites (id, name, api_key_hash, webhook_url, webhook_secret,"
                    " policy, created_at) VALUES ('s1', 'blog', 'h', 'http://127.0.0.1:9/h',"
                    " 'whsec', '{}', '2026-12-01 09:00:00')"
                )
            )
            comments = Table("comments", MetaData(), autoload_with=connection)
            connection.execute(  # (raw e-mail, raw IP) as stored, or hashed with STORE_PII_HASHED
                comments.insert(),
                [
                    _comment("raw", EMAIL, plain(EMAIL), IP),
                    _comment("hashed", plain(EMAIL), plain(EMAIL), plain(IP)),
                    _comment("ip-only", None, None, "2001:db8::7"),
                ],
            )
        site = SimpleNamespace(id="s1")
        with pytest.raises(RuntimeError, match="secret key"):
            upgrade(engine)

        upgrade(engine, identifier_key=key)

        keyed_email, keyed_ip = hash_identifier(EMAIL, key), hash_identifier(IP, key)
        with session_scope(sessions) as session:
            stored = {
                c.external_id: (c.author_email, c.author_email_hash, c.author_ip)
                for c in session.scalars(select(Comment))
            }
            assert stored == {
                "raw": (EMAIL, keyed_email, IP),
                "hashed": (keyed_email, keyed_email, keyed_ip),
                "ip-only": (None, None, "2001:db8::7"),
            }
            site = session.get_one(Site, site.id)
            data = {"external_id": "new", "content": "hi", "author": {"email": EMAIL}}
            new_id, _ = insert_comment(session, comment_row(site, data, identifier_key=key))
        with session_scope(sessions) as session:
            history = author_history(session, session.get_one(Comment, new_id))
            assert history.matched_by == "email"
            assert {c.external_id for c in history.comments} == {"raw", "hashed"}
    finally:
        engine.dispose()


def _comment(
    external_id: str, email: str | None, email_hash: str | None, ip: str
) -> dict[str, Any]:
    """A row of the comments table as migration 0006 left it (the ORM model is today's)."""
    return {
        "id": uuid.uuid4().hex,
        "site_id": "s1",
        "external_id": external_id,
        "status": "approved",
        "content": "hello",
        "metadata": {},
        "source": "api",
        "received_at": datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        "author_email": email,
        "author_email_hash": email_hash,
        "author_ip": ip,
    }
