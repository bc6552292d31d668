"""author indexes carry the status, so an author's standing is read from the index alone

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 21:05:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUTHOR_INDEXES = {
    "ix_comments_site_author_email": ["site_id", "author_email_hash", "received_at"],
    "ix_comments_site_author_ip": ["site_id", "author_ip", "received_at"],
}


def _recreate(with_status: bool) -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        for name, columns in AUTHOR_INDEXES.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, columns + (["status"] if with_status else []))


def upgrade() -> None:
    _recreate(with_status=True)


def downgrade() -> None:
    _recreate(with_status=False)
