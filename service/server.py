"""Gunicorn, embedded: the production WSGI server behind ``commentgate serve``."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any

from gunicorn.app.base import BaseApplication

from service.config import Settings
from service.metrics import folders

if TYPE_CHECKING:
    from flask import Flask


class _Gunicorn(BaseApplication):
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        from service import create_app

        return create_app(self.settings)


def _child_exit(_server: Any, worker: Any) -> None:
    """Gunicorn's hook, in the master: a worker process is gone."""
    folders.mark_process_dead(worker.pid)


def _post_worker_init(worker: Any) -> None:
    """Gunicorn's hook, in a worker that has loaded the app and not yet accepted a request:
    load the model now, so that no request waits for it; then set aside what start-up made."""
    worker.wsgi.extensions["commentgate"].warm()
    settle_heap()


def settle_heap() -> None:
    """Collect once, then freeze what start-up made (modules, the model, the mappers): the
    garbage collector's full passes, which a request may pay for, no longer walk it."""
    gc.collect()
    gc.freeze()


def run_gunicorn(settings: Settings, *, host: str, port: int, processes: int, threads: int) -> None:
    """gthread workers: I/O-bound requests (one insert, one publish) overlap within a process,
    and idle keep-alive connections stay open (the sync worker closes each one after a response).
    They stay open longer than clients keep theirs idle: a client (Coral's keep-alive agent) that
    reuses a socket the server has just closed gets "socket hang up".

    The master chooses the metrics folder before it forks: every worker process writes its
    series there, and a scrape of any of them adds up all of them.
    """
    folders.activate(settings.metrics_folder, "api")
    options = {
        "bind": f"{host}:{port}",
        "workers": processes,
        "worker_class": "gthread",
        "threads": threads,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": settings.keepalive,
        "child_exit": _child_exit,
        "post_worker_init": _post_worker_init,
    }
    _Gunicorn(settings, options).run()
