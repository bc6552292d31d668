"""comment bands for near-duplicate detection

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "comment_bands",
        sa.Column("comment_id", sa.String(length=32), nullable=False),
        sa.Column("band", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("comment_id", "band"),
    )
    with op.batch_alter_table("comment_bands", schema=None) as batch_op:
        batch_op.create_index(
            "ix_comment_bands_band_received", ["band", "received_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("comment_bands", schema=None) as batch_op:
        batch_op.drop_index("ix_comment_bands_band_received")

    op.drop_table("comment_bands")
