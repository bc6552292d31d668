"""Sites, moderators and comments written straight to a test's database, and comments sent to
its API: the helpers every test shares.

``owner`` is whatever holds the installation's ``sessions`` and ``settings``: a Flask app made by
``create_app``, its ``AppState``, or the domain fixture (``tests.support.domain.Domain``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from classifier import Scores
from service.comments import comment_row, insert_comment
from service.db import session_scope
from service.decisions.pipeline import decide_pending
from service.models import Comment, Site, new_id, utcnow
from service.moderators import NewModerator, create_moderator
from service.security import hash_identifier
from service.sites import NewSite, create_site, set_policy

CLOSED_HOOK = "http://127.0.0.1:9/hook"  # nothing listens on port 9: every attempt fails
THOUGHTFUL = "Thanks, a thoughtful post."


def state_of(owner: Any) -> Any:
    """The object with ``sessions`` and ``settings``: an app's ``AppState``, else ``owner``."""
    return owner.extensions["commentgate"] if isinstance(owner, Flask) else owner


def sessions_of(owner: Any) -> Any:
    return state_of(owner).sessions


# --- sites and moderators ----------------------------------------------------------------


def new_site(
    owner: Any,
    webhook_url: str = CLOSED_HOOK,
    name: str | None = None,
    policy: dict[str, Any] | None = None,
) -> NewSite:
    """A committed site with its API and Akismet keys, and ``policy`` if given."""
    state = state_of(owner)
    with session_scope(state.sessions) as session:
        created = create_site(
            session,
            name or f"site-{uuid.uuid4().hex[:8]}",
            webhook_url,
            allow_private=True,
            secret_key=state.settings.secret_key,
        )
        if policy is not None:
            set_policy(session, created.site, policy)
        return created


def store_policy(owner: Any, site: NewSite, stored: dict[str, Any]) -> None:
    with session_scope(sessions_of(owner)) as session:
        set_policy(session, session.get_one(Site, site.site.id), stored)


def new_moderator(
    owner: Any, site: NewSite, role: str = "moderator", email: str | None = None
) -> NewModerator:
    """A committed moderator of ``site``, by default with an e-mail of its own."""
    with session_scope(sessions_of(owner)) as session:
        return create_moderator(
            session,
            session.get_one(Site, site.site.id),
            email or f"{uuid.uuid4().hex[:8]}@example.org",
            role,
        )


def moderator_token(
    owner: Any, site: NewSite, role: str = "moderator", email: str | None = None
) -> str:
    return new_moderator(owner, site, role, email).token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def moderator_headers(owner: Any, site: NewSite, role: str = "admin") -> dict[str, str]:
    """The Authorization header of a new moderator (an admin unless ``role`` says otherwise)."""
    return bearer(moderator_token(owner, site, role))


# --- stored comments -----------------------------------------------------------------------


def store_comment(
    owner: Any,
    site: NewSite,
    content: str = THOUGHTFUL,
    *,
    external_id: str | None = None,
    post_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    **author: str,
) -> str:
    """A pending comment stored as the API stores it (``comment_row``, ``insert_comment``);
    returns its id."""
    state = state_of(owner)
    data: dict[str, Any] = {
        "external_id": external_id or uuid.uuid4().hex,
        "content": content,
        "post": {"id": post_id or f"p-{uuid.uuid4().hex[:6]}"},
        "author": author,
        "metadata": metadata or {},
    }
    with session_scope(state.sessions) as session:
        row = comment_row(
            session.get_one(Site, site.site.id), data, identifier_key=state.settings.identifier_key
        )
        comment_id, _ = insert_comment(session, row)
    return comment_id


def store_decided(owner: Any, site: NewSite, rows: Sequence[dict[str, Any]]) -> list[str]:
    """Comments with given status (default held), scores, reasons and age (``age``, minutes),
    as the pipeline would leave them, without a model."""
    state = state_of(owner)
    now = utcnow()
    ids = []
    with session_scope(state.sessions) as session:
        for row in rows:
            email = row.get("email")
            comment = Comment(
                id=new_id(),
                site_id=site.site.id,
                external_id=row.get("external_id") or uuid.uuid4().hex,
                status=row.get("status", "held"),
                content=row.get("content", f"Comment {row.get('external_id')}"),
                author_name=row.get("author"),
                post_id=row.get("post_id"),
                author_email=email,
                author_email_hash=(
                    hash_identifier(email, state.settings.identifier_key) if email else None
                ),
                author_ip=row.get("ip"),
                received_at=now - timedelta(minutes=row.get("age", 0)),
                scores=row.get(
                    "scores", {"spam": row.get("spam", 0.0), "toxicity": row.get("toxicity", 0.0)}
                ),
                reasons=row.get("reasons", [{"code": "spam_score", "message": "held"}]),
                action=row.get("action", "hold"),
                decided_by="model",
                model_version="v-test",
            )
            session.add(comment)
            ids.append(comment.id)
    return ids


class ConstantModel:
    """Scores every comment the same; thresholds as a calibrated model would carry them."""

    version = "constant-1"
    thresholds = {
        "spam": {"approve_below": 0.5, "reject_at": 0.95},
        "toxicity": {"approve_below": 0.5, "reject_at": 0.95},
    }

    def __init__(self, spam: float = 0.05, toxicity: float = 0.01) -> None:
        self.spam, self.toxicity = spam, toxicity

    def score(self, comments: Sequence[Any]) -> list[Scores]:
        return [Scores(spam=self.spam, toxicity=self.toxicity) for _ in comments]


def store_and_decide(
    owner: Any, site: NewSite, content: str, spam: float = 0.05, **author: str
) -> Comment:
    """A comment stored as the API does, then decided in-process by a model that gives it
    ``spam``; returns the decided row."""
    comment_id = store_comment(owner, site, content, **author)
    decide_pending(sessions_of(owner), [comment_id], ConstantModel(spam))
    with session_scope(sessions_of(owner)) as session:
        return session.get_one(Comment, comment_id)


def rows_of(owner: Any, model: type, *where: Any) -> list[Any]:
    """The rows of ``model`` that match ``where``, detached (their columns stay readable)."""
    with sessions_of(owner)() as session:
        return list(session.scalars(select(model).where(*where)))


def count_rows(owner: Any, model: type, *where: Any) -> int:
    with sessions_of(owner)() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def site_comments(owner: Any, site: NewSite) -> list[Comment]:
    return rows_of(owner, Comment, Comment.site_id == site.site.id)


def reason_codes(comment: Comment) -> list[str]:
    return [r["code"] for r in comment.reasons or []]


# --- comments sent to the API ----------------------------------------------------------------


def submit(client: Any, site: NewSite, external_id: str, content: str = THOUGHTFUL, **extra: Any):
    """POST a comment to ``/v1/comments`` with the site's API key; the response."""
    body = {"external_id": external_id, "content": content, **extra}
    return client.post("/v1/comments", json=body, headers=bearer(site.api_key))
