"""Moderator accounts: per site, role ``moderator`` or ``admin``, token stored only as a hash."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.errors import ConflictError, NotFoundError, ValidationError
from service.models import Moderator, Site, utcnow
from service.security import hash_token, new_moderator_token, token_matches

ROLES = ("moderator", "admin")


@dataclass(frozen=True)
class NewModerator:
    moderator: Moderator
    token: str

    def as_dict(self) -> dict[str, str]:
        return {
            "id": self.moderator.id,
            "email": self.moderator.email,
            "role": self.moderator.role,
            "site": self.moderator.site_id,
            "token": self.token,
        }


def create_moderator(session: Session, site: Site, email: str, role: str) -> NewModerator:
    email = email.strip().lower()
    if "@" not in email:
        raise ValidationError("A moderator is identified by an e-mail address.")
    if role not in ROLES:
        raise ValidationError(f"Role must be one of {', '.join(ROLES)}.")
    exists = session.scalar(
        select(Moderator.id).where(Moderator.site_id == site.id, Moderator.email == email)
    )
    if exists:
        raise ConflictError(f"{email} is already a moderator of {site.name}.")
    token = new_moderator_token()
    moderator = Moderator(site_id=site.id, email=email, role=role, token_hash=hash_token(token))
    session.add(moderator)
    session.flush()
    return NewModerator(moderator=moderator, token=token)


def authenticate_moderator(session: Session, token: str) -> Moderator | None:
    """The active moderator holding ``token``, else None (revoked tokens stop working at once)."""
    if not token:
        return None
    moderator = session.scalar(select(Moderator).where(Moderator.token_hash == hash_token(token)))
    if moderator is None or moderator.revoked_at is not None:
        return None
    return moderator if token_matches(token, moderator.token_hash) else None


def list_moderators(session: Session, site: Site | None = None) -> list[Moderator]:
    query = select(Moderator).order_by(Moderator.created_at)
    if site is not None:
        query = query.where(Moderator.site_id == site.id)
    return list(session.scalars(query))


def revoke_moderator(session: Session, site: Site, email: str) -> Moderator:
    moderator = session.scalar(
        select(Moderator).where(Moderator.site_id == site.id, Moderator.email == email.lower())
    )
    if moderator is None:
        raise NotFoundError(f"{email} is not a moderator of {site.name}.")
    moderator.revoked_at = utcnow()
    end_page_sessions(session, moderator.id)
    return moderator


def end_page_sessions(session: Session, moderator_id: str) -> None:
    """End every page session the moderator signed in to, and every copy of its cookie: the
    sessions carry the generation they began under, and it moves on (in the database, so a
    concurrent sign-in or sign-out is not lost)."""
    session.execute(
        update(Moderator)
        .where(Moderator.id == moderator_id)
        .values(session_generation=Moderator.session_generation + 1)
        .execution_options(synchronize_session="fetch")
    )
