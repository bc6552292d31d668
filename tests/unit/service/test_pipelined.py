"""Statements sent in one pipeline on a real PostgreSQL database: in order, each seeing what the
ones before it wrote, and failing as SQLAlchemy fails."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, exc, text

from service import pipelined
from service.db import is_transient

INSERT = text("INSERT INTO items VALUES (:n) RETURNING n")
COUNT = text("SELECT count(*) AS total FROM items")
NOTHING = text("SELECT 1 AS one WHERE false")
DIVIDE = text("SELECT 1 / :zero AS quotient")


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE items (n integer)"))
    yield engine
    engine.dispose()


def test_statements_run_in_order_and_see_what_those_before_them_wrote(engine: Engine) -> None:
    calls = [(INSERT, {"n": 1}), (COUNT, {}), (NOTHING, {}), (INSERT, {"n": 2}), (COUNT, {})]
    with engine.begin() as connection:
        rows = pipelined.first_rows(connection, calls)
    assert rows == [{"n": 1}, {"total": 1}, None, {"n": 2}, {"total": 2}]


def test_a_failing_statement_raises_sqlalchemys_error_and_the_transaction_writes_nothing(
    engine: Engine,
) -> None:
    with pytest.raises(exc.DataError) as raised, engine.begin() as connection:
        pipelined.first_rows(connection, [(INSERT, {"n": 1}), (DIVIDE, {"zero": 0})])
    assert not is_transient(raised.value)
    with engine.connect() as connection:
        assert connection.execute(COUNT).scalar() == 0


def test_a_lost_connection_is_transient(engine: Engine, postgres_url: str) -> None:
    with engine.connect() as connection:
        backend = connection.execute(text("SELECT pg_backend_pid()")).scalar()
        admin = postgres_url.replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(admin, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [backend])
        with pytest.raises(exc.DBAPIError) as raised:
            pipelined.first_rows(connection, [(COUNT, {}), (COUNT, {})])
    assert is_transient(raised.value)
