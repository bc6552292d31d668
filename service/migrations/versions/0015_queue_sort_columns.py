"""the queue sorts by score and filters by author from indexes

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 20:30:00.000000

Sorting a site's held comments by spam or toxicity read the score out of every held comment's
JSON. Each score now has a generated column, the database's own copy of ``scores``, so no
writer has to keep it in step: the score, or -1 for a comment without one (last when sorting
by score). With the author's lower-cased name, they lead indexes that serve a queue page by
reading just that page.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RANKS = ("spam", "toxicity")


def upgrade() -> None:
    # SQLite can add only a virtual generated column; PostgreSQL only a stored one.
    kind = "VIRTUAL" if op.get_bind().dialect.name == "sqlite" else "STORED"
    for task in RANKS:
        op.execute(
            f"ALTER TABLE comments ADD COLUMN {task}_rank FLOAT GENERATED ALWAYS AS "
            f"(COALESCE(CAST(scores ->> '{task}' AS FLOAT), -1.0)) {kind}"
        )
        op.create_index(
            f"ix_comments_site_status_{task}",
            "comments",
            ["site_id", "status", f"{task}_rank", "id"],
        )
    op.execute(
        "CREATE INDEX ix_comments_site_status_author "
        "ON comments (site_id, status, lower(author_name), received_at)"
    )


def downgrade() -> None:
    op.drop_index("ix_comments_site_status_author", table_name="comments")
    for task in RANKS:
        op.drop_index(f"ix_comments_site_status_{task}", table_name="comments")
        op.execute(f"ALTER TABLE comments DROP COLUMN {task}_rank")
