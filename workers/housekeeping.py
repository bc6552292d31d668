"""Periodic upkeep that every worker schedules on its own: no second process to forget.

A worker started by ``commentgate worker`` (or ``celery -A workers.celery_app worker``) adds
this step to its consumer: the worker's own timer publishes the sweep every
``COMMENTGATE_SWEEP_INTERVAL`` seconds and a pruning check every minute. The tasks take a
database lease first (``service.leases``), so with any number of workers, or a ``celery beat``
still running from an older deployment, the sweep runs about once per interval and pruning once
per hour. Each message expires when the next is due: a queue that is not drained does not pile
them up. It is a consumer step because a lost broker connection clears the event loop's timers
and restarts the consumer's steps: starting again puts the schedule back.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, bootsteps

from workers.celery_app import PRUNE_TASK, SWEEP_TASK

log = logging.getLogger(__name__)

PRUNE_CHECK_SECONDS = 60.0


class Housekeeping(bootsteps.StartStopStep):
    """Publishes the sweep and the pruning check from the worker's main process."""

    requires = {"celery.worker.consumer.connection:Connection"}

    def __init__(self, consumer: Any, **kwargs: Any) -> None:
        super().__init__(consumer, **kwargs)
        self.timers: list[Any] = []

    def start(self, consumer: Any) -> None:
        self.stop(consumer)
        settings = consumer.app.commentgate_settings()
        for task, every in (
            (SWEEP_TASK, settings.sweep_interval),
            (PRUNE_TASK, PRUNE_CHECK_SECONDS),
        ):
            entry = consumer.timer.call_repeatedly(
                every, publish, (consumer.app, task, every), priority=10
            )
            self.timers.append(entry)

    def stop(self, consumer: Any) -> None:
        for entry in self.timers:
            entry.cancel()
        self.timers.clear()

    shutdown = stop


def publish(app: Celery, task: str, every: float) -> None:
    """One message, void once the next is due; a failed publish waits for the next tick."""
    try:
        app.send_task(task, expires=every)
    except Exception:  # noqa: BLE001 - the broker may be down: the next tick tries again
        log.warning("could not publish %s; next try in %gs", task, every, exc_info=True)
