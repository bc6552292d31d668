"""Thin tasks with stable names: each loads what it needs and calls one domain function.

Scoring is batched (celery-batches, see ``workers.batching``): when several messages wait, one
task call takes them all, so the model scores them in one matrix operation and one transaction
records the decisions. The first attempt of each new webhook starts right after that commit, on
the process's delivery threads, without a message of its own. Every later attempt is a delayed
``retry_webhook`` message on the retry queue, which a worker of its own consumes
(``workers.lanes``): an endpoint that is down holds that lane's threads, not the scoring and
first attempts of every other site. Messages are acknowledged only after the task returns; if
the worker dies first they are redelivered, and the periodic sweep re-enqueues anything still
pending in the database: comments, and deliveries whose attempt is overdue.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future
from functools import partial

from celery import Celery, Task, shared_task
from celery_batches import SimpleRequest

from service import attempts, leases, recovery
from service.db import session_scope
from service.decisions import floods, pipeline
from service.metrics import series
from service.models import utcnow
from service.publisher import TaskPublisher
from workers.batching import PoolAwareBatches
from workers.broker import queue_length
from workers.celery_app import (
    DELIVER_TASK,
    PRUNE_TASK,
    QUEUE,
    RETRY_QUEUE,
    RETRY_TASK,
    SCORE_TASK,
    SWEEP_TASK,
)
from workers.context import WorkerContext, get_context

log = logging.getLogger(__name__)

BATCH_SIZE = 32
BATCH_WAIT = 0.005
# A sweep's lease lasts half the interval: one worker's sweeps each find it free, and however
# many workers publish the sweep, it runs at most twice per interval.
SWEEP_LEASE_SHARE = 0.5
PRUNE_EVERY_SECONDS = 3600.0


def _ids(requests: Sequence[SimpleRequest]) -> list[str]:
    """Distinct ids in arrival order (a message redelivered into the same batch counts once).
    A message carries one id (the sweep's) or several (an API process's grouped publish)."""
    return list(dict.fromkeys(str(item) for r in requests for item in (r.args or ())))


@shared_task(
    name=SCORE_TASK,
    base=PoolAwareBatches,
    bind=True,
    acks_late=True,
    flush_every=BATCH_SIZE,
    flush_interval=BATCH_WAIT,
)
def score_comment(self: PoolAwareBatches, requests: Sequence[SimpleRequest]) -> None:
    """Score pending comments, decide them, and start their webhooks (idempotent)."""
    ctx = get_context(self.app)
    model = ctx.model.get()
    ids = _ids(requests)
    series.observe_batch("score_comment", len(ids))
    events = pipeline.decide_pending(ctx.sessions, ids, model)
    for event in events:  # durable once committed: the sweep covers a lost attempt
        _first_attempt(self.app, ctx, event.delivery_id, 0, site_id=event.site_id)


def _first_attempt(
    app: Celery,
    ctx: WorkerContext,
    delivery_id: str,
    expected: int | None,
    *,
    holding: str | None = None,
    site_id: str | None = None,
) -> None:
    """A first attempt on one of the process's delivery threads; one that raises is logged."""
    attempt = ctx.deliveries.submit(
        _attempt_and_schedule, app, ctx, delivery_id, expected, True, holding, site_id
    )
    attempt.add_done_callback(partial(_report_failure, delivery_id))


def _report_failure(delivery_id: str, attempt: Future[None]) -> None:
    """An attempt that raised (the database unreachable, say) is left to the sweep: say so."""
    error = attempt.exception()
    if error is not None:
        log.warning("webhook %s: first attempt not made, left to the sweep: %r", delivery_id, error)


@shared_task(name=DELIVER_TASK, bind=True, acks_late=True, ignore_result=True)
def deliver_webhook(self: Task, delivery_id: str, expected: int | None = None) -> None:
    """A first attempt sent as a message (a moderator's decision), on the first-attempt lane."""
    _attempt_and_schedule(self.app, get_context(self.app), delivery_id, expected, True)


@shared_task(name=RETRY_TASK, bind=True, acks_late=True, ignore_result=True)
def retry_webhook(self: Task, delivery_id: str, expected: int | None = None) -> None:
    """One attempt on the retry lane, if the delivery has still made ``expected`` attempts."""
    _attempt_and_schedule(self.app, get_context(self.app), delivery_id, expected, False)


def _attempt_and_schedule(
    app: Celery,
    ctx: WorkerContext,
    delivery_id: str,
    expected: int | None,
    first: bool,
    holding: str | None = None,
    site_id: str | None = None,
) -> None:
    """One attempt; the next one, if any, is a message delayed by the retry schedule. A first
    attempt that waits for its site's turn runs again, on a delivery thread, when it comes."""

    def resume(site_id: str) -> None:
        _first_attempt(app, ctx, delivery_id, expected, holding=site_id)

    turn = attempts.Turn(ctx.first_attempts, resume, holding, site_id) if first else None
    outcome = attempts.attempt(
        ctx.sessions,
        ctx.http,
        delivery_id,
        attempts.Rules.of(ctx.settings),
        expected=expected,
        turn=turn,
    )
    if outcome is None or outcome.kind == attempts.WAITING:
        return
    if outcome.kind == attempts.HANDED_OVER:
        app.send_task(RETRY_TASK, args=[delivery_id, outcome.attempts])
        return
    if outcome.disabled:
        log.warning("site webhooks disabled after event %s: %s", delivery_id, outcome.disabled)
    if outcome.retry_in is None:
        return
    log.info(
        "webhook %s attempt %d failed (%s); retry in %.1fs",
        delivery_id,
        outcome.attempts,
        outcome.error,
        outcome.retry_in,
    )
    app.send_task(RETRY_TASK, args=[delivery_id, outcome.attempts], countdown=outcome.retry_in)


@shared_task(name=SWEEP_TASK, bind=True, ignore_result=True)
def sweep(self: Task) -> None:
    """Re-enqueue comments and deliveries whose messages were lost (worker killed, broker down).

    While a queue still holds messages, what waits is most likely among them: re-enqueueing
    would only add duplicates to a backlog, so each lane is swept once its queue has drained.
    Overdue deliveries go to the retry lane; a duplicate makes no second attempt. Every worker
    publishes the sweep; the one that takes the lease does it, the others skip.
    """
    ctx = get_context(self.app)
    settings = ctx.settings
    now = utcnow()
    comment_ids: list[str] = []
    overdue: list[tuple[str, int]] = []
    with session_scope(ctx.sessions) as session:
        if not leases.take(session, SWEEP_TASK, now, settings.sweep_interval * SWEEP_LEASE_SHARE):
            return
    with session_scope(ctx.sessions) as session:
        if _drained(self.app, QUEUE):
            comment_ids = recovery.claim_stale_comments(session, now, settings.pending_timeout)
        if _drained(self.app, RETRY_QUEUE):
            overdue = recovery.claim_overdue_deliveries(session, now, settings.pending_timeout)
    publisher = TaskPublisher(self.app)  # a failed publish is left to the next sweep
    publisher.publish(SCORE_TASK, comment_ids)
    publisher.publish_calls(RETRY_TASK, overdue)
    if comment_ids or overdue:
        log.warning(
            "sweep re-enqueued %d comments and %d deliveries", len(comment_ids), len(overdue)
        )


def _drained(app: Celery, queue: str) -> bool:
    try:
        backlog = queue_length(app, queue)
    except Exception:  # noqa: BLE001 - unknown length: sweep as usual
        return True
    if backlog:
        log.info("sweep of %s skipped: %d messages still queued", queue, backlog)
    return not backlog


@shared_task(name=PRUNE_TASK, bind=True, ignore_result=True)
def prune(self: Task) -> None:
    """Drop near-copy bands older than any flood window; they can no longer match. Workers
    ask every minute; the lease, kept in the database across restarts, makes it hourly."""
    ctx = get_context(self.app)
    now = utcnow()
    with session_scope(ctx.sessions) as session:
        if not leases.take(session, PRUNE_TASK, now, PRUNE_EVERY_SECONDS):
            return
    with session_scope(ctx.sessions) as session:
        removed = floods.prune_bands(session, now)
    if removed:
        log.info("pruned %d near-copy bands", removed)
