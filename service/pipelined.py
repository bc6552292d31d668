"""PostgreSQL: several statements sent at once and their results read at once (psycopg's
pipeline mode), for a batch whose statements each depend on nothing the others return.

Each statement still runs on its own, in order, in the caller's transaction, and sees what the
ones before it wrote: only the waiting between them goes. SQLAlchemy has no pipeline mode, so
the statement is compiled by SQLAlchemy once and run on the connection's psycopg connection,
with SQLAlchemy's own conversions of the parameters (its compiled form's bind processors). Rows
come back as psycopg reads them, without SQLAlchemy's result conversions: for plain columns
(ids, counts, JSON aggregates). An error is raised as SQLAlchemy would raise it, so callers
tell a lost connection (``db.is_transient``) from a failing statement as they do elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import Compiled


@lru_cache(maxsize=64)
def _compiled(statement: ClauseElement, dialect: Dialect) -> Compiled:
    return statement.compile(dialect=dialect)


def first_rows(
    connection: Connection, calls: Sequence[tuple[ClauseElement, Mapping[str, Any]]]
) -> list[dict[str, Any] | None]:
    """The first row each (statement, parameters) call returns, by column name (None: no row),
    all sent in one pipeline. The statements must be built once and reused (they key the cache
    of compiled forms)."""
    driver = connection.connection.driver_connection
    dialect = connection.dialect
    cursors = []
    sent: tuple[str, dict[str, Any]] = ("", {})
    try:
        with driver.pipeline():  # type: ignore[union-attr]
            for statement, params in calls:
                compiled = _compiled(statement, dialect)
                values = dict(compiled.construct_params(dict(params)) or {})
                for name, process in getattr(compiled, "_bind_processors", {}).items():
                    if name in values:
                        values[name] = process(values[name])
                sent = (compiled.string, values)
                cursor = driver.cursor()  # type: ignore[union-attr]
                cursor.execute(*sent)
                cursors.append(cursor)
        rows: list[dict[str, Any] | None] = []
        for cursor in cursors:
            names = [column.name for column in cursor.description or ()]
            row = cursor.fetchone()
            cursor.close()
            rows.append(None if row is None else dict(zip(names, row, strict=True)))
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, driver, None)
        if lost:  # as SQLAlchemy does: the pool drops it, and a rollback does not try it
            connection.invalidate(error)
        raise exc.DBAPIError.instance(
            sent[0],
            sent[1],
            error,
            dialect.loaded_dbapi.Error,
            connection_invalidated=lost,
            dialect=dialect,
        ) from error
    return rows
