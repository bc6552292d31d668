"""``commentgate feedback``: moderators' labels out to files that ``commentgate train`` reads."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from service.cli.support import emit, fail_on_domain_errors, sessions_for
from service.config import Settings
from service.db import session_scope
from service.feedback import FORMATS, export
from service.sites import site_by_name


@click.group()
def feedback() -> None:
    """Labels from moderators (and Akismet/Perspective feedback) as training data."""


@feedback.command("export")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]),
    default=None,
    help="Only labels given at or after this date (UTC).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="A .csv/.jsonl file, or a folder [default: the training data's feedback/ folder].",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None, help="[default: csv]")
@click.option("--site", "site_name", default=None, help="Only this site's labels.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@fail_on_domain_errors
def feedback_export(
    settings: Settings,
    since: datetime | None,
    out: Path | None,
    fmt: str | None,
    site_name: str | None,
    as_json: bool,
) -> None:
    """Write labeled examples (columns text,label,task,site,source,created_at).

    By default into the training data's feedback/ folder, where `commentgate train` finds them;
    exporting again replaces the file, so no label is counted twice.
    """
    target = out or settings.training_data / "feedback"
    sessions = sessions_for(settings)
    try:
        with session_scope(sessions) as session:
            site = site_by_name(session, site_name) if site_name else None
            result = export(
                session,
                target,
                fmt=fmt,
                since=since.replace(tzinfo=UTC) if since else None,
                site=site,
            )
    finally:
        sessions.kw["bind"].dispose()
    emit(result.as_dict(), as_json, title=f"Exported {result.rows} labeled examples.")
