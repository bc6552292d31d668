"""Engine and session lifecycle: one pooled engine per process, short transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from sqlalchemy import CursorResult, Engine, Result, create_engine, event, exc
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

# SQLite's write-ahead log is copied back into the database ("checkpointed") by whichever commit
# finds it over this many pages, and that commit waits for the copy and its fsync: 10 ms and more
# here, the whole p99 of a synchronous request. The API raises the limit for its own connections
# so the workers' commits do the checkpoints; the limit still bounds the log when no worker runs.
CHECKPOINT_PAGES = 1000
API_CHECKPOINT_PAGES = 20_000


def make_engine(database_url: str, *, checkpoint_pages: int = CHECKPOINT_PAGES) -> Engine:
    """One engine per process; SQLite gets WAL and a busy timeout so API and workers share it."""
    if database_url.startswith("sqlite"):
        engine = create_engine(
            database_url,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_pre_ping=False,
        )
        event.listen(engine, "connect", partial(_sqlite_pragmas, checkpoint_pages))
        return engine
    return create_engine(
        database_url,
        pool_size=5,
        max_overflow=10,
        pool_pre_ping=False,
        pool_recycle=1800,
        pool_use_lifo=True,
    )


def _sqlite_pragmas(
    checkpoint_pages: int, dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry
) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute(f"PRAGMA wal_autocheckpoint={int(checkpoint_pages)}")
    cursor.close()


def is_transient(error: BaseException) -> bool:
    """Whether an error is the database's own (unreachable, restarting, locked, a deadlock), so
    the same work may well succeed later, as opposed to an error in the work itself."""
    if isinstance(error, exc.OperationalError | exc.InterfaceError | exc.TimeoutError):
        return True
    return isinstance(error, exc.DBAPIError) and error.connection_invalidated


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched. ``Session.execute`` is typed to return a Result; for
    those statements it is a CursorResult, the one that counts them."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(result).__name__} has no row count")
    return result.rowcount
