"""The migrations build exactly the schema the models describe, and step down again."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from service.db import make_engine
from service.migrate import alembic_config, upgrade
from service.models import Base, label_subject


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'schema.db'}"
    return request.getfixturevalue("postgres_url")


# SQLAlchemy does not reflect SQLite's expression indexes (the queue's author index); they
# are checked by name below instead.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_upgraded_schema_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []
        indexes = {index["name"]: index for index in inspect(engine).get_indexes("comments")}
        author_index = indexes["ix_comments_site_author_email"]["column_names"]
        assert author_index == ["site_id", "author_email_hash", "received_at", "status"]
        pending = indexes["ix_comments_pending_received"]
        assert pending["column_names"] == ["received_at"]
        options = pending.get("dialect_options", {})
        where = [str(v) for k, v in options.items() if k.endswith("_where")]
        assert where and "pending" in where[0]
        spam = indexes["ix_comments_site_status_spam"]["column_names"]
        assert spam == ["site_id", "status", "spam_rank", "id"]
        assert "ix_comments_site_status_author" in _index_names(engine)
    finally:
        engine.dispose()


def _index_names(engine: Engine) -> set[str]:
    """Every index of ``comments``, expression indexes included, straight from the catalogue."""
    query = (
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'comments'"
        if engine.dialect.name == "sqlite"
        else "SELECT indexname FROM pg_indexes WHERE tablename = 'comments'"
    )
    with engine.connect() as connection:
        return set(connection.scalars(text(query)))


def test_downgrade_to_the_first_revision_and_back(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        config = alembic_config(database_url)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0001")
        assert "comment_bands" not in inspect(engine).get_table_names()
        upgrade(engine)
        assert "comment_bands" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_labels_get_their_identity_and_keep_each_sites_latest(database_url: str) -> None:
    """0009: rows of one site, task, source and text collapse to the latest; other sites' stay."""
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0007")
        stamp = "2026-12-01 10:00:0{}"
        with engine.begin() as connection:
            for site in ("a", "b"):
                connection.execute(
                    text(
                        "INSERT INTO sites (id, name, api_key_hash, webhook_url, webhook_secret,"
                        " policy, created_at) VALUES (:id, :id, :id, 'http://x', 's', '{}',"
                        " '2026-12-01 09:00:00')"
                    ),
                    {"id": site},
                )
            for second, (site, label) in enumerate([("a", 1), ("b", 1), ("a", 0)]):
                connection.execute(
                    text(
                        "INSERT INTO labeled_examples (site_id, task, label, text, source,"
                        " created_at) VALUES (:site, 'spam', :label, 'same text', 'akismet',"
                        " :created)"
                    ),
                    {"site": site, "label": label, "created": stamp.format(second)},
                )
        upgrade(engine)
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT site_id, label, subject FROM labeled_examples ORDER BY site_id")
            ).all()
        assert [(site, label) for site, label, _ in rows] == [("a", 0), ("b", 1)]
        assert {subject for *_, subject in rows} == {label_subject(None, "same text")}
    finally:
        engine.dispose()
