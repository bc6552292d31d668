"""``commentgate sites``: create tenants, list them, rotate their keys and secrets."""

from __future__ import annotations

import json
from datetime import timedelta

import click

from service.cli_support import emit, fail_on_domain_errors, sessions_for
from service.config import Settings
from service.db import session_scope
from service.errors import InvalidWebhookURLError
from service.models import Site
from service.sites import (
    create_site,
    rotate_api_key,
    rotate_webhook_secret,
    set_policy,
    site_by_name,
)
from service.urls import validate_webhook_url


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
    try:
        validate_webhook_url(webhook_url, allow_private=settings.webhook_allow_private)
    except InvalidWebhookURLError as exc:
        validate_webhook_url(webhook_url, allow_private=True)
        click.echo(
            f"warning: {exc.message} Deliveries need COMMENTGATE_WEBHOOK_ALLOW_PRIVATE=true "
            "in the worker's environment (it is the default under `commentgate run`).",
            err=True,
        )
    with session_scope(sessions_for(settings)) as session:
        created = create_site(session, name, webhook_url, allow_private=True)
        data = created.as_dict()
    emit(data, as_json, title=f"Site {name!r} created. Keep the API key: it is shown only once.")


@sites.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def sites_list(settings: Settings, as_json: bool) -> None:
    """List sites (never their keys)."""
    with session_scope(sessions_for(settings)) as session:
        rows = [
            {"id": s.id, "name": s.name, "webhook_url": s.webhook_url, "created_at": s.created_at}
            for s in session.query(Site).order_by(Site.created_at)
        ]
    if as_json:
        emit({"sites": rows}, True)
        return
    for row in rows:
        click.echo(f"{row['id']}  {row['name']:<24} {row['webhook_url']}")


@sites.command("rotate-key")
@click.argument("name")
@click.option(
    "--overlap-hours", default=24.0, show_default=True, help="How long the old key keeps working."
)
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


@sites.command("rotate-secret")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@fail_on_domain_errors
def sites_rotate_secret(settings: Settings, name: str, as_json: bool) -> None:
    """Issue a new webhook signing secret."""
    with session_scope(sessions_for(settings)) as session:
        site = site_by_name(session, name)
        secret = rotate_webhook_secret(site)
        data = {"id": site.id, "name": site.name, "webhook_secret": secret}
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
