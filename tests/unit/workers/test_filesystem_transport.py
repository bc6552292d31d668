"""The embedded broker: a message is published whole, and describing the connection (which Celery
does on every publish) logs nothing."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from service.config import Settings
from workers.celery_app import QUEUE, create_celery


def test_publishing_logs_no_missing_hostname(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_celery(Settings.from_env({"COMMENTGATE_HOME": str(tmp_path)}))
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            app.send_task("commentgate.sweep")
        with app.connection_for_write() as connection:
            connection.info()
            connection.as_uri()
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    queued = [p for p in (tmp_path / "broker" / "queue").iterdir() if p.name.endswith(".msg")]
    assert len(queued) == 2 and all(p.name.endswith(f".{QUEUE}.msg") for p in queued)
