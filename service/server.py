"""Gunicorn, embedded: the production WSGI server behind ``commentgate serve``."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from service.config import Settings
from service.metrics import folders


class _Gunicorn(BaseApplication):
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):  # noqa: ANN201
        from service import create_app

        return create_app(self.settings)


def _child_exit(_server: Any, worker: Any) -> None:
    """Gunicorn's hook, in the master: a worker process is gone."""
    folders.mark_process_dead(worker.pid)


def run_gunicorn(settings: Settings, *, host: str, port: int, processes: int, threads: int) -> None:
    """gthread workers: I/O-bound requests (one insert, one publish) overlap within a process.

    The master chooses the metrics folder before it forks: every worker process writes its
    series there, and a scrape of any of them adds up all of them.
    """
    folders.activate(settings.metrics_folder, "api")
    options = {
        "bind": f"{host}:{port}",
        "workers": processes,
        "worker_class": "gthread" if threads > 1 else "sync",
        "threads": threads,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "child_exit": _child_exit,
    }
    _Gunicorn(settings, options).run()
