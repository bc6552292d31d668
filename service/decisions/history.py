"""What the store knows around a comment, read in one statement per comment.

The author's standing on the site (``reputation``) and the earlier copies of the text on any site
and on the comment's own (``floods``) are selected together, so deciding a comment costs one read
and one write (its near-duplicate bands) whatever the size of the store. On PostgreSQL the write
rides in the same statement, so the whole history is one round trip.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

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
    by, params = reputation.standing_params(comment, settings)
    params.update(floods.copy_params(comment, sign, settings))
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        params.update(floods.remember_params(comment, sign))
    row = connection.execute(_statement(by, dialect), params).one()._mapping
    copies = floods.count_copies(row, sign, settings)
    history = History(
        author=reputation.author_from(row, comment), copies=copies.total, copies_here=copies.here
    )
    if dialect != "postgresql":
        floods.remember(connection, comment, sign)
    return history
