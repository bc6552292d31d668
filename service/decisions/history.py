"""What the store knows around a comment, read in one statement per comment.

The author's standing on the site (``reputation``) and the earlier copies of the text on any site
and on the comment's own (``floods``) are selected together, so deciding a comment costs one read
and one write (its near-duplicate bands) whatever the size of the store. On PostgreSQL the write
rides in the same statement, and a batch's statements go in one pipeline: one wait per batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from service import pipelined
from service.decisions import floods, reputation
from service.decisions.policy import History
from service.models import Comment


@cache
def _statement(by: str, dialect: str) -> Select[Any]:
    statement = reputation.standing(by).add_columns(*floods.copy_columns(dialect))
    if dialect == "postgresql":
        statement = statement.add_columns(floods.remembered_column())
    return statement


def history_of(
    session: Session, comment: Comment, settings: Mapping[str, Any], sign: floods.Signature
) -> History:
    """The comment's history under the site's resolved policy ``settings``; stores its bands."""
    return histories_of(session, [(comment, settings, sign)])[0]


def histories_of(
    session: Session, items: Sequence[tuple[Comment, Mapping[str, Any], floods.Signature]]
) -> list[History]:
    """The histories of a batch's comments, in order; stores their bands.

    Each comment's statement sees the bands stored by those before it in the batch, so near
    copies within a batch count. On PostgreSQL the batch's statements go in one pipeline (one
    wait for all of them); the decisions of the batch are recorded after all its histories
    are read, so a comment's history sees the others of its batch as pending."""
    connection = session.connection()
    dialect = connection.dialect.name
    calls = []
    for comment, settings, sign in items:
        by, params = reputation.standing_params(comment, settings)
        params.update(floods.copy_params(comment, sign, settings))
        if dialect == "postgresql":
            params.update(floods.remember_params(comment, sign))
        calls.append((_statement(by, dialect), params))
    if dialect == "postgresql" and len(calls) > 1:
        found = pipelined.first_rows(connection, calls)
        rows: list[Mapping[Any, Any]] = [row for row in found if row is not None]
        if len(rows) != len(found):
            raise RuntimeError("a history statement returned no row")
    else:
        rows = []
        for (statement, params), (comment, _, sign) in zip(calls, items, strict=True):
            rows.append(connection.execute(statement, params).one()._mapping)
            if dialect != "postgresql":
                floods.remember(connection, comment, sign)
    histories = []
    for row, (comment, settings, sign) in zip(rows, items, strict=True):
        copies = floods.count_copies(row, sign, settings)
        author = reputation.author_from(row, comment)
        histories.append(History(author=author, copies=copies.total, copies_here=copies.here))
    return histories
