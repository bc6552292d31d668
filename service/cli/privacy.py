"""``commentgate purge``: remove personal data of old comments."""

from __future__ import annotations

import re
from datetime import timedelta

import click

from service.cli.support import emit, sessions_for
from service.config import Settings
from service.db import session_scope
from service.models import utcnow
from service.privacy import purge_personal_data

UNITS = {"d": "days", "h": "hours", "w": "weeks"}


def parse_age(value: str) -> timedelta:
    match = re.fullmatch(r"\s*(\d+)\s*([dhw])\s*", value)
    if not match:
        raise click.BadParameter("use a number and a unit: 90d, 12w or 48h")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


@click.command()
@click.option("--older-than", "age", required=True, help="Age such as 90d, 12w or 48h.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def purge(settings: Settings, age: str, as_json: bool) -> None:
    """Remove author IPs, e-mails and user agents from comments older than the given age.

    Texts, decisions, labels and the e-mail hash used for reputation are kept.
    """
    before = utcnow() - parse_age(age)
    with session_scope(sessions_for(settings)) as session:
        count = purge_personal_data(session, before)
    emit({"purged_comments": count, "before": before.isoformat()}, as_json, title="Purged")
