"""Author standings in the store: set and cleared with audit entries, read for a batch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from service import authors
from service.db import session_scope
from service.decisions import standings
from service.errors import ValidationError
from service.models import AuditEntry, AuthorStanding, Comment, Moderator, utcnow
from service.moderators import create_moderator
from tests.support.stored import store_decided

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("stack", ["embedded", "postgres-redis"], indirect=True)
def test_standing_is_set_audited_read_per_batch_and_cleared(app, make_site) -> None:
    site = make_site()
    ids = store_decided(
        app,
        site,
        [
            {"external_id": "a1", "email": "ann@example.org", "ip": "10.0.0.1"},
            {"external_id": "a2", "email": "ann@example.org", "ip": "10.0.0.9"},
            {"external_id": "b1", "email": "bob@example.org"},
            {"external_id": "c1", "ip": "10.0.0.1"},
            {"external_id": "n1"},
        ],
    )
    sessions = app.extensions["commentgate"].sessions
    with session_scope(sessions) as session:
        moderator = create_moderator(session, site.site, "mod@example.org", "moderator").moderator
        view = authors.set_standing(session, moderator, ids[0], "banned", reason="abuse")
        assert view.standing is not None and view.standing.standing == "banned"
        assert view.identity == standings.Identity("email", view.comment.author_email_hash)
        until = utcnow() + timedelta(hours=24)
        authors.set_standing(session, moderator, ids[3], "suspended", until=until)
        with pytest.raises(ValidationError):
            authors.set_standing(session, moderator, ids[4], "banned")
        with pytest.raises(ValidationError):
            authors.set_standing(session, moderator, ids[2], "suspended")
        with pytest.raises(ValidationError):
            authors.set_standing(session, moderator, ids[2], "sainted")

    with session_scope(sessions) as session:
        comments = [session.get_one(Comment, i) for i in ids]
        found = standings.standings_for(session, comments)
        # the same e-mail whatever the IP; the IP-only author by IP; nobody else
        assert {k: v.kind for k, v in found.items()} == {
            ids[0]: "banned",
            ids[1]: "banned",
            ids[3]: "suspended",
        }
        assert found[ids[0]].reason == "abuse"
        later = standings.standings_for(session, comments, utcnow() + timedelta(hours=25))
        assert set(later) == {ids[0], ids[1]}  # the suspension has ended

    with session_scope(sessions) as session:
        moderator = session.scalars(select(Moderator)).one()
        view = authors.set_standing(session, moderator, ids[1], "none")
        assert view.standing is None
    with session_scope(sessions) as session:
        assert session.scalars(select(AuthorStanding.standing)).all() == ["suspended"]
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == authors.AUDIT_STANDING)
        ).all()
        assert [(e.details["previous"], e.details["standing"]) for e in entries] == [
            ("none", "banned"),
            ("none", "suspended"),
            ("banned", "none"),
        ]
        assert all(e.moderator_id for e in entries)
