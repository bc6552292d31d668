"""The API leaves SQLite's checkpoints to the workers, so no request waits for one."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from service.db import API_CHECKPOINT_PAGES, CHECKPOINT_PAGES, make_engine


def _checkpoint_pages(engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("PRAGMA wal_autocheckpoint")).scalar_one())


def test_api_connections_checkpoint_rarely_and_workers_as_usual(app, tmp_path: Path) -> None:
    engine = app.extensions["commentgate"].engine
    if engine.dialect.name != "sqlite":
        assert engine.dialect.name == "postgresql"  # nothing to set: PostgreSQL checkpoints itself
        return
    assert _checkpoint_pages(engine) == API_CHECKPOINT_PAGES
    worker_engine = make_engine(f"sqlite:///{tmp_path / 'worker.db'}")
    try:
        assert _checkpoint_pages(worker_engine) == CHECKPOINT_PAGES < API_CHECKPOINT_PAGES
    finally:
        worker_engine.dispose()
