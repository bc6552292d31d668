"""``commentgate webhooks``: inspect deliveries, redeliver dead-lettered events, and listen
for them locally."""

from __future__ import annotations

import json
import threading
from urllib.parse import urlsplit

import click

from service.cli_support import emit, fail_on_domain_errors, sessions_for
from service.config import Settings
from service.db import session_scope
from service.sites import site_by_name
from service.webhooks import isoformat, list_deliveries, reopen_for_replay


@click.group()
def webhooks() -> None:
    """Webhook deliveries: every event, its attempts, and replay of failed ones."""


@webhooks.command("list")
@click.option("--failed", is_flag=True, help="Only deliveries that gave up after the attempt cap.")
@click.option("--pending", is_flag=True, help="Only deliveries still being retried.")
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
            }
            for d in list_deliveries(session, status=status, site_id=site_id, limit=limit)
        ]
    if as_json:
        emit({"deliveries": rows}, True)
        return
    for row in rows:
        click.echo(
            f"{row['id']}  {row['status']:<9} attempts={row['attempts']:<2} "
            f"{row['comment_id']}  {row['last_error'] or ''}"
        )
    if not rows:
        click.echo("No deliveries.")


@webhooks.command("replay")
@click.argument("delivery_ids", nargs=-1)
@click.option("--failed", "all_failed", is_flag=True, help="Replay every failed delivery.")
@click.option("--site", "site_name", default=None, help="With --failed: only this site's.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@fail_on_domain_errors
def webhooks_replay(
    settings: Settings,
    delivery_ids: tuple[str, ...],
    all_failed: bool,
    site_name: str | None,
    as_json: bool,
) -> None:
    """Redeliver events (by id, or every failed one); each gets a fresh run of attempts."""
    from workers.celery_app import DELIVER_TASK, create_celery

    if not delivery_ids and not all_failed:
        raise click.UsageError("Name delivery ids or pass --failed.")
    with session_scope(sessions_for(settings)) as session:
        ids = list(delivery_ids)
        if all_failed:
            site_id = site_by_name(session, site_name).id if site_name else None
            ids += [
                d.id
                for d in list_deliveries(session, status="failed", site_id=site_id, limit=100_000)
            ]
        reopened = reopen_for_replay(session, ids)
    celery = create_celery(settings)
    queued = 0
    try:
        for delivery_id in reopened:
            celery.send_task(DELIVER_TASK, args=[delivery_id])
            queued += 1
    except Exception as exc:  # noqa: BLE001 - the sweep sends what could not be queued now
        click.echo(
            f"Broker unavailable ({type(exc).__name__}); the sweep will send the rest.", err=True
        )
    emit({"replayed": len(reopened), "queued": queued, "ids": reopened}, as_json, title="Replay")


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
