"""Turns at periodic upkeep, taken in the database every worker already shares.

Every worker schedules the sweep and the pruning itself, so that no deployment depends on one
extra scheduler process; a lease lets the first of them to ask do the work and the others skip
it until the lease runs out. Taking it is one atomic upsert on either database: of concurrent
callers exactly one gets its row back.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.models import Lease


def take(session: Session, name: str, now: datetime, seconds: float) -> bool:
    """Whether this caller gets the ``name`` lease for ``seconds`` from ``now``: only if nobody
    holds it, or the holder's time is up."""
    until = now + timedelta(seconds=seconds)
    dialect = session.connection().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(Lease).values(name=name, until=until)
    upsert = statement.on_conflict_do_update(
        index_elements=[Lease.name],
        set_={"until": until},
        where=Lease.until <= now,
    ).returning(Lease.name)
    return session.execute(upsert).first() is not None
