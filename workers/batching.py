"""celery-batches that let a batch grow while every pool process is busy.

celery-batches flushes its buffer on a timer (``flush_interval``) or when ``flush_every``
requests are in it. Under load the timer still fires every few milliseconds, so the pool
receives a queue of batches of one or two requests, and the per-batch costs (a transaction,
the queries that start it, a model call) are paid per comment. This subclass defers a timed
flush while as many batches are in flight as the pool has processes: the requests wait in the
buffer, where they join the next batch, instead of in the pool's queue. When a process is
free, or the buffer is full, it flushes as before, so an idle worker still answers within one
``flush_interval``. A deferral is bounded (``MAX_DEFERRALS`` timer ticks) so a batch whose
process died without reporting cannot hold the rest back.

When the broker connection is lost, Celery clears the consumer's timer, and with it the flush
timer, while celery-batches still holds its handle and so never starts another: buffered and
new requests then waited until ``flush_every`` of them had gathered. The consumer builds each
task's strategy again when it reconnects, and that is where the handle is dropped.
"""

from __future__ import annotations

from typing import Any

from celery_batches import Batches

MAX_DEFERRALS = 40

# Batches sent to the pool and not yet finished, across all batch tasks of this worker: they
# share its processes.
_in_flight: list[Any] = []


class PoolAwareBatches(Batches):
    abstract = True
    _deferred = 0

    def _do_flush(self) -> None:
        _in_flight[:] = [result for result in _in_flight if not result.ready()]
        processes = getattr(getattr(self, "_pool", None), "num_processes", None) or 1
        busy = len(_in_flight) >= processes
        if busy and self._buffer.qsize() < self.flush_every and self._deferred < MAX_DEFERRALS:
            self._deferred += 1
            return
        self._deferred = 0
        super()._do_flush()

    def Strategy(self, task: Any, app: Any, consumer: Any) -> Any:  # noqa: N802 - Celery's name
        """Called on every consumer start, reconnections included: the first request after it
        starts a new flush timer, since the old one went with the cleared timer."""
        self._tref = None
        return super().Strategy(task, app, consumer)

    def flush(self, requests: Any) -> Any:
        result = super().flush(requests)
        if callable(getattr(result, "ready", None)):  # prefork's ApplyResult; solo runs inline
            _in_flight.append(result)
        return result
