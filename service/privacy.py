"""Data minimisation: strip personal data from old comments, keep what training needs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from service.db import rowcount
from service.models import Comment


def purge_personal_data(session: Session, before: datetime) -> int:
    """Remove IPs, e-mails and user agents of comments received before ``before``.

    The e-mail hash stays, so author reputation keeps working; text and labels stay for training.
    """
    result = session.execute(
        update(Comment)
        .where(
            Comment.received_at < before,
            or_(
                Comment.author_ip.is_not(None),
                Comment.author_email.is_not(None),
                Comment.author_user_agent.is_not(None),
            ),
        )
        .values(author_ip=None, author_email=None, author_user_agent=None)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) or 0
