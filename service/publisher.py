"""Publishing task messages after the commit, without letting a broker outage stall requests.

A failed publish is not an error for the caller: the comment or delivery is already committed
and the periodic sweep re-enqueues it. After a failure we stop trying for a short cool-down, so
requests keep answering fast while the broker is down.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
import weakref
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


class GroupedPublisher:
    """Ids handed over by requests, sent as one message per couple of milliseconds.

    A request answers once its comment is committed; publishing its id costs a round trip to
    the broker and most of a millisecond of kombu, which concurrent requests would each pay.
    Here they hand the id to this process's publishing thread, which gathers what arrives
    within ``window`` seconds (at most ``most`` ids) and sends one message carrying them all:
    the scoring task takes batches anyway. An id still waiting when the process dies is
    committed, so the sweep finds it; a normal exit sends what waits first. The thread ends
    after ``idle`` seconds without work and starts again with the next id; a forked server
    process starts its own.
    """

    def __init__(
        self,
        publisher: TaskPublisher,
        task_name: str,
        window: float = 0.002,
        most: int = 32,
        idle: float = 30.0,
    ) -> None:
        self.publisher = publisher
        self.task_name = task_name
        self.window = window
        self.most = most
        self.idle = idle
        self._reset()
        _ALL.add(self)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._waiting: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def submit(self, ids: Sequence[str]) -> None:
        """Hand the ids over; they are sent within ``window`` seconds."""
        with self._lock:
            for item in ids:
                self._waiting.put(item)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, args=(self._waiting,), name="publisher", daemon=True
                )
                self._thread.start()

    def flush(self) -> None:
        """Send what waits now (at exit)."""
        ids = []
        while not self._waiting.empty():
            ids.append(self._waiting.get_nowait())
        if ids:
            self._send(ids)

    def _run(self, waiting: queue.SimpleQueue[str]) -> None:
        while True:
            try:
                ids = [waiting.get(timeout=self.idle)]
            except queue.Empty:
                with self._lock:
                    if waiting.empty():
                        self._thread = None
                        return
                continue
            deadline = time.monotonic() + self.window
            while len(ids) < self.most:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    ids.append(waiting.get(timeout=remaining))
                except queue.Empty:
                    break
            self._send(ids)

    def _send(self, ids: list[str]) -> None:
        try:
            self.publisher.publish_calls(self.task_name, [ids])
        except Exception:  # the thread must live on; the committed comments wait for the sweep
            log.exception("publishing %d %s id(s) failed", len(ids), self.task_name)


_ALL: weakref.WeakSet[GroupedPublisher] = weakref.WeakSet()


def _after_fork() -> None:
    """A forked process has none of its parent's threads: each publisher starts afresh."""
    for grouped in list(_ALL):
        grouped._reset()


def _at_exit() -> None:
    for grouped in list(_ALL):
        grouped.flush()


os.register_at_fork(after_in_child=_after_fork)
atexit.register(_at_exit)
