"""a label's identity includes its site: one row per site, task, source and subject

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 10:00:00.000000
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
labels = sa.table(
    "labeled_examples",
    sa.column("id", sa.Integer),
    sa.column("site_id", sa.String),
    sa.column("comment_id", sa.String),
    sa.column("subject", sa.String),
    sa.column("task", sa.String),
    sa.column("source", sa.String),
    sa.column("text", sa.Text),
    sa.column("created_at", sa.DateTime),
)


def _subject(comment_id: str | None, text: str | None) -> str:
    """As ``service.models.label_subject``: the comment, or the exact text's SHA-256."""
    return comment_id or hashlib.sha256((text or "").encode("utf-8")).hexdigest()


def _fill_subjects(connection: sa.Connection) -> None:
    """Give every row its subject; of rows with the same identity only the latest stays (the
    one the export already used)."""
    rows = connection.execute(
        sa.select(
            labels.c.id,
            labels.c.site_id,
            labels.c.comment_id,
            labels.c.task,
            labels.c.source,
            labels.c.text,
        ).order_by(labels.c.created_at.desc(), labels.c.id.desc())
    )
    kept: set[tuple[str | None, str, str, str]] = set()
    updates: list[dict[str, object]] = []
    stale: list[int] = []
    for row in rows:
        subject = _subject(row.comment_id, row.text)
        identity = (row.site_id, row.task, row.source, subject)
        if row.site_id is not None and identity in kept:
            stale.append(row.id)
            continue
        kept.add(identity)
        updates.append({"row_id": row.id, "subject": subject})
    update = (
        sa.update(labels)
        .where(labels.c.id == sa.bindparam("row_id"))
        .values(subject=sa.bindparam("subject"))
    )
    for start in range(0, len(updates), BATCH):
        connection.execute(update, updates[start : start + BATCH])
    for start in range(0, len(stale), BATCH):
        connection.execute(sa.delete(labels).where(labels.c.id.in_(stale[start : start + BATCH])))


def upgrade() -> None:
    with op.batch_alter_table("labeled_examples", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=64), nullable=True))
    _fill_subjects(op.get_bind())
    with op.batch_alter_table("labeled_examples", schema=None) as batch_op:
        batch_op.alter_column("subject", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(
            "uq_labels_identity", ["site_id", "task", "source", "subject"]
        )


def downgrade() -> None:
    with op.batch_alter_table("labeled_examples", schema=None) as batch_op:
        batch_op.drop_constraint("uq_labels_identity", type_="unique")
        batch_op.drop_column("subject")
