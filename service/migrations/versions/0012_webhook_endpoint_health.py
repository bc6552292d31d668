"""sites keep their webhook endpoint's health, and can have their webhooks disabled

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10 10:00:00.000000

Failed attempts in a row, since when, the last failure and success, and when (and why) the
site's webhooks were disabled; a partial index finds a site's pending deliveries.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")
TIMES = (
    "webhook_failing_since",
    "webhook_last_failure_at",
    "webhook_last_success_at",
    "webhook_disabled_at",
)


def upgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("webhook_failures", sa.Integer(), server_default="0", nullable=False)
        )
        for name in TIMES:
            batch_op.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("webhook_disabled_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_site_pending",
            ["site_id", "next_attempt_at"],
            unique=False,
            sqlite_where=PENDING,
            postgresql_where=PENDING,
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_site_pending")
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("webhook_disabled_reason")
        for name in reversed(TIMES):
            batch_op.drop_column(name)
        batch_op.drop_column("webhook_failures")
