"""Thin tasks with stable names: each loads what it needs and calls one domain function.

Scoring and delivery are batched (celery-batches, see ``workers.batching``): when several
messages wait, one task call takes them all, so the model scores them in one matrix operation
and one transaction records the decisions. The first attempt of each new webhook starts right
after that commit, on the process's delivery threads, without a message of its own; retries
are delayed ``deliver_webhook`` messages. Messages are acknowledged only after the batch
returns; if the worker dies first they are redelivered, and the periodic sweep re-enqueues
anything still pending in the database: comments, and deliveries whose attempt is overdue.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import wait
from datetime import timedelta

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval

from service import decisions, floods, leases, recovery, webhooks
from service.db import session_scope
from service.metrics import series
from service.models import utcnow
from service.publisher import TaskPublisher
from workers.batching import PoolAwareBatches
from workers.broker import queue_length
from workers.celery_app import DELIVER_TASK, PRUNE_TASK, SCORE_TASK, SWEEP_TASK
from workers.context import WorkerContext, get_context

log = logging.getLogger(__name__)

BATCH_SIZE = 32
BATCH_WAIT = 0.005
# A sweep's lease lasts half the interval: one worker's sweeps each find it free, and however
# many workers publish the sweep, it runs at most twice per interval.
SWEEP_LEASE_SHARE = 0.5
PRUNE_EVERY_SECONDS = 3600.0


def _ids(requests: Sequence) -> list[str]:
    """Distinct ids in arrival order (a message redelivered into the same batch counts once)."""
    return list(dict.fromkeys(str(r.args[0]) for r in requests if r.args))


@shared_task(
    name=SCORE_TASK,
    base=PoolAwareBatches,
    bind=True,
    acks_late=True,
    flush_every=BATCH_SIZE,
    flush_interval=BATCH_WAIT,
)
def score_comment(self, requests: Sequence) -> None:  # noqa: ANN001
    """Score pending comments, decide them, and start their webhooks (idempotent)."""
    ctx = get_context(self.app)
    model = ctx.model.get()
    ids = _ids(requests)
    series.observe_batch("score_comment", len(ids))
    delivery_ids = decisions.decide_pending(ctx.sessions, ids, model)
    for delivery_id in delivery_ids:  # durable once committed: the sweep covers a lost attempt
        ctx.deliveries.submit(_attempt_and_schedule, self.app, ctx, delivery_id)


@shared_task(
    name=DELIVER_TASK,
    base=PoolAwareBatches,
    bind=True,
    acks_late=True,
    flush_every=BATCH_SIZE,
    flush_interval=BATCH_WAIT,
)
def deliver_webhook(self, requests: Sequence) -> None:  # noqa: ANN001
    """One attempt per delivery, concurrently; failures are retried with backoff and jitter."""
    ctx = get_context(self.app)
    ids = _ids(requests)
    series.observe_batch("deliver_webhook", len(ids))
    attempts = [
        ctx.deliveries.submit(_attempt_and_schedule, self.app, ctx, delivery_id)
        for delivery_id in ids
    ]
    wait(attempts)
    for attempt in attempts:
        attempt.result()  # an unexpected error fails the batch: its messages come back


def _attempt_and_schedule(app, ctx: WorkerContext, delivery_id: str) -> None:  # noqa: ANN001
    """One attempt; a failure schedules the next with backoff and jitter."""
    settings = ctx.settings
    outcome = webhooks.attempt_delivery(
        ctx.sessions,
        ctx.http,
        delivery_id,
        timeout=settings.webhook_timeout,
        max_attempts=settings.webhook_max_attempts,
        allow_private=settings.webhook_allow_private,
    )
    if outcome is not None and outcome.retry:
        _schedule_retry(app, ctx, outcome)


def _schedule_retry(app, ctx: WorkerContext, outcome: webhooks.AttemptOutcome) -> None:  # noqa: ANN001
    """Celery's exponential backoff with full jitter; the next attempt is a delayed message."""
    settings = ctx.settings
    countdown = get_exponential_backoff_interval(
        factor=settings.webhook_backoff_base,
        retries=outcome.attempts - 1,
        maximum=settings.webhook_backoff_max,
        full_jitter=True,
    )
    countdown = max(countdown, settings.webhook_backoff_base / 2)
    due = utcnow() + timedelta(seconds=countdown)
    webhooks.schedule_next(ctx.sessions, outcome.delivery_id, due)
    log.info(
        "webhook %s attempt %d failed (%s); retry in %.1fs",
        outcome.delivery_id,
        outcome.attempts,
        outcome.error,
        countdown,
    )
    app.send_task(DELIVER_TASK, args=[outcome.delivery_id], countdown=countdown)


@shared_task(name=SWEEP_TASK, bind=True, ignore_result=True)
def sweep(self) -> None:  # noqa: ANN001
    """Re-enqueue comments and deliveries whose messages were lost (worker killed, broker down).

    While the queue still holds messages, what waits is most likely among them: re-enqueueing
    would only add duplicates to a backlog, so the sweep waits for the queue to drain. Every
    worker publishes the sweep; the one that takes the lease does it, the others skip.
    """
    backlog = _queue_length(self.app)
    if backlog:
        log.info("sweep skipped: %d messages still queued", backlog)
        return
    ctx = get_context(self.app)
    settings = ctx.settings
    now = utcnow()
    with session_scope(ctx.sessions) as session:
        if not leases.take(session, SWEEP_TASK, now, settings.sweep_interval * SWEEP_LEASE_SHARE):
            return
    with session_scope(ctx.sessions) as session:
        comment_ids = recovery.claim_stale_comments(session, now, settings.pending_timeout)
        delivery_ids = recovery.claim_overdue_deliveries(session, now, settings.pending_timeout)
    publisher = TaskPublisher(self.app)  # a failed publish is left to the next sweep
    publisher.publish(SCORE_TASK, comment_ids)
    publisher.publish(DELIVER_TASK, delivery_ids)
    if comment_ids or delivery_ids:
        log.warning(
            "sweep re-enqueued %d comments and %d deliveries", len(comment_ids), len(delivery_ids)
        )


def _queue_length(app) -> int:  # noqa: ANN001
    try:
        return queue_length(app)
    except Exception:  # noqa: BLE001 - unknown length: sweep as usual
        return 0


@shared_task(name=PRUNE_TASK, bind=True, ignore_result=True)
def prune(self) -> None:  # noqa: ANN001
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
