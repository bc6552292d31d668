"""Per-process resources of a worker: built once after fork, reused by every task."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import urllib3
from celery.signals import worker_process_init
from sqlalchemy.orm import Session, sessionmaker

from classifier import ActiveModel, Registry
from service.attempts import SiteShare
from service.config import Settings
from service.db import make_engine, make_session_factory
from service.outbound import webhook_pool

DELIVERY_THREADS = 16
# One site's first attempts use at most half the delivery threads (the rest wait their turn):
# an endpoint that has just stopped answering cannot hold them all before its failures send its
# events to the retry lane.
SITE_SHARE = DELIVERY_THREADS // 2


@dataclass
class WorkerContext:
    settings: Settings
    sessions: sessionmaker[Session]
    model: ActiveModel
    http: urllib3.PoolManager
    # Webhook attempts run here, off the task's thread: a slow receiver holds a thread, not
    # the scoring of the comments that follow.
    deliveries: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(DELIVERY_THREADS, "webhook")
    )
    first_attempts: SiteShare = field(default_factory=lambda: SiteShare(SITE_SHARE))


_context: WorkerContext | None = None
_creating = threading.Lock()


def get_context(app: Any) -> WorkerContext:
    """The process's context: the model loads once and reloads only when a promotion changes it.

    Built once even when the first tasks start together on the retry lane's threads."""
    global _context
    if _context is None:
        with _creating:
            if _context is None:
                settings: Settings = app.commentgate_settings()
                threads = max(DELIVERY_THREADS, settings.webhook_retry_concurrency)
                _context = WorkerContext(
                    settings=settings,
                    sessions=make_session_factory(make_engine(settings.database_url)),
                    model=ActiveModel(
                        Registry(settings.model_dir),
                        settings.model_check_interval,
                        background=True,
                    ),
                    http=webhook_pool(threads),
                )
    return _context


@worker_process_init.connect
def _reset_after_fork(**_: Any) -> None:
    """Connections and HTTP pools must not be shared with the parent process."""
    global _context
    _context = None
