"""Schema migrations with Alembic, driven from code so every process uses the same URL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head", *, identifier_key: bytes | None = None) -> None:
    """Bring the schema to ``revision``; safe to run on every start.

    ``identifier_key`` (``Settings.identifier_key``) converts stored author hashes to keyed
    ones (revision 0007); a database with none needs no key."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    config.attributes["identifier_key"] = identifier_key
    if engine.dialect.name == "sqlite":
        url = engine.url
        if url.database:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
