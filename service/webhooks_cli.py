"""``commentgate webhooks``: inspect deliveries and redeliver dead-lettered events."""

from __future__ import annotations

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
