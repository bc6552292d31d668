"""Helpers shared by the CLI's subcommands: output and error reporting."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from service.config import Settings
from service.errors import CommentGateError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


def emit(data: dict[str, Any], as_json: bool, title: str | None = None) -> None:
    """One JSON object on stdout for scripts, or a readable listing for people."""
    if as_json:
        click.echo(json.dumps(data, default=str))
        return
    if title:
        click.secho(title, bold=True)
    width = max((len(k) for k in data), default=0)
    for key, value in data.items():
        click.echo(f"  {key.ljust(width)}  {value}")


def sessions_for(settings: Settings) -> sessionmaker[Session]:
    from service.db import make_engine, make_session_factory

    return make_session_factory(make_engine(settings.database_url))


def fail_on_domain_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a domain error into a clear message and exit status 1 instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except CommentGateError as exc:
            raise click.ClickException(exc.message) from exc

    return wrapper
