"""Per-app resources (engine, sessions, Celery producer), created by ``create_app`` only."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from celery import Celery
from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.db import make_engine, make_session_factory

if TYPE_CHECKING:
    from classifier import Model

log = logging.getLogger(__name__)


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    celery: Celery
    _model: Any = None

    def model(self) -> Model:
        """The active model, for synchronous scoring in the API process (loaded on first use)."""
        if self._model is None:
            from classifier import ActiveModel, Registry

            self._model = ActiveModel(
                Registry(self.settings.model_dir), self.settings.model_check_interval
            )
        return self._model.get()

    def enqueue_scoring(self, comment_ids: Sequence[str]) -> bool:
        """Publish score tasks after the commit; a failure leaves the comment to the sweep."""
        from workers.celery_app import SCORE_TASK

        try:
            for comment_id in comment_ids:
                self.celery.send_task(SCORE_TASK, args=[comment_id])
        except Exception:  # noqa: BLE001 - any broker failure: the stored comment is safe
            log.warning("broker unavailable; %d comment(s) left to the sweep", len(comment_ids))
            return False
        return True

    def enqueue_delivery(self, delivery_ids: Sequence[str]) -> bool:
        from workers.celery_app import DELIVER_TASK

        try:
            for delivery_id in delivery_ids:
                self.celery.send_task(DELIVER_TASK, args=[delivery_id])
        except Exception:  # noqa: BLE001
            log.warning("broker unavailable; %d delivery(ies) left to the sweep", len(delivery_ids))
            return False
        return True


def init_app(app: Flask, settings: Settings) -> AppState:
    from workers.celery_app import create_celery

    engine = make_engine(settings.database_url)
    state = AppState(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        celery=create_celery(settings),
    )
    app.extensions["commentgate"] = state
    app.teardown_appcontext(_close_session)
    return state


def state() -> AppState:
    return current_app.extensions["commentgate"]


def db() -> Session:
    """The request's session, opened on first use and closed at teardown."""
    if "db" not in g:
        g.db = state().sessions()
    return g.db


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()
