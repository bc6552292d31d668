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
from service.db import API_CHECKPOINT_PAGES, make_engine, make_session_factory
from service.publisher import GroupedPublisher, TaskPublisher

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from classifier import ActiveModel, Model


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    celery: Celery
    publisher: TaskPublisher
    scoring: GroupedPublisher
    _model: Any = None

    def model(self) -> Model:
        """The active model, for synchronous scoring in the API process. A promoted version
        loads in the background while this keeps answering with the previous one."""
        return self._active().get()

    def _active(self) -> ActiveModel:
        if self._model is None:
            from classifier import ActiveModel, Registry

            registry = Registry(self.settings.model_dir)
            interval = self.settings.model_check_interval
            self._model = ActiveModel(registry, interval, background=True)
        return self._model

    def warm(self) -> None:
        """Load the model and score once when the process starts: the first request of a
        process must not pay for the load (Perspective clients give up after 800 ms)."""
        from classifier import ModelLoadError, RegistryError
        from service.synchronous_checks import model_outputs, score_texts

        try:
            model = self._active().warm()
        except (ModelLoadError, RegistryError):  # the API still serves; scoring answers 503
            log.exception("no model loaded at start; the first scoring request will try again")
            return
        model_outputs(model)
        score_texts(model, ["Warming up."])

    def queue_depth(self) -> int:
        """Score messages waiting in the broker, for the ``/metrics`` gauge."""
        from workers.broker import queue_length

        return queue_length(self.celery)

    def enqueue_scoring(self, comment_ids: Sequence[str]) -> None:
        """Queue committed comments for scoring: this process's publisher sends the ids of
        concurrent requests as one message; a failure leaves them to the sweep."""
        self.scoring.submit(comment_ids)

    def enqueue_delivery(self, delivery_ids: Sequence[str], countdown: float | None = None) -> bool:
        """Publish delivery tasks after the commit, due in ``countdown`` seconds if given."""
        from workers.celery_app import DELIVER_TASK

        return self.publisher.publish(DELIVER_TASK, delivery_ids, countdown)


def init_app(app: Flask, settings: Settings) -> AppState:
    from workers.celery_app import SCORE_TASK, create_celery

    engine = make_engine(settings.database_url, checkpoint_pages=API_CHECKPOINT_PAGES)
    celery = create_celery(settings)
    publisher = TaskPublisher(celery)
    state = AppState(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        celery=celery,
        publisher=publisher,
        scoring=GroupedPublisher(publisher, SCORE_TASK),
    )
    app.extensions["commentgate"] = state
    app.teardown_appcontext(_close_session)
    return state


def state() -> AppState:
    return current_app.extensions["commentgate"]


class ModelUnavailableError(Exception):
    """No model to score with (none trained yet, or it cannot be loaded)."""


def scoring_model() -> Model:
    """The active model for a synchronous check; :class:`ModelUnavailableError` if there is
    none, which each compatible API answers in its own shape."""
    from classifier import ModelLoadError, RegistryError

    try:
        return state().model()
    except (ModelLoadError, RegistryError) as exc:
        raise ModelUnavailableError(str(exc)) from exc


def db() -> Session:
    """The request's session, opened on first use and closed at teardown."""
    if "db" not in g:
        g.db = state().sessions()
    return g.db


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()
