"""key the stored author hashes: an HMAC over the plain SHA-256 each one held

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 10:00:00.000000

A plain SHA-256 of an IPv4 address is reversed by trying all four billion. The hashes are now
HMAC-SHA256, keyed by the installation's secret key, over that plain SHA-256: the stored ones
convert without the raw values, so an author's history still matches after the upgrade. The
key comes from the caller (``service.migrate.upgrade``); it is not needed when nothing is stored.
"""

import hmac
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
_PLAIN_HASH = re.compile(r"[0-9a-f]{64}")
_COMMENTS = sa.table(
    "comments",
    sa.column("id", sa.String),
    sa.column("author_email", sa.String),
    sa.column("author_email_hash", sa.String),
    sa.column("author_ip", sa.String),
)
# Raw IPs are never 64 characters long: one that is was stored hashed (STORE_PII_HASHED).
_HASHED = sa.or_(
    _COMMENTS.c.author_email_hash.is_not(None), sa.func.length(_COMMENTS.c.author_ip) == 64
)


def _keyed(digest: str, key: bytes) -> str:
    return hmac.new(key, digest.encode("ascii"), "sha256").hexdigest()


def _converted(row: sa.Row, key: bytes) -> dict[str, str | None]:
    """The row's hashes keyed; a raw e-mail or IP is left as it is."""
    email_hash = _keyed(row.author_email_hash, key) if row.author_email_hash else None
    email = row.author_email
    if email is not None and email == row.author_email_hash:  # stored hashed
        email = email_hash
    ip = row.author_ip
    if ip is not None and _PLAIN_HASH.fullmatch(ip):
        ip = _keyed(ip, key)
    return {"row_id": row.id, "email": email, "email_hash": email_hash, "ip": ip}


def upgrade() -> None:
    connection = op.get_bind()
    comments = _COMMENTS.c
    if connection.execute(sa.select(comments.id).where(_HASHED).limit(1)).first() is None:
        return
    key = context.config.attributes.get("identifier_key")
    if not key:
        raise RuntimeError(
            "Stored author hashes are keyed by the installation's secret key in this version: "
            "upgrade with `commentgate db upgrade` and the usual COMMENTGATE_SECRET_KEY / "
            "COMMENTGATE_HOME."
        )
    update = (
        sa.update(_COMMENTS)
        .where(comments.id == sa.bindparam("row_id"))
        .values(
            author_email=sa.bindparam("email"),
            author_email_hash=sa.bindparam("email_hash"),
            author_ip=sa.bindparam("ip"),
        )
    )
    columns = (comments.id, comments.author_email, comments.author_email_hash, comments.author_ip)
    last = ""
    while True:
        rows = connection.execute(
            sa.select(*columns)
            .where(_HASHED, comments.id > last)
            .order_by(comments.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        connection.execute(update, [_converted(row, key) for row in rows])
        last = rows[-1].id


def downgrade() -> None:
    """Nothing to undo that can be undone: the hashes stay keyed (a keyed hash has no way back),
    so an earlier version matches its new comments' authors with none of these."""
