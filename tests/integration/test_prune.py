"""Near-copy bands older than the longest flood window are pruned; recent ones stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from service.db import session_scope
from service.decisions import floods
from service.models import Comment, CommentBand, new_id, utcnow

pytestmark = pytest.mark.integration


def test_prune_drops_only_bands_past_the_longest_window(app, make_site) -> None:
    site = make_site()
    now = utcnow()
    sessions = app.extensions["commentgate"].sessions
    with session_scope(sessions) as session:
        for age_days, name in ((45, "old"), (2, "new")):
            comment = Comment(
                id=new_id(),
                site_id=site.site.id,
                external_id=name,
                content=name,
                received_at=now - timedelta(days=age_days),
            )
            session.add(comment)
            session.flush()
            session.add_all(
                CommentBand(
                    comment_id=comment.id, band=f"{name}-{i}", received_at=comment.received_at
                )
                for i in range(3)
            )
    with session_scope(sessions) as session:
        assert floods.prune_bands(session, now) == 3
    with session_scope(sessions) as session:
        left = sorted(b.band for b in session.scalars(select(CommentBand)))
    assert left == ["new-0", "new-1", "new-2"]
