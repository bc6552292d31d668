"""Storing a comment once per (site, external_id), its hashed identifiers, and finding it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.comments import comment_row, get_comment, insert_comment, mark_enqueued
from service.decisions.floods import fingerprint
from service.errors import NotFoundError
from service.models import Comment, Site, utcnow
from service.security import hash_identifier
from tests.support.domain import Domain
from tests.support.stored import new_site

KEY = b"identifier-key"
SUBMISSION = {
    "external_id": "wp-1",
    "content": "Thanks for the   WALK, lovely!",
    "post": {"id": "17", "url": "https://blog.example/17", "title": "On walks"},
    "author": {"name": "Ann", "email": "ann@example.org", "ip": "203.0.113.7"},
    "metadata": {"honeypot": ""},
}


def count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Comment))


def test_a_row_keeps_the_submission_and_always_hashes_the_email(site: Site) -> None:
    row = comment_row(site, SUBMISSION, identifier_key=KEY)
    assert (row["site_id"], row["external_id"], row["status"]) == (site.id, "wp-1", "pending")
    assert (row["post_id"], row["post_title"], row["author_name"]) == ("17", "On walks", "Ann")
    assert row["author_email"] == "ann@example.org"
    assert row["author_email_hash"] == hash_identifier("ann@example.org", KEY)
    assert row["author_ip"] == "203.0.113.7"
    assert row["extra"] == {"honeypot": ""} and row["source"] == "api"
    assert row["fingerprint"] == fingerprint("thanks for the walk lovely")
    assert row["received_at"] == row["enqueued_at"]


def test_with_hash_pii_neither_the_email_nor_the_ip_is_kept_in_clear(site: Site) -> None:
    row = comment_row(site, SUBMISSION, identifier_key=KEY, hash_pii=True)
    hashed = hash_identifier("ann@example.org", KEY)
    assert row["author_email"] == row["author_email_hash"] == hashed
    assert row["author_ip"] == hash_identifier("203.0.113.7", KEY)
    assert "ann@example.org" not in row.values() and "203.0.113.7" not in row.values()


def test_an_anonymous_comment_has_no_identifiers(site: Site) -> None:
    row = comment_row(site, {"external_id": "x", "content": "Hi"}, identifier_key=KEY)
    assert row["author_email"] is row["author_email_hash"] is row["author_ip"] is None
    assert row["extra"] == {} and row["post_id"] is None


def test_the_same_external_id_is_stored_once_per_site(
    domain: Domain, db: Session, site: Site
) -> None:
    other = db.get_one(Site, new_site(domain).site.id)
    first, created = insert_comment(db, comment_row(site, SUBMISSION, identifier_key=KEY))
    again, created_again = insert_comment(db, comment_row(site, SUBMISSION, identifier_key=KEY))
    assert created and not created_again and again == first
    elsewhere, created_elsewhere = insert_comment(
        db, comment_row(other, SUBMISSION, identifier_key=KEY)
    )
    assert created_elsewhere and elsewhere != first
    assert count(db) == 2
    assert db.get_one(Comment, first).extra == {"honeypot": ""}


def test_another_sites_comment_is_not_found(domain: Domain, db: Session, site: Site) -> None:
    other = db.get_one(Site, new_site(domain).site.id)
    comment_id, _ = insert_comment(db, comment_row(site, SUBMISSION, identifier_key=KEY))
    assert get_comment(db, site, comment_id).id == comment_id
    with pytest.raises(NotFoundError):
        get_comment(db, other, comment_id)
    with pytest.raises(NotFoundError):
        get_comment(db, site, "no-such-comment")


def test_marking_enqueued_stamps_only_the_comments_named(db: Session, site: Site) -> None:
    rows = [comment_row(site, {**SUBMISSION, "external_id": n}, identifier_key=KEY) for n in "ab"]
    ids = [insert_comment(db, row)[0] for row in rows]
    later = utcnow() + timedelta(minutes=5)
    mark_enqueued(db, [ids[0]], later)
    db.flush()
    db.expire_all()
    assert db.get_one(Comment, ids[0]).enqueued_at == later
    assert db.get_one(Comment, ids[1]).enqueued_at < later
