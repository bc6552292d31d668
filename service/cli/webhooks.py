"""``commentgate webhooks``: inspect deliveries and their attempts, send events again (failed
ones, or every one since a time), and listen for them locally."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.cli.support import emit, fail_on_domain_errors, sessions_for
from service.config import Settings
from service.db import session_scope
from service.models import Site, WebhookDelivery, utcnow
from service.retry_schedule import parse_duration
from service.sites import site_by_name
from service.webhooks import (
    find_delivery,
    isoformat,
    list_deliveries,
    reopen_for_replay,
    reopen_since,
)


@click.group()
def webhooks() -> None:
    """Webhook deliveries: every event, its attempts, and replay of failed ones."""


@webhooks.command("list")
@click.option("--failed", is_flag=True, help="Only deliveries that failed their last attempt.")
@click.option(
    "--pending", is_flag=True, help="Only deliveries still retried, or kept for a disabled site."
)
@click.option("--site", "site_name", default=None, help="Only this site's deliveries.")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@fail_on_domain_errors
def webhooks_list(
    settings: Settings,
    failed: bool,
    pending: bool,
    site_name: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List recent deliveries, newest first."""
    status = "failed" if failed else "pending" if pending else None
    with session_scope(sessions_for(settings)) as session:
        site_id = site_by_name(session, site_name).id if site_name else None
        rows = [
            {
                "id": d.id,
                "event_id": d.event_id,
                "site": d.site_id,
                "comment_id": d.comment_id,
                "status": d.status,
                "attempts": d.attempts,
                "last_error": d.last_error,
                "created_at": isoformat(d.created_at),
                "delivered_at": isoformat(d.delivered_at),
                "next_attempt_at": isoformat(d.next_attempt_at),
            }
            for d in list_deliveries(session, status=status, site_id=site_id, limit=limit)
        ]
    if as_json:
        emit({"deliveries": rows}, True)
        return
    for row in rows:
        upcoming = row["next_attempt_at"] or ("kept" if row["status"] == "pending" else "-")
        click.echo(
            f"{row['id']}  {row['status']:<9} attempts={row['attempts']:<2} next={upcoming}  "
            f"{row['comment_id']}  {row['last_error'] or ''}"
        )
    if not rows:
        click.echo("No deliveries.")


@webhooks.command("show")
@click.argument("delivery")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@fail_on_domain_errors
def webhooks_show(settings: Settings, delivery: str, as_json: bool) -> None:
    """One delivery (by id, or its event's webhook-id): every attempt with its time, status
    code or error and latency, and when the next attempt is due."""
    with session_scope(sessions_for(settings)) as session:
        found = find_delivery(session, delivery)
        site = session.get(Site, found.site_id)
        data = _described(found, site, settings.webhook_retry_schedule.attempts)
    if as_json:
        emit(data, True)
        return
    attempts = data.pop("attempt_log")
    emit(data, False, title=f"Delivery {data['id']}")
    click.secho("Attempts:", bold=True)
    for attempt in attempts:
        status = attempt["status_code"] if attempt["status_code"] is not None else "-"
        latency = f"{attempt['latency_ms']:.0f} ms" if attempt["latency_ms"] is not None else "-"
        click.echo(
            f"  {attempt['number']:>2}  {attempt['attempted_at']}  {status!s:>3}  "
            f"{latency:>8}  {attempt['error'] or 'ok'}"
        )
    if not attempts:
        click.echo("  none yet")


def _described(delivery: WebhookDelivery, site: Site | None, max_attempts: int) -> dict[str, Any]:
    name = site.name if site else delivery.site_id
    return {
        "id": delivery.id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "site": name,
        "comment_id": delivery.comment_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "max_attempts": max_attempts,
        "created_at": isoformat(delivery.created_at),
        "delivered_at": isoformat(delivery.delivered_at),
        "next_attempt_at": isoformat(delivery.next_attempt_at),
        "next_attempt": _next_attempt(delivery, name),
        "last_error": delivery.last_error,
        "attempt_log": [
            {
                "number": number,
                "attempted_at": isoformat(attempt.attempted_at),
                "status_code": attempt.status_code,
                "latency_ms": attempt.latency_ms,
                "error": attempt.error,
            }
            for number, attempt in enumerate(delivery.attempt_log, start=1)
        ],
    }


def _next_attempt(delivery: WebhookDelivery, site: str) -> str:
    if delivery.status == "delivered":
        return "none: delivered"
    if delivery.status == "failed":
        return "none: failed after its last attempt (`commentgate webhooks replay` sends it again)"
    if delivery.next_attempt_at is None:
        command = f"commentgate sites enable-webhook {site}"
        return f"kept while the site's webhook is disabled (`{command}` resumes it)"
    wait = (delivery.next_attempt_at - utcnow()).total_seconds()
    when = isoformat(delivery.next_attempt_at)
    return f"{when} (in {_span(wait)})" if wait > 0 else f"{when} (due)"


def _span(seconds: float) -> str:
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def parse_since(value: str) -> datetime:
    """An ISO 8601 time (UTC unless it says otherwise) or an age such as 2h or 3d."""
    try:
        return utcnow() - timedelta(seconds=parse_duration(value))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(
            "use an ISO 8601 time (2026-12-01T10:00:00Z) or an age (90m, 2h, 3d).",
            param_hint="--since",
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@webhooks.command("replay")
@click.argument("delivery_ids", nargs=-1)
@click.option("--failed", "all_failed", is_flag=True, help="Replay every failed delivery.")
@click.option(
    "--since",
    default=None,
    metavar="TIME",
    help="Replay every event created since TIME (ISO 8601, or an age: 2h, 3d), whatever its "
    "status; with --failed, only the failed ones.",
)
@click.option("--site", "site_name", default=None, help="With --failed or --since: one site's.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@fail_on_domain_errors
def webhooks_replay(
    settings: Settings,
    delivery_ids: tuple[str, ...],
    all_failed: bool,
    since: str | None,
    site_name: str | None,
    as_json: bool,
) -> None:
    """Send events again (by id, every failed one, or every one since a time); each gets a
    fresh run of attempts, and keeps its webhook-id, so platforms can drop what they have.
    A disabled site's events are kept until `commentgate sites enable-webhook` resumes it."""
    if not delivery_ids and not all_failed and since is None:
        raise click.UsageError("Name delivery ids, or pass --failed or --since.")
    start = parse_since(since) if since is not None else None
    with session_scope(sessions_for(settings)) as session:
        site_id = site_by_name(session, site_name).id if site_name else None
        reopened = reopen_for_replay(session, list(delivery_ids)) if delivery_ids else []
        if start is not None:
            status = "failed" if all_failed else None
            reopened += reopen_since(session, start, site_id=site_id, status=status)
        elif all_failed:
            failed = list_deliveries(session, status="failed", site_id=site_id, limit=100_000)
            reopened += reopen_for_replay(session, [d.id for d in failed])
        reopened = list(dict.fromkeys(reopened))
        disabled = _disabled_sites(session, reopened)
    queued = queue_attempts(settings, reopened)
    if disabled:
        names = ", ".join(sorted(disabled))
        click.echo(
            f"Webhooks are disabled for {names}: their events are kept and sent once "
            "`commentgate sites enable-webhook NAME` resumes them.",
            err=True,
        )
    data = {"replayed": len(reopened), "queued": queued, "ids": reopened}
    if start is not None:
        data["since"] = isoformat(start)
    emit(data, as_json, title="Replay")


def _disabled_sites(session: Session, delivery_ids: Sequence[str]) -> set[str]:
    """Names of the disabled sites some of these deliveries belong to (the first 10,000)."""
    if not delivery_ids:
        return set()
    rows = session.scalars(
        select(Site.name)
        .join(WebhookDelivery, WebhookDelivery.site_id == Site.id)
        .where(Site.webhook_disabled_at.is_not(None))
        .where(WebhookDelivery.id.in_(list(delivery_ids)[:10_000]))
        .distinct()
    )
    return set(rows)


def queue_attempts(settings: Settings, delivery_ids: Sequence[str]) -> int:
    """Send each reopened delivery to the retry lane now (at 0 attempts); returns how many
    were queued. With the broker down, the sweep sends the rest: they are due now."""
    from workers.celery_app import RETRY_TASK, create_celery

    celery = create_celery(settings)
    queued = 0
    try:
        with celery.producer_or_acquire() as producer:
            for delivery_id in delivery_ids:
                celery.send_task(RETRY_TASK, args=[delivery_id, 0], producer=producer)
                queued += 1
    except Exception as exc:  # noqa: BLE001 - the sweep sends what could not be queued now
        click.echo(
            f"Broker unavailable ({type(exc).__name__}); the sweep will send the rest.", err=True
        )
    return queued


@webhooks.command("listen")
@click.option("--port", default=9000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--site", "site_name", default=None, help="Verify with this site's webhook secret.")
@click.option("--secret", default=None, help="Verify with this secret (whsec_...) instead.")
@click.option(
    "--forward", "forward_url", default=None, help="Pass each verified event on to this URL."
)
@click.option("--json", "as_json", is_flag=True, help="Print each event as one JSON line.")
@click.pass_obj
@fail_on_domain_errors
def webhooks_listen(
    settings: Settings,
    port: int,
    site_name: str | None,
    secret: str | None,
    forward_url: str | None,
    as_json: bool,
) -> None:
    """Receive webhooks on 127.0.0.1:PORT (any path), verify and print them, like `stripe listen`.

    Give a site a webhook URL such as http://127.0.0.1:9000/hook. Each event signed with the
    site's secret is printed (time, type, external id, action, reason codes; --json: the event)
    and answered 200, or with the status of --forward URL, which gets the body and headers as
    received; forged or stale requests get 401. SIGINT (Ctrl-C) or SIGTERM stops it.
    """
    from service.webhook_listener import Listener, Received, describe, serve_until_signalled

    if (site_name is None) == (secret is None):
        raise click.UsageError("Give either --site NAME or --secret whsec_....")
    if forward_url and urlsplit(forward_url).scheme not in {"http", "https"}:
        raise click.BadParameter("an http(s) URL is expected.", param_hint="--forward")
    if site_name:
        with session_scope(sessions_for(settings)) as session:
            secret = site_by_name(session, site_name).webhook_secret
    printing = threading.Lock()

    def on_event(received: Received) -> None:
        line = json.dumps(received.event) if as_json else describe(received)
        with printing:
            click.echo(line)

    def on_rejected(message: str) -> None:
        with printing:
            click.echo(f"rejected: {message}", err=True)

    try:
        listener = Listener(
            port, secret or "", on_event=on_event, on_rejected=on_rejected, forward=forward_url
        )
    except ValueError as exc:
        raise click.BadParameter(
            "not a webhook secret (whsec_...).", param_hint="--secret"
        ) from exc
    except OSError as exc:
        raise click.ClickException(f"Cannot listen on 127.0.0.1:{port}: {exc.strerror}") from exc
    target = f", forwarding to {forward_url}" if forward_url else ""
    click.echo(
        f"Listening on http://127.0.0.1:{listener.server_port}/{target}. Ctrl-C stops.", err=True
    )
    serve_until_signalled(listener)
    click.echo("Stopped.", err=True)
