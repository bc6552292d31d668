"""sites have a 12-hex Akismet key (keyed hash), rotatable with an overlap

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("akismet_key_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("previous_akismet_key_hash", sa.String(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("previous_akismet_key_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_sites_akismet_key_hash", ["akismet_key_hash"], unique=True)
        batch_op.create_index(
            "ix_sites_previous_akismet_key_hash", ["previous_akismet_key_hash"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_index("ix_sites_previous_akismet_key_hash")
        batch_op.drop_index("ix_sites_akismet_key_hash")
        batch_op.drop_column("previous_akismet_key_expires_at")
        batch_op.drop_column("previous_akismet_key_hash")
        batch_op.drop_column("akismet_key_hash")
