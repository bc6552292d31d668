"""Webhook events: built from a decision, signed per Standard Webhooks, sent, listed and
replayed. One attempt's bookkeeping (claim, record, retry) is ``service.attempts``."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import urllib3
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from service import outbound
from service.errors import InvalidWebhookURLError, NotFoundError
from service.models import Comment, Decision, WebhookDelivery, new_id, utcnow

EVENT_DECIDED = "comment.decided"
USER_AGENT = "CommentGate-Webhooks/1"
# Of a receiver's answer only the status counts; a few KB finish a short body, no more is read.
MAX_ANSWER_BYTES = 4096


def isoformat(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def event_payload(
    comment: Comment, decision: Decision, status: str, *, trial: bool = False
) -> dict[str, Any]:
    """The ``comment.decided`` event; ``status`` is the comment's status after the decision.
    A site in trial mode gets ``"trial": true``: the decision is to be looked at, not acted on."""
    payload: dict[str, Any] = {
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
    if trial:
        payload["trial"] = True
        payload["data"]["trial"] = True
    return payload


def new_delivery(
    comment: Comment, decision: Decision, status: str, *, trial: bool = False
) -> WebhookDelivery:
    """A pending delivery; its event id is the ``webhook-id`` of every attempt, for dedup.

    Every column is given a value: the row is written with Core
    (``service.decisions.recording``)."""
    now = utcnow()
    return WebhookDelivery(
        id=new_id(),
        site_id=comment.site_id,
        comment_id=comment.id,
        event_id="msg_" + new_id(),
        event_type=EVENT_DECIDED,
        payload=event_payload(comment, decision, status, trial=trial),
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        delivered_at=None,
        last_error=None,
    )


def signature(secrets: Sequence[str], event_id: str, body: str, when: datetime) -> str:
    """One signature per secret, space-separated in one header, as Standard Webhooks does
    during a rotation: a platform holding either secret finds one that verifies."""
    return " ".join(_signer(secret).sign(event_id, when, body) for secret in secrets)


@lru_cache(maxsize=1024)
def _signer(secret: str) -> Webhook:
    """A site's signer, its key decoded once rather than for every attempt."""
    return Webhook(secret)


def signed_headers(
    secret: str, event_id: str, body: str, when: datetime, previous: str | None = None
) -> dict[str, str]:
    """The headers of one attempt; ``previous`` is the secret a rotation's overlap still signs
    with."""
    secrets = [secret] if previous is None else [secret, previous]
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature(secrets, event_id, body, when),
    }


@dataclass(frozen=True)
class Target:
    """A pending delivery's event, and the endpoint and secret of its site."""

    site: str
    url: str
    secret: str
    event_id: str
    body: str
    attempts: int
    previous_secret: str | None = None  # a rotation's overlap: signed with both


def post_event(
    http: urllib3.PoolManager, target: Target, *, timeout: float, allow_private: bool
) -> tuple[int | None, str | None, float]:
    """One POST, no redirects followed; returns (status code, error, latency in ms).

    ``http`` comes from ``outbound.webhook_pool``: it connects only to addresses the check
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


def _post(http: urllib3.PoolManager, target: Target, timeout: float) -> int:
    """Send the event and read the start of the answer: a short one whole, so the connection
    goes back to the pool; a longer one is cut off with its connection."""
    headers = signed_headers(
        target.secret, target.event_id, target.body, utcnow(), target.previous_secret
    )
    response = http.request(
        "POST",
        target.url,
        body=target.body.encode("utf-8"),
        headers=headers,
        timeout=urllib3.Timeout(connect=timeout, read=timeout),
        redirect=False,
        preload_content=False,
    )
    try:
        response.read(MAX_ANSWER_BYTES, decode_content=False)
        return response.status
    finally:
        response.close()  # a connection read to its end is already back in the pool
        response.release_conn()


def list_deliveries(
    session: Session, *, status: str | None = None, site_id: str | None = None, limit: int = 100
) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).order_by(WebhookDelivery.created_at.desc()).limit(limit)
    if status:
        query = query.where(WebhookDelivery.status == status)
    if site_id:
        query = query.where(WebhookDelivery.site_id == site_id)
    return list(session.scalars(query))


def find_delivery(session: Session, identifier: str) -> WebhookDelivery:
    """A delivery by its id or by its event's ``webhook-id`` (what the platform saw)."""
    delivery = session.scalar(
        select(WebhookDelivery).where(
            or_(WebhookDelivery.id == identifier, WebhookDelivery.event_id == identifier)
        )
    )
    if delivery is None:
        raise NotFoundError(f"No delivery or event {identifier!r}.")
    return delivery


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


def reopen_since(
    session: Session, since: datetime, *, site_id: str | None = None, status: str | None = None
) -> list[str]:
    """Put every event created at or after ``since`` back in line (of one site, of one status),
    in one statement; past attempts stay recorded."""
    table = WebhookDelivery.__table__
    statement = (
        update(table)
        .where(table.c.created_at >= since)
        .values(status="pending", attempts=0, next_attempt_at=utcnow())
        .returning(table.c.id)
    )
    if site_id:
        statement = statement.where(table.c.site_id == site_id)
    if status:
        statement = statement.where(table.c.status == status)
    return list(session.scalars(statement))
