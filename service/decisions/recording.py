"""The statements that record a decision: the comment's new status, the decision, its event.

Recording runs once per comment on every path, so it is written in SQLAlchemy Core rather than
through the ORM's unit of work. On PostgreSQL the three writes are one statement of
data-modifying CTEs: the decision is inserted only if the conditional status change matched,
and the webhook event only if the decision was; a batch's statements go in one pipeline.
Elsewhere (SQLite) they are up to three short statements in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Insert,
    Integer,
    Select,
    Update,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)

from service import pipelined
from service.models import Comment, Decision, WebhookDelivery

COMMENT_FIELDS = (
    "status",
    "action",
    "decided_by",
    "decided_at",
    "scores",
    "reasons",
    "model_version",
)
DECISION_FIELDS = (
    "comment_id",
    "action",
    "scores",
    "reasons",
    "model_version",
    "decided_by",
    "moderator_id",
    "note",
    "decided_at",
)
DELIVERY_FIELDS = (
    "id",
    "site_id",
    "comment_id",
    "event_id",
    "event_type",
    "payload",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
    "delivered_at",
    "last_error",
)


def _param(table: Any, prefix: str, name: str) -> Any:
    """A typed parameter (PostgreSQL must know the type of a value in a SELECT list)."""
    return bindparam(f"{prefix}_{name}", type_=table.c[name].type)


@cache
def _status_change(conditional: bool) -> Update:
    comments = Comment.__table__
    statement = update(comments).where(comments.c.id == bindparam("c_id"))
    if conditional:
        # and on the text it was made on: an edit meanwhile (``service.decisions.edits``) voids it
        revisions = bindparam("c_revisions", type_=Integer)
        statement = statement.where(
            comments.c.status == bindparam("c_expect"),
            or_(revisions.is_(None), comments.c.revisions == revisions),
        )
    return statement.values({name: _param(comments, "c", name) for name in COMMENT_FIELDS})


@cache
def _decision_insert() -> Insert:
    decisions = Decision.__table__
    return insert(decisions).values(
        {name: _param(decisions, "d", name) for name in DECISION_FIELDS}
    )


@cache
def _delivery_insert() -> Insert:
    deliveries = WebhookDelivery.__table__
    return insert(deliveries).values(
        {name: _param(deliveries, "w", name) for name in DELIVERY_FIELDS}
    )


@cache
def _combined(conditional: bool, notify: bool) -> Select[Any]:
    """PostgreSQL: status change, decision and event in one statement; no row if the status
    change matched nothing."""
    decisions, deliveries = Decision.__table__, WebhookDelivery.__table__
    changed = _status_change(conditional).returning(Comment.__table__.c.id).cte("changed")
    values = [
        changed.c.id if name == "comment_id" else _param(decisions, "d", name)
        for name in DECISION_FIELDS
    ]
    decided = (
        insert(decisions)
        .from_select(list(DECISION_FIELDS), select(*values).select_from(changed))
        .returning(decisions.c.id)
        .cte("decided")
    )
    columns: list[ColumnElement[Any]] = [decided.c.id]
    if notify:
        event = (
            insert(deliveries)
            .from_select(
                list(DELIVERY_FIELDS),
                select(*(_param(deliveries, "w", n) for n in DELIVERY_FIELDS)).select_from(decided),
            )
            .returning(deliveries.c.id)
            .cte("event")
        )
        columns.append(select(func.count()).select_from(event).scalar_subquery())
    return select(*columns)


Rows = tuple[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any] | None]


def write_many(connection: Connection, items: Sequence[Rows]) -> list[int | None]:
    """Record each (comment, decision, delivery), in order; on PostgreSQL all in one pipeline,
    so a batch waits once for all its records. Each gives its decision's id, or None when the
    comment's status was not ``comment["expect"]`` (another decider won), or its text not the
    one decided on (``comment["revisions"]``, when given), and nothing of it was written."""
    if connection.dialect.name != "postgresql":
        return [_write_apart(connection, *item) for item in items]
    calls = []
    for comment, decision, delivery in items:
        conditional = comment.get("expect") is not None
        statement = _combined(conditional, delivery is not None)
        calls.append((statement, _params(comment, decision, delivery)))
    if len(calls) == 1:
        row = connection.execute(*calls[0]).first()
        return [None if row is None else int(row[0])]
    return [
        None if row is None else int(row["id"]) for row in pipelined.first_rows(connection, calls)
    ]


def _params(
    comment: Mapping[str, Any], decision: Mapping[str, Any], delivery: Mapping[str, Any] | None
) -> dict[str, Any]:
    params = {f"c_{name}": comment[name] for name in (*COMMENT_FIELDS, "id")}
    if comment.get("expect") is not None:
        params["c_expect"] = comment["expect"]
        params["c_revisions"] = comment.get("revisions")
    params.update({f"d_{name}": decision[name] for name in DECISION_FIELDS})
    if delivery is not None:
        params.update({f"w_{name}": delivery[name] for name in DELIVERY_FIELDS})
    return params


def _write_apart(
    connection: Connection,
    comment: Mapping[str, Any],
    decision: Mapping[str, Any],
    delivery: Mapping[str, Any] | None,
) -> int | None:
    """SQLite: up to three short statements in the caller's transaction."""
    params = _params(comment, decision, delivery)
    if connection.execute(_status_change(comment.get("expect") is not None), params).rowcount != 1:
        return None
    inserted = connection.execute(_decision_insert(), params).inserted_primary_key
    assert inserted is not None  # an INSERT of one row has its key
    decision_id = inserted[0]
    if delivery is not None:
        connection.execute(_delivery_insert(), params)
    return int(decision_id)
