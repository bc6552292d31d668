"""``commentgate sites``: create tenants, list them, rotate their keys and secrets, and set
their policy and thresholds."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from service import endpoint_health
from service.cli.support import emit, fail_on_domain_errors, sessions_for
from service.config import Settings
from service.db import session_scope
from service.errors import InvalidWebhookURLError
from service.models import Site, utcnow
from service.sites import (
    create_site,
    rotate_akismet_key,
    rotate_api_key,
    rotate_webhook_secret,
    set_policy,
    set_webhook_url,
    site_by_name,
)
from service.thresholds import (
    TASKS,
    active_model_metadata,
    set_target,
    site_thresholds,
)
from service.urls import validate_webhook_url
from service.webhooks import isoformat


@click.group()
def sites() -> None:
    """Sites (tenants): each has an API key, a webhook URL and secret, and a policy."""


@sites.command("create")
@click.argument("name")
@click.option("--webhook-url", required=True, help="Where decisions are POSTed (signed).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@fail_on_domain_errors
def sites_create(settings: Settings, name: str, webhook_url: str, as_json: bool) -> None:
    """Create a site; its API key and webhook secret are printed once, never stored in clear.

    The operator is trusted with the URL: a loopback or private address is accepted with a
    warning, since the sending worker checks every resolved address again at send time
    (allowed only with COMMENTGATE_WEBHOOK_ALLOW_PRIVATE=true, as under `commentgate run`).
    """
    _check_url(settings, webhook_url)
    with session_scope(sessions_for(settings)) as session:
        created = create_site(
            session, name, webhook_url, allow_private=True, secret_key=settings.secret_key
        )
        data = created.as_dict()
    emit(data, as_json, title=f"Site {name!r} created. Keep the keys: they are shown only once.")


def _check_url(settings: Settings, webhook_url: str) -> None:
    """Refuse what is no webhook URL; accept a private address with a warning."""
    try:
        validate_webhook_url(webhook_url, allow_private=settings.webhook_allow_private)
    except InvalidWebhookURLError as exc:
        validate_webhook_url(webhook_url, allow_private=True)
        click.echo(
            f"warning: {exc.message} Deliveries need COMMENTGATE_WEBHOOK_ALLOW_PRIVATE=true "
            "in the worker's environment (it is the default under `commentgate run`).",
            err=True,
        )


@sites.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def sites_list(settings: Settings, as_json: bool) -> None:
    """List sites (never their keys), with the state of their webhooks: ok, failing (the last
    attempts failed) or disabled (events kept, not sent)."""
    with session_scope(sessions_for(settings)) as session:
        rows: list[dict[str, Any]] = [
            {
                "id": s.id,
                "name": s.name,
                "webhook_url": s.webhook_url,
                "created_at": s.created_at,
                "webhook": endpoint_health.health_of(s),
            }
            for s in session.query(Site).order_by(Site.created_at)
        ]
    if as_json:
        emit({"sites": rows}, True)
        return
    for row in rows:
        state = row["webhook"]["status"]
        click.echo(f"{row['id']}  {row['name']:<24} {state:<8} {row['webhook_url']}")


@sites.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@fail_on_domain_errors
def sites_show(settings: Settings, name: str, as_json: bool) -> None:
    """A site: its webhook URL, the endpoint's health (failed attempts in a row, last success,
    disabled and why), its events not delivered, and which keys it has. Keys are stored hashed,
    so only their presence and the end of a rotation's overlap are shown; `rotate-key` and
    `rotate-akismet-key` issue new ones."""
    with session_scope(sessions_for(settings)) as session:
        site = site_by_name(session, name)
        data: dict[str, Any] = {
            "id": site.id,
            "name": site.name,
            "webhook_url": site.webhook_url,
            "created_at": isoformat(site.created_at),
            "api_key": "set",
            "previous_key_expires_at": isoformat(site.previous_api_key_expires_at),
            "akismet_key": "set" if site.akismet_key_hash else None,
            "previous_akismet_key_expires_at": isoformat(site.previous_akismet_key_expires_at),
            "previous_secret_expires_at": isoformat(site.previous_webhook_secret_expires_at),
            "webhook": endpoint_health.health_of(site),
            "deliveries": endpoint_health.delivery_counts(session, site.id),
        }
    if as_json:
        emit(data, True)
        return
    webhook, counts = data.pop("webhook"), data.pop("deliveries")
    data["webhook_status"] = _status_line(webhook)
    data["failures_in_a_row"] = webhook["consecutive_failures"]
    data["failing_since"] = webhook["failing_since"] or "-"
    data["last_failure_at"] = webhook["last_failure_at"] or "-"
    data["last_success_at"] = webhook["last_success_at"] or "-"
    data["events_waiting"] = counts["waiting"]
    data["events_kept"] = counts["kept"]
    data["events_failed"] = counts["failed"]
    emit(data, False, title=f"Site {name!r}")
    if webhook["status"] == "disabled":
        click.echo(
            f"Webhooks are disabled: events are kept, not sent. Once the endpoint works, "
            f"`commentgate sites enable-webhook {name}` sends them (a new URL does too)."
        )


def _status_line(webhook: dict[str, Any]) -> str:
    if webhook["status"] == "disabled":
        return f"DISABLED since {webhook['disabled_at']}: {webhook['disabled_reason']}"
    return webhook["status"]


@sites.command("enable-webhook")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@fail_on_domain_errors
def sites_enable_webhook(settings: Settings, name: str, as_json: bool) -> None:
    """Resume a site's webhooks: its health starts afresh, and the events kept while it was
    disabled are sent now, each with a fresh run of attempts."""
    from service.cli.webhooks import queue_attempts

    with session_scope(sessions_for(settings)) as session:
        site = site_by_name(session, name)
        was_disabled = site.webhook_disabled_at is not None
        kept = endpoint_health.enable(session, site, utcnow(), why="sites enable-webhook")
    queued = queue_attempts(settings, kept)
    data = {"name": name, "was_disabled": was_disabled, "resent": len(kept), "queued": queued}
    emit(data, as_json, title=f"Webhooks of {name!r} enabled.")


@sites.command("disable-webhook")
@click.argument("name")
@click.option("--reason", default="disabled by an operator", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@fail_on_domain_errors
def sites_disable_webhook(settings: Settings, name: str, reason: str, as_json: bool) -> None:
    """Stop sending a site's webhooks (the platform is down for maintenance, say): its events
    are kept until `sites enable-webhook`."""
    with session_scope(sessions_for(settings)) as session:
        site = site_by_name(session, name)
        changed = endpoint_health.disable(session, site.id, utcnow(), reason)
    emit({"name": name, "disabled": True, "changed": changed}, as_json, title="Webhooks disabled.")


@sites.command("set-webhook-url")
@click.argument("name")
@click.argument("webhook_url")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@fail_on_domain_errors
def sites_set_webhook_url(settings: Settings, name: str, webhook_url: str, as_json: bool) -> None:
    """Send a site's webhooks to a new URL. A new endpoint starts healthy: a disabled site is
    enabled, and its kept events are sent there."""
    from service.cli.webhooks import queue_attempts

    _check_url(settings, webhook_url)
    with session_scope(sessions_for(settings)) as session:
        site = site_by_name(session, name)
        was_disabled = site.webhook_disabled_at is not None
        kept = set_webhook_url(session, site, webhook_url)
    queued = queue_attempts(settings, kept)
    data = {
        "name": name,
        "webhook_url": webhook_url,
        "was_disabled": was_disabled,
        "resent": len(kept),
        "queued": queued,
    }
    emit(data, as_json, title="Webhook URL changed.")


def overlap_hours(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The rotations' ``--overlap-hours``: 0 (the old credential stops now) to a year."""
    return click.option(
        "--overlap-hours",
        type=click.FloatRange(min=0, max=24 * 366),
        default=24.0,
        show_default=True,
        help=help_text,
    )


@sites.command("rotate-key")
@click.argument("name")
@overlap_hours("How long the old key keeps working.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@fail_on_domain_errors
def sites_rotate_key(settings: Settings, name: str, overlap_hours: float, as_json: bool) -> None:
    """Issue a new API key; the old one stays valid for the overlap period."""
    with session_scope(sessions_for(settings)) as session:
        site = site_by_name(session, name)
        api_key = rotate_api_key(session, site, timedelta(hours=overlap_hours))
        data = {
            "id": site.id,
            "name": site.name,
            "api_key": api_key,
            "previous_key_expires_at": site.previous_api_key_expires_at,
        }
    emit(data, as_json, title="New API key (shown once):")


@sites.command("rotate-akismet-key")
@click.argument("name")
@overlap_hours("How long the old key keeps working.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@fail_on_domain_errors
def sites_rotate_akismet_key(
    settings: Settings, name: str, overlap_hours: float, as_json: bool
) -> None:
    """Issue a new 12-hex Akismet key (the shape the WordPress plugin accepts); the old one
    stays valid for the overlap period. A site created before Akismet keys existed gets its
    first one here. Keys are hashed with COMMENTGATE_SECRET_KEY: changing it needs new ones."""
    with session_scope(sessions_for(settings)) as session:
        site = site_by_name(session, name)
        akismet_key = rotate_akismet_key(site, settings.secret_key, timedelta(hours=overlap_hours))
        data = {
            "id": site.id,
            "name": site.name,
            "akismet_key": akismet_key,
            "previous_akismet_key_expires_at": site.previous_akismet_key_expires_at,
        }
    emit(data, as_json, title="New Akismet key (shown once):")


@sites.command("rotate-secret")
@click.argument("name")
@overlap_hours("How long webhooks are signed with the old secret too (0: the new one alone, now).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@fail_on_domain_errors
def sites_rotate_secret(settings: Settings, name: str, overlap_hours: float, as_json: bool) -> None:
    """Issue a new webhook signing secret. Until the overlap ends every webhook carries two
    signatures (new and old) in its webhook-signature header, so the platform verifies with
    either secret while it switches; after it, only the new one."""
    with session_scope(sessions_for(settings)) as session:
        site = site_by_name(session, name)
        secret = rotate_webhook_secret(site, timedelta(hours=overlap_hours))
        data = {
            "id": site.id,
            "name": site.name,
            "webhook_secret": secret,
            "previous_secret_expires_at": site.previous_webhook_secret_expires_at,
        }
    emit(data, as_json, title="New webhook secret (shown once):")


@sites.command("policy")
@click.argument("name")
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="KEY=VALUE",
    help="Change a setting; dotted keys reach into groups (flood.action=reject); VALUE is JSON "
    "or text, lists may be comma-separated (blocked_terms=casino,viagra); null restores the "
    "default.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@fail_on_domain_errors
def sites_policy(
    settings: Settings, name: str, assignments: tuple[str, ...], as_json: bool
) -> None:
    """Show a site's policy, or change settings with --set (the next comment uses them)."""
    from service.api.policy_schemas import patch_from_assignments, patched, policy_document
    from service.db import make_engine, make_session_factory

    engine = make_engine(settings.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            site = site_by_name(session, name)
            if assignments:
                stored = patched(site.policy or {}, patch_from_assignments(assignments))
                set_policy(session, site, stored)
            document = policy_document(site.id, site.policy or {}, settings.model_dir)
    finally:
        engine.dispose()
    if as_json:
        emit(document, True)
        return
    click.echo(json.dumps(document, indent=2))


@sites.command("thresholds")
@click.argument("name")
@click.option("--task", type=click.Choice(TASKS), default=None, help="Only this task.")
@click.option(
    "--approve-legit",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=None,
    metavar="SHARE",
    help="Set a target: approve this share of the task's legitimate comments without review "
    "(e.g. 0.9); needs --task.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@fail_on_domain_errors
def sites_thresholds(
    settings: Settings, name: str, task: str | None, approve_legit: float | None, as_json: bool
) -> None:
    """Show, per task, the share of legitimate comments each approve threshold lets through
    without review against the share of bad comments that slips through with them, or set a
    target with --approve-legit.

    The curve comes from the site's own labeled comments once it has enough of them, else from
    the active model's dev data.
    """
    if approve_legit is not None and task is None:
        raise click.UsageError("--approve-legit needs --task.")
    metadata = active_model_metadata(settings.model_dir)
    sessions = sessions_for(settings)
    try:
        with session_scope(sessions) as session:
            site = site_by_name(session, name)
            if approve_legit is not None and task is not None:
                data = set_target(session, site, metadata, task, approve_legit).as_dict()
            else:
                data = site_thresholds(session, site, metadata).as_dict()
                if task:
                    data["tasks"] = {task: data["tasks"][task]}
    finally:
        sessions.kw["bind"].dispose()
    if as_json:
        emit(data, True)
    elif approve_legit is not None:
        _print_target(data)
    else:
        _print_tradeoff(data)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _pair(thresholds: dict[str, float]) -> str:
    return (
        f"approve below {thresholds['approve_below']:.4f}, reject at {thresholds['reject_at']:.4f}"
    )


def _where(source: str) -> str:
    return "the site's own comments" if source == "site" else "the model's dev data"


def _curve_title(task: str, curve: dict[str, Any]) -> str:
    labels = curve["labels"]
    return f"{task} on {_where(curve['source'])} ({labels['legit']} legit, {labels['bad']} bad)"


def _print_tradeoff(data: dict[str, Any]) -> None:
    console = Console()
    console.print(f"[bold]Thresholds of {data['site']}[/bold], model {data['model_version']}")
    needed = data["min_site_labels"]
    for task, shown in data["tasks"].items():
        console.print(f"\n[bold]{task}[/bold]: {_pair(shown['current'])}")
        own = shown["site_labels"]
        if shown["source"] != "site":
            console.print(
                f"The site has {own['legit']} legitimate and {own['bad']} bad labeled comments; "
                f"its own curve needs {needed['legit']} and {needed['bad']}."
            )
        if not shown["curves"]:
            console.print("No trade-off curve: the active model carries none.")
        for curve in shown["curves"]:
            table = Table(title=_curve_title(task, curve))
            for column in ("", "target", "threshold", "legit approved", "bad approved"):
                table.add_column(column, justify="left" if not column else "right")
            for index, point in enumerate(curve["points"]):
                current = index == curve["nearest"]
                table.add_row(
                    "current" if current else "",
                    _share(point["target"]),
                    f"{point['approve_below']:.4f}",
                    f"{_share(point['legit_approved'])} / {_share(point['legit_approved_min'])}",
                    f"{_share(point['bad_approved'])} / {_share(point['bad_approved_max'])}",
                    style="bold" if current else None,
                )
            console.print(table)
    console.print(
        "legit approved: mean / worst data set; bad approved: mean / worst data set. "
        "Set a target with --task TASK --approve-legit SHARE."
    )


def _print_target(data: dict[str, Any]) -> None:
    point, labels = data["point"], data["labels"]
    where = _where(data["source"])
    click.secho(f"{data['task']}: {_pair(data['thresholds'])}", bold=True)
    click.echo(f"  was:     {_pair(data['previous'])}")
    click.echo(
        f"  from {where} ({labels['legit']} legitimate, {labels['bad']} bad labels): approves "
        f"{_share(point['legit_approved'])} of legitimate comments and lets "
        f"{_share(point['bad_approved'])} of bad ones through"
        f" (worst data set {_share(point['bad_approved_max'])})."
    )
