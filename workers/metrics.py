"""The worker's metrics: its processes write to one multiprocess folder, read by the API on the
same machine, or served by the worker itself (``COMMENTGATE_WORKER_METRICS_PORT``).

The folder is chosen in the main process when the worker starts (``celeryd_init``), before the
pool forks and before any series exists, whether it was started by ``commentgate worker`` or by
``celery -A workers.celery_app worker``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery.signals import celeryd_init, worker_process_shutdown, worker_ready

from service.config import Settings
from service.metrics import exporter, exposition, folders

log = logging.getLogger(__name__)


def connect_signals() -> None:
    """Idempotent: every Celery app of the process shares one set of handlers."""
    celeryd_init.connect(_activate, weak=False, dispatch_uid="commentgate.metrics.activate")
    worker_ready.connect(_serve, weak=False, dispatch_uid="commentgate.metrics.serve")
    worker_process_shutdown.connect(
        _forget_process, weak=False, dispatch_uid="commentgate.metrics.forget"
    )


def _settings(app: Any) -> Settings | None:
    get = getattr(app, "commentgate_settings", None)
    return get() if callable(get) else None


def _activate(sender: Any = None, instance: Any = None, **_: Any) -> None:
    settings = _settings(getattr(instance, "app", None))
    if settings is not None:
        folders.activate(settings.metrics_folder, "worker")


def _serve(sender: Any = None, **_: Any) -> None:
    """After the pool has forked: its processes do not inherit the exporter's thread."""
    settings = _settings(getattr(sender, "app", None))
    if settings is None or not settings.worker_metrics_port:
        return
    exporter.start(
        settings.worker_metrics_host,
        settings.worker_metrics_port,
        settings.metrics_token,
        lambda: [exposition.process_collector(everything=False)],
    )
    log.info(
        "metrics on http://%s:%d/metrics",
        settings.worker_metrics_host,
        settings.worker_metrics_port,
    )


def _forget_process(pid: int | None = None, **_: Any) -> None:
    folders.mark_process_dead(pid or os.getpid())
