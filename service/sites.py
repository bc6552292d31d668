"""Tenants: creation, API-key authentication and key rotation."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, or_, select
from sqlalchemy.orm import Session

from service.errors import ConflictError, NotFoundError, ValidationError
from service.models import AuditEntry, Site, utcnow
from service.security import (
    hash_akismet_key,
    hash_token,
    is_akismet_key,
    new_akismet_key,
    new_api_key,
    new_webhook_secret,
    token_matches,
)
from service.urls import validate_webhook_url


@dataclass(frozen=True)
class NewSite:
    """A site as created: the only moment its API key is known in clear."""

    site: Site
    api_key: str
    akismet_key: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "id": self.site.id,
            "name": self.site.name,
            "api_key": self.api_key,
            "akismet_key": self.akismet_key,
            "webhook_secret": self.site.webhook_secret,
            "webhook_url": self.site.webhook_url,
        }


def create_site(
    session: Session,
    name: str,
    webhook_url: str,
    *,
    allow_private: bool,
    secret_key: str | None = None,
) -> NewSite:
    """A new site and its keys; with the installation's ``secret_key`` also an Akismet key
    (without it the site gets one later, from ``rotate_akismet_key``)."""
    name = name.strip()
    if not name:
        raise ValidationError("Site name must not be empty.")
    validate_webhook_url(webhook_url, allow_private=allow_private)
    if session.scalar(select(Site.id).where(Site.name == name)):
        raise ConflictError(f"A site named {name!r} already exists.")
    api_key = new_api_key()
    site = Site(
        name=name,
        api_key_hash=hash_token(api_key),
        webhook_url=webhook_url,
        webhook_secret=new_webhook_secret(),
        policy={},
    )
    akismet_key = None
    if secret_key is not None:
        akismet_key = new_akismet_key()
        site.akismet_key_hash = hash_akismet_key(akismet_key, secret_key)
    session.add(site)
    session.flush()
    return NewSite(site=site, api_key=api_key, akismet_key=akismet_key)


def site_by_name(session: Session, name: str) -> Site:
    site = session.scalar(select(Site).where(Site.name == name))
    if site is None:
        raise NotFoundError(f"No site named {name!r}.")
    return site


@cache
def _by_key_hash() -> Select[Site]:
    """Built once: every authenticated request runs it."""
    digest: BindParameter[str] = bindparam("digest")
    return select(Site).where(
        or_(Site.api_key_hash == digest, Site.previous_api_key_hash == digest)
    )


def authenticate_site(
    session: Session, api_key: str, *, secret_key: str | None = None
) -> Site | None:
    """The site whose current (or still valid previous) key this is, else None; given the
    installation's ``secret_key``, a site's 12-hex Akismet key is accepted too."""
    if not api_key:
        return None
    if secret_key is not None and is_akismet_key(api_key):
        return _by_akismet_key(session, api_key, secret_key)
    site = session.scalar(_by_key_hash(), {"digest": hash_token(api_key)})
    if site is None:
        return None
    if token_matches(api_key, site.api_key_hash):
        return site
    expires = site.previous_api_key_expires_at
    if token_matches(api_key, site.previous_api_key_hash) and expires and expires > utcnow():
        return site
    return None


@cache
def _by_akismet_hash() -> Select[Site]:
    digest: BindParameter[str] = bindparam("digest")
    return select(Site).where(
        or_(Site.akismet_key_hash == digest, Site.previous_akismet_key_hash == digest)
    )


def _by_akismet_key(session: Session, key: str, secret_key: str) -> Site | None:
    digest = hash_akismet_key(key, secret_key)
    site = session.scalar(_by_akismet_hash(), {"digest": digest})
    if site is None:
        return None
    if hmac.compare_digest(digest, site.akismet_key_hash or ""):
        return site
    expires = site.previous_akismet_key_expires_at
    if expires and expires > utcnow():
        return site
    return None


def rotate_akismet_key(site: Site, secret_key: str, overlap: timedelta) -> str:
    """A new Akismet key; the old one (if any) works for ``overlap`` more."""
    akismet_key = new_akismet_key()
    if site.akismet_key_hash:
        site.previous_akismet_key_hash = site.akismet_key_hash
        site.previous_akismet_key_expires_at = utcnow() + overlap
    site.akismet_key_hash = hash_akismet_key(akismet_key, secret_key)
    return akismet_key


def rotate_api_key(session: Session, site: Site, overlap: timedelta) -> str:
    """A new key; the old one works for ``overlap`` more, so platforms switch without downtime."""
    api_key = new_api_key()
    site.previous_api_key_hash = site.api_key_hash
    site.previous_api_key_expires_at = utcnow() + overlap
    site.api_key_hash = hash_token(api_key)
    return api_key


def set_webhook_url(session: Session, site: Site, webhook_url: str) -> list[str]:
    """Point the site's webhooks at a new URL (validated by the caller). A new endpoint starts
    healthy: a disabled site is enabled, and its kept events are returned, to send."""
    from service.endpoint_health import enable

    previous = site.webhook_url
    site.webhook_url = webhook_url
    return enable(session, site, utcnow(), why=f"webhook URL changed from {previous}")


def rotate_webhook_secret(site: Site, overlap: timedelta) -> str:
    """A new signing secret; for ``overlap`` more, webhooks are signed with the old one too, so
    a platform verifies them whichever secret it holds while it switches. A rotation during an
    overlap ends the earlier one: only the secret in use until now stays valid."""
    previous = site.webhook_secret
    site.webhook_secret = new_webhook_secret()
    if overlap > timedelta(0):
        site.previous_webhook_secret = previous
        site.previous_webhook_secret_expires_at = utcnow() + overlap
    else:
        site.previous_webhook_secret = None
        site.previous_webhook_secret_expires_at = None
    return site.webhook_secret


def overlapping_secret(
    previous: str | None, expires_at: datetime | None, now: datetime
) -> str | None:
    """The previous secret while its overlap lasts, else None."""
    if previous and expires_at is not None and expires_at > now:
        return previous
    return None


def set_policy(
    session: Session,
    site: Site,
    stored: dict[str, Any],
    *,
    moderator_id: str | None = None,
    change: Mapping[str, Any] | None = None,
) -> None:
    """Replace the site's policy overrides (validated by the caller); the change is audited,
    with what prompted it when a command derived the policy (``change``)."""
    site.policy = stored
    details: dict[str, Any] = {"policy": stored}
    if change:
        details["change"] = dict(change)
    session.add(
        AuditEntry(
            site_id=site.id,
            moderator_id=moderator_id,
            action="policy.update",
            details=details,
        )
    )
