"""authors get a standing on a site: trusted, premoderated, suspended or banned

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-12 10:00:00.000000

A moderator's standing for an author is a policy fact for the author's next comments. The
author is known as their history knows them: by the keyed hash of their e-mail address, else
by IP (``known_by``); one row per author and site.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "author_standings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site_id", sa.String(32), nullable=False),
        sa.Column("known_by", sa.String(8), nullable=False),
        sa.Column("author_key", sa.String(64), nullable=False),
        sa.Column("standing", sa.String(16), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("moderator_id", sa.String(32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["moderator_id"], ["moderators.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("site_id", "known_by", "author_key", name="uq_author_standings_author"),
    )


def downgrade() -> None:
    op.drop_table("author_standings")
