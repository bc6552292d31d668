"""The migrations build exactly the schema the models describe, and step down again."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from service.db import make_engine
from service.migrate import alembic_config, upgrade
from service.models import Base


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'schema.db'}"
    return request.getfixturevalue("postgres_url")


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
    finally:
        engine.dispose()


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
