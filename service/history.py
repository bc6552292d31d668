"""What the store knows around a comment, read in one statement per comment.

The author's standing on the site (``service.reputation``) and the earlier copies of the text on
any site (``service.floods``) are selected together, so deciding a comment costs one read and one
write (its near-duplicate bands) whatever the size of the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from service import floods, reputation
from service.models import Comment
from service.policy import History


@cache
def _statement(by: str) -> Select[Any]:
    return reputation.standing(by).add_columns(*floods.copy_columns())


def history_of(
    session: Session, comment: Comment, settings: Mapping[str, Any], sign: floods.Signature
) -> History:
    """The comment's history under the site's resolved policy ``settings``; stores its bands."""
    by, params = reputation.standing_params(comment, settings)
    params.update(floods.copy_params(comment, sign, settings))
    connection = session.connection()
    row = connection.execute(_statement(by), params).one()._mapping
    history = History(
        author=reputation.author_from(row, comment),
        copies=floods.count_copies(connection, row, comment, sign, settings),
    )
    floods.remember(connection, comment, sign)
    return history
