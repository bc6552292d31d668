"""index comment bands by age, so old bands can be pruned cheaply

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 19:35:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("comment_bands", schema=None) as batch_op:
        batch_op.create_index("ix_comment_bands_received", ["received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("comment_bands", schema=None) as batch_op:
        batch_op.drop_index("ix_comment_bands_received")
