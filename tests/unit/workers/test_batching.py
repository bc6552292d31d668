"""PoolAwareBatches: a timed flush waits while every pool process has a batch, within a bound."""

from __future__ import annotations

from typing import Any

import pytest

from workers import batching
from workers.batching import MAX_DEFERRALS, PoolAwareBatches


class Result:
    """What prefork's apply_async returns, as far as the batching looks at it."""

    def __init__(self) -> None:
        self.done = False

    def ready(self) -> bool:
        return self.done


class Pool:
    def __init__(self, processes: int) -> None:
        self.num_processes = processes
        self.sent: list[list[Any]] = []

    def apply_async(self, _function: Any, args: tuple, **_: Any) -> Result:
        self.sent.append(list(args[1][0]))
        return Result()


class Task(PoolAwareBatches):
    name = "test.batched"
    flush_every = 4
    acks_late = True

    def run(self, requests: Any) -> None:  # pragma: no cover - never executed here
        pass


@pytest.fixture
def task(monkeypatch: pytest.MonkeyPatch) -> Task:
    monkeypatch.setattr(batching, "_in_flight", [])
    monkeypatch.setattr(
        "celery_batches.SimpleRequest.from_request", staticmethod(lambda request: request)
    )
    instance = Task()
    instance._pool = Pool(processes=1)
    return instance


class Request:
    eta = None
    task = Task


def test_a_free_process_gets_the_buffer_at_once(task: Task) -> None:
    task._buffer.put(Request())
    task._do_flush()
    assert len(task._pool.sent) == 1


def test_requests_wait_in_the_buffer_while_every_process_is_busy(task: Task) -> None:
    task._buffer.put(Request())
    task._do_flush()  # the one process is now busy with a batch of one
    for _ in range(3):
        task._buffer.put(Request())
        task._do_flush()
    assert [len(batch) for batch in task._pool.sent] == [1]  # the three wait together
    batching._in_flight[0].done = True
    task._do_flush()
    assert [len(batch) for batch in task._pool.sent] == [1, 3]


def test_a_full_buffer_is_sent_even_to_a_busy_pool(task: Task) -> None:
    task._buffer.put(Request())
    task._do_flush()
    for _ in range(task.flush_every):
        task._buffer.put(Request())
    task._do_flush()
    assert [len(batch) for batch in task._pool.sent] == [1, 4]


def test_a_batch_that_never_reports_holds_the_rest_only_so_long(task: Task) -> None:
    task._buffer.put(Request())
    task._do_flush()  # its process dies: the result never becomes ready
    task._buffer.put(Request())
    for _ in range(MAX_DEFERRALS):
        task._do_flush()
    assert len(task._pool.sent) == 1
    task._do_flush()
    assert [len(batch) for batch in task._pool.sent] == [1, 1]


def test_a_reconnected_consumer_starts_a_new_flush_timer(task: Task) -> None:
    """Celery clears the consumer's timer when the broker connection drops, and builds the
    strategies again on reconnecting: the stale handle must not keep the timer from restarting."""
    from types import SimpleNamespace

    from celery import Celery
    from kombu.asynchronous.timer import Timer

    app = Celery("batching-test", set_as_current=False)
    timer = Timer()
    consumer = SimpleNamespace(
        pool=task._pool,
        hostname="worker@test",
        connection_errors=(),
        event_dispatcher=None,
        timer=timer,
    )
    task.Strategy(task, app, consumer)
    task._tref = timer.call_repeatedly(1.0, task._do_flush)
    assert len(timer.queue) == 1
    timer.clear()  # the connection is lost
    assert not timer.queue
    task.Strategy(task, app, consumer)  # the consumer reconnects
    assert task._tref is None, "the next request starts a new flush timer"
