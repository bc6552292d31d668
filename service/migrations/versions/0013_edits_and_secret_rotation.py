"""comments keep their earlier texts when edited; sites keep their previous webhook secret

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-11 10:00:00.000000

An edited comment counts its revisions and its last edit's time; ``comment_revisions`` holds
each earlier text with the time it was received. During a secret rotation's overlap a site's
webhooks are signed with the previous secret too, until it expires.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_webhook_secret", sa.String(200), nullable=True))
        batch_op.add_column(
            sa.Column("previous_webhook_secret_expires_at", sa.DateTime(timezone=True))
        )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("revisions", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "comment_revisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("comment_id", sa.String(32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("comment_id", "number", name="uq_revisions_comment_number"),
    )


def downgrade() -> None:
    op.drop_table("comment_revisions")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_column("edited_at")
        batch_op.drop_column("revisions")
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("previous_webhook_secret_expires_at")
        batch_op.drop_column("previous_webhook_secret")
