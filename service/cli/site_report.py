"""``commentgate sites report``: what CommentGate decided for a site and how it agrees with
the labels the platform sent back (``service.site_report``), e.g. at the end of a trial."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console
from rich.table import Table

from service.cli.support import emit, fail_on_domain_errors, sessions_for
from service.cli.webhooks import parse_since
from service.config import Settings
from service.db import session_scope
from service.site_report import ACTIONS, site_report
from service.sites import site_by_name


@click.command("report")
@click.argument("name")
@click.option(
    "--since",
    default=None,
    metavar="TIME",
    help="Only comments received since TIME (ISO 8601, or an age: 2h, 7d). Default: all.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@fail_on_domain_errors
def sites_report(settings: Settings, name: str, since: str | None, as_json: bool) -> None:
    """What CommentGate decided for a site's comments (in trial mode: what it would have done),
    counted by action and by reason, and, per task, a table of those decisions against the
    labels the platform sent back (Akismet submit-spam/ham, moderators, Perspective)."""
    moment = parse_since(since) if since else None
    sessions = sessions_for(settings)
    try:
        with session_scope(sessions) as session:
            data = site_report(session, site_by_name(session, name), moment)
    finally:
        sessions.kw["bind"].dispose()
    if as_json:
        emit(data, True)
    else:
        _print(data)


def _print(data: dict[str, Any]) -> None:
    console = Console()
    since = f" since {data['since']}" if data["since"] else ""
    console.print(
        f"[bold]{data['site']}[/bold] ({data['mode']} mode): {data['comments']} comments"
        f"{since}, {data['decided']} decided, {data['pending']} pending"
    )
    actions = "  ".join(f"{action} {data['by_action'][action]}" for action in ACTIONS)
    console.print(f"By action: {actions}")
    if data["by_reason"]:
        reasons = ", ".join(f"{code} {count}" for code, count in data["by_reason"].items())
        console.print(f"By reason: {reasons}")
    if not data["labels"]:
        console.print("No labels from the platform yet (submit-spam/ham, moderator decisions).")
    for task, shown in data["labels"].items():
        names = list(next(iter(shown["confusion"].values())))
        table = Table(title=f"{task}: decision against label ({shown['labeled']} labeled)")
        table.add_column("decision")
        for label in names:
            table.add_column(label, justify="right")
        for action, counts in shown["confusion"].items():
            table.add_row(action, *(str(counts[label]) for label in names))
        console.print(table)
        console.print(f"Agreement: {shown['agreement']:.1%}")
