"""Thin tasks with stable names: each loads what it needs and calls one domain function."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from sqlalchemy.exc import OperationalError

from service import decisions, recovery, webhooks
from service.db import session_scope
from service.models import utcnow
from workers.celery_app import DELIVER_TASK, SCORE_TASK, SWEEP_TASK
from workers.context import get_context

log = logging.getLogger(__name__)


@shared_task(
    name=SCORE_TASK,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=30,
    max_retries=None,
)
def score_comment(self, comment_id: str) -> None:  # noqa: ANN001
    """Score a pending comment, decide it, and queue its webhook (idempotent)."""
    ctx = get_context(self.app)
    model = ctx.model.get()
    with session_scope(ctx.sessions) as session:
        delivery_ids = decisions.decide_pending(session, [comment_id], model)
    for delivery_id in delivery_ids:
        deliver_webhook.delay(delivery_id)


@shared_task(
    name=DELIVER_TASK,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=30,
    max_retries=None,
)
def deliver_webhook(self, delivery_id: str) -> None:  # noqa: ANN001
    """One attempt; on failure, retry with exponential backoff and full jitter up to the cap."""
    ctx = get_context(self.app)
    settings = ctx.settings
    outcome = webhooks.attempt_delivery(
        ctx.sessions,
        ctx.http,
        delivery_id,
        timeout=settings.webhook_timeout,
        max_attempts=settings.webhook_max_attempts,
        allow_private=settings.webhook_allow_private,
    )
    if outcome is None or not outcome.retry:
        return
    countdown = get_exponential_backoff_interval(
        factor=settings.webhook_backoff_base,
        retries=outcome.attempts - 1,
        maximum=settings.webhook_backoff_max,
        full_jitter=True,
    )
    countdown = max(countdown, settings.webhook_backoff_base / 2)
    webhooks.schedule_next(ctx.sessions, delivery_id, utcnow() + timedelta(seconds=countdown))
    log.info(
        "webhook %s attempt %d failed (%s); retry in %.1fs",
        delivery_id,
        outcome.attempts,
        outcome.error,
        countdown,
    )
    raise self.retry(countdown=countdown, max_retries=None)


@shared_task(name=SWEEP_TASK, bind=True, ignore_result=True)
def sweep(self) -> None:  # noqa: ANN001
    """Re-enqueue comments and deliveries whose messages were lost (worker killed, broker down)."""
    ctx = get_context(self.app)
    settings = ctx.settings
    now = utcnow()
    with session_scope(ctx.sessions) as session:
        comment_ids = recovery.claim_stale_comments(session, now, settings.pending_timeout)
        delivery_ids = recovery.claim_overdue_deliveries(session, now, settings.pending_timeout)
    for comment_id in comment_ids:
        score_comment.delay(comment_id)
    for delivery_id in delivery_ids:
        deliver_webhook.delay(delivery_id)
    if comment_ids or delivery_ids:
        log.warning(
            "sweep re-enqueued %d comments and %d deliveries", len(comment_ids), len(delivery_ids)
        )
