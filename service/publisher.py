"""Publishing task messages after the commit, without letting a broker outage stall requests.

A failed publish is not an error for the caller: the comment or delivery is already committed
and the periodic sweep re-enqueues it. After a failure we stop trying for a short cool-down, so
requests keep answering fast while the broker is down.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from celery import Celery

log = logging.getLogger(__name__)


class TaskPublisher:
    def __init__(self, celery: Celery, cooldown: float = 3.0) -> None:
        self.celery = celery
        self.cooldown = cooldown
        self._down_until = 0.0
        self._lock = threading.Lock()

    @property
    def broker_down(self) -> bool:
        return time.monotonic() < self._down_until

    def publish(self, task_name: str, ids: Sequence[str], countdown: float | None = None) -> bool:
        """Send one message per id over a pooled producer; False if left to the sweep. With
        ``countdown`` the tasks run that many seconds from now."""
        return self.publish_calls(task_name, [(item,) for item in ids], countdown)

    def publish_calls(
        self, task_name: str, calls: Sequence[Sequence[Any]], countdown: float | None = None
    ) -> bool:
        """Send one message per arguments; False if left to the sweep."""
        if not calls:
            return True
        if self.broker_down:
            return False
        try:
            with self.celery.producer_or_acquire() as producer:
                for args in calls:
                    self.celery.send_task(
                        task_name,
                        args=list(args),
                        producer=producer,
                        countdown=countdown,
                        argsrepr="",
                        kwargsrepr="",
                    )
        except Exception as exc:  # noqa: BLE001 - any broker failure: the stored work is safe
            with self._lock:
                self._down_until = time.monotonic() + self.cooldown
            log.warning(
                "broker unavailable (%s); %d %s message(s) left to the sweep",
                type(exc).__name__,
                len(calls),
                task_name,
            )
            return False
        return True
