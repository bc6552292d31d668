"""Webhook events: built from a decision, signed per Standard Webhooks, attempted and recorded."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from sqlalchemy import case, insert, select, update
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from service import outbound
from service.db import session_scope
from service.errors import InvalidWebhookURLError
from service.metrics import series
from service.models import Comment, Decision, Site, WebhookAttempt, WebhookDelivery, new_id, utcnow

EVENT_DECIDED = "comment.decided"
USER_AGENT = "CommentGate-Webhooks/1"
# Of a receiver's answer only the status counts; a few KB finish a short body, no more is read.
MAX_ANSWER_BYTES = 4096


def isoformat(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def event_payload(comment: Comment, decision: Decision, status: str) -> dict[str, Any]:
    """The ``comment.decided`` event; ``status`` is the comment's status after the decision."""
    return {
        "type": EVENT_DECIDED,
        "timestamp": isoformat(decision.decided_at),
        "data": {
            "comment_id": comment.id,
            "external_id": comment.external_id,
            "action": decision.action,
            "status": status,
            "scores": decision.scores,
            "reasons": decision.reasons,
            "model_version": decision.model_version,
            "decided_by": decision.decided_by,
            "decided_at": isoformat(decision.decided_at),
        },
    }


def new_delivery(comment: Comment, decision: Decision, status: str) -> WebhookDelivery:
    """A pending delivery; its event id is the ``webhook-id`` of every attempt, for dedup.

    Every column is given a value: the row is written with Core (``service.recording``)."""
    now = utcnow()
    return WebhookDelivery(
        id=new_id(),
        site_id=comment.site_id,
        comment_id=comment.id,
        event_id="msg_" + new_id(),
        event_type=EVENT_DECIDED,
        payload=event_payload(comment, decision, status),
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        delivered_at=None,
        last_error=None,
    )


def signed_headers(secret: str, event_id: str, body: str, when: datetime) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(event_id, when, body),
    }


@dataclass(frozen=True)
class AttemptOutcome:
    """What one attempt did, and whether the caller should schedule another."""

    delivery_id: str
    delivered: bool
    retry: bool
    attempts: int
    status_code: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class Target:
    """A pending delivery's event, and the endpoint and secret of its site."""

    site: str
    url: str
    secret: str
    event_id: str
    body: str
    attempts: int


def _load_target(sessions: sessionmaker[Session], delivery_id: str) -> Target | None:
    """The pending delivery and its site's endpoint, in one query."""
    deliveries, sites = WebhookDelivery.__table__.c, Site.__table__.c
    with session_scope(sessions) as session:
        row = session.execute(
            select(
                sites.name,
                sites.webhook_url,
                sites.webhook_secret,
                deliveries.event_id,
                deliveries.payload,
                deliveries.attempts,
            )
            .join_from(WebhookDelivery.__table__, Site.__table__, sites.id == deliveries.site_id)
            .where(deliveries.id == delivery_id, deliveries.status == "pending")
        ).first()
    if row is None:
        return None
    return Target(
        site=row.name,
        url=row.webhook_url,
        secret=row.webhook_secret,
        event_id=row.event_id,
        body=json.dumps(row.payload, separators=(",", ":"), sort_keys=True),
        attempts=row.attempts,
    )


def post_event(
    http: requests.Session, target: Target, *, timeout: float, allow_private: bool
) -> tuple[int | None, str | None, float]:
    """One POST, no redirects followed; returns (status code, error, latency in ms).

    ``http`` comes from ``outbound.webhook_session``: it connects only to addresses the check
    passed. ``timeout`` bounds the whole attempt, and at most ``MAX_ANSWER_BYTES`` of the
    answer are read: a receiver that trickles or floods its answer holds a thread no longer."""
    started = time.perf_counter()
    status_code: int | None = None
    error: str | None = None
    attempt = outbound.Attempt(timeout, allow_private=allow_private)
    try:
        with attempt:
            status_code = _post(http, target, timeout)
    except (*outbound.TRANSPORT_ERRORS, InvalidWebhookURLError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    if attempt.expired:  # whatever arrived, the answer did not: no status to count
        status_code, error = None, f"DeadlineExceeded: no complete answer within {timeout:g}s"
    elif error is None and not 200 <= (status_code or 0) < 300:
        error = f"HTTP {status_code}"
    latency = (time.perf_counter() - started) * 1000
    return status_code, error[:500] if error else None, latency


def _post(http: requests.Session, target: Target, timeout: float) -> int:
    """Send the event and read the start of the answer: a short one whole, so the connection
    goes back to the pool; a longer one is cut off with its connection."""
    headers = signed_headers(target.secret, target.event_id, target.body, utcnow())
    with http.post(
        target.url,
        data=target.body.encode("utf-8"),
        headers=headers,
        timeout=timeout,
        allow_redirects=False,
        stream=True,
    ) as response:
        response.raw.read(MAX_ANSWER_BYTES, decode_content=False)
        return response.status_code


def attempt_delivery(
    sessions: sessionmaker[Session],
    http: requests.Session,
    delivery_id: str,
    *,
    timeout: float,
    max_attempts: int,
    allow_private: bool,
) -> AttemptOutcome | None:
    """Attempt a pending delivery once and record it; None if there is nothing to send."""
    target = _load_target(sessions, delivery_id)
    if target is None:
        return None
    status_code, error, latency = post_event(
        http, target, timeout=timeout, allow_private=allow_private
    )
    with session_scope(sessions) as session:
        attempts, status = session.execute(_recorded(delivery_id, error, max_attempts)).one()
        session.execute(
            insert(WebhookAttempt).values(
                delivery_id=delivery_id,
                attempted_at=utcnow(),
                status_code=status_code,
                latency_ms=round(latency, 3),
                error=error,
            )
        )
    series.observe_webhook_attempt(
        target.site, status_code, error is None, latency / 1000, gave_up=status == "failed"
    )
    return AttemptOutcome(
        delivery_id=delivery_id,
        delivered=error is None,
        retry=status == "pending",
        attempts=attempts,
        status_code=status_code,
        error=error,
    )


def _recorded(delivery_id: str, error: str | None, max_attempts: int) -> Any:
    """The delivery after one more attempt: delivered, or failed once the cap is reached."""
    table = WebhookDelivery.__table__
    attempts = table.c.attempts + 1
    if error is None:
        values = {
            "status": "delivered",
            "delivered_at": utcnow(),
            "last_error": None,
            "next_attempt_at": None,
        }
    else:
        capped = attempts >= max_attempts
        values = {
            "status": case((capped, "failed"), else_=table.c.status),
            "next_attempt_at": case((capped, None), else_=table.c.next_attempt_at),
            "last_error": error,
        }
    return (
        update(table)
        .where(table.c.id == delivery_id)
        .values(attempts=attempts, **values)
        .returning(table.c.attempts, table.c.status)
    )


def schedule_next(sessions: sessionmaker[Session], delivery_id: str, when: datetime) -> None:
    """Note when the next attempt is due, so the sweep can resend it if the retry is lost."""
    with session_scope(sessions) as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is not None and delivery.status == "pending":
            delivery.next_attempt_at = when


def list_deliveries(
    session: Session, *, status: str | None = None, site_id: str | None = None, limit: int = 100
) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).order_by(WebhookDelivery.created_at.desc()).limit(limit)
    if status:
        query = query.where(WebhookDelivery.status == status)
    if site_id:
        query = query.where(WebhookDelivery.site_id == site_id)
    return list(session.scalars(query))


def reopen_for_replay(session: Session, delivery_ids: list[str]) -> list[str]:
    """Put failed (dead-lettered) or delivered events back in line; past attempts stay recorded."""
    reopened = []
    for delivery in session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.id.in_(delivery_ids))
    ):
        delivery.status = "pending"
        delivery.attempts = 0
        delivery.next_attempt_at = utcnow()
        reopened.append(delivery.id)
    return reopened
