"""``commentgate moderators``: accounts for the review queue."""

from __future__ import annotations

import click

from service.cli.support import emit, fail_on_domain_errors, sessions_for
from service.config import Settings
from service.db import session_scope
from service.moderators import ROLES, create_moderator, list_moderators, revoke_moderator
from service.sites import site_by_name


@click.group()
def moderators() -> None:
    """Moderators review held comments; admins also manage the site's policy."""


@moderators.command("create")
@click.argument("email")
@click.option("--site", "site_name", required=True, help="The site's name.")
@click.option("--role", type=click.Choice(ROLES), default="moderator", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@fail_on_domain_errors
def moderators_create(
    settings: Settings, email: str, site_name: str, role: str, as_json: bool
) -> None:
    """Create a moderator; the sign-in token is printed once."""
    with session_scope(sessions_for(settings)) as session:
        created = create_moderator(session, site_by_name(session, site_name), email, role)
        data = created.as_dict()
    emit(data, as_json, title="Moderator created. Keep the token: it is shown only once.")


@moderators.command("list")
@click.option("--site", "site_name", default=None, help="Only this site's moderators.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@fail_on_domain_errors
def moderators_list(settings: Settings, site_name: str | None, as_json: bool) -> None:
    """List moderators (never their tokens)."""
    with session_scope(sessions_for(settings)) as session:
        site = site_by_name(session, site_name) if site_name else None
        rows = [
            {
                "id": m.id,
                "email": m.email,
                "role": m.role,
                "site": m.site_id,
                "revoked": m.revoked_at is not None,
            }
            for m in list_moderators(session, site)
        ]
    if as_json:
        emit({"moderators": rows}, True)
        return
    for row in rows:
        state = "revoked" if row["revoked"] else "active"
        click.echo(f"{row['id']}  {row['email']:<32} {row['role']:<9} {state}")


@moderators.command("revoke")
@click.argument("email")
@click.option("--site", "site_name", required=True, help="The site's name.")
@click.pass_obj
@fail_on_domain_errors
def moderators_revoke(settings: Settings, email: str, site_name: str) -> None:
    """Revoke a moderator's token at once."""
    with session_scope(sessions_for(settings)) as session:
        revoke_moderator(session, site_by_name(session, site_name), email)
    click.echo(f"Revoked {email}.")
