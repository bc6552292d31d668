"""Counting earlier copies of a text: exact ones by fingerprint, near ones by shared bands
confirmed by similarity, the site's own first; bands remembered once and pruned when too old.
(Fingerprints and signatures themselves: test_policy_rules.py.)"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.decisions import floods
from service.decisions.floods import (
    MAX_WINDOW,
    SURE_BANDS,
    copy_params,
    count_copies,
    prune_bands,
    remember,
    signature,
)
from service.decisions.history import history_of
from service.decisions.policy import resolve
from service.models import Comment, CommentBand, utcnow
from tests.support.domain import Domain
from tests.support.stored import new_site, store_and_decide, store_comment

TEXT = "Amazing deals on replica watches in our shop today, the best prices guaranteed!"
NEAR = "Amazing deals on replica watches in our shop today, best prices guaranteed!!"
OTHER = "I walked the harbour path at dawn and the light on the water was unforgettable."
SETTINGS = resolve({})


def row(exact: int = 0, here: int = 0, near: list | None = None) -> dict:
    return {"exact": exact, "exact_here": here, "near": near}


def test_exact_copies_alone_can_reach_the_threshold() -> None:
    sign = signature(TEXT)
    assert count_copies(row(3, 1, [[10, OTHER, 1]]), sign, SETTINGS) == floods.Copies(3, 1)
    assert count_copies(row(1, 1), sign, SETTINGS) == floods.Copies(1, 1)


def test_near_candidates_count_when_sure_or_similar_enough() -> None:
    sign = signature(TEXT)
    candidates = [
        [SURE_BANDS, None, 0],  # sure by its bands: its text is not even fetched
        [1, NEAR, 1],  # few bands, but similar text: confirmed
        [1, OTHER, 1],  # a chance band: not a copy
    ]
    assert count_copies(row(0, 0, candidates), sign, SETTINGS) == floods.Copies(2, 1)


def test_the_sites_own_near_copies_are_counted_first_until_the_threshold() -> None:
    sign = signature(TEXT)
    candidates = [[SURE_BANDS + 2, None, 0]] * 3 + [[SURE_BANDS, None, 1]] * 3
    copies = count_copies(row(1, 0, candidates), sign, SETTINGS)
    assert copies == floods.Copies(SETTINGS["flood"]["copies"], 2)


def test_a_site_that_does_not_count_floods_matches_nothing() -> None:
    comment = Comment(id="c", site_id="s", content=TEXT, received_at=utcnow())
    counting = copy_params(comment, signature(TEXT), SETTINGS)
    assert counting["fingerprint"] == floods.fingerprint(TEXT) and len(counting["bands"]) == 10
    off = copy_params(comment, signature(TEXT), resolve({"flood": {"enabled": False}}))
    assert off["fingerprint"] is None and off["bands"] == []
    exact_only = copy_params(
        comment, signature(TEXT), resolve({"flood": {"near_duplicates": False}})
    )
    assert exact_only["fingerprint"] is not None and exact_only["bands"] == []
    window = counting["until"] - counting["flood_since"]
    assert window == timedelta(seconds=SETTINGS["flood"]["window_seconds"])


def history(domain: Domain, comment_id: str) -> tuple[int, int]:
    with domain.sessions() as session:
        comment = session.get_one(Comment, comment_id)
        found = history_of(session, comment, SETTINGS, signature(comment.content))
        return found.copies, found.copies_here


def test_copies_on_every_site_count_and_the_sites_own_are_told_apart(domain: Domain) -> None:
    here, there = new_site(domain), new_site(domain)
    store_and_decide(domain, there, TEXT)
    store_and_decide(domain, here, TEXT.upper())
    store_and_decide(domain, there, NEAR)
    store_and_decide(domain, here, OTHER)
    assert history(domain, store_comment(domain, here, TEXT)) == (3, 1)
    assert history(domain, store_comment(domain, there, OTHER)) == (1, 0)


def test_the_fourth_copy_is_held_as_a_repeat_post(domain: Domain) -> None:
    site = new_site(domain)
    decided = [store_and_decide(domain, site, TEXT) for _ in range(4)]
    assert [c.status for c in decided] == ["approved"] * 3 + ["held"]
    assert decided[-1].reasons[0]["code"] == "repeat_post"


def bands(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(CommentBand))


def test_bands_are_remembered_once_and_pruned_after_the_longest_window(
    domain: Domain, db: Session
) -> None:
    site = new_site(domain)
    comment = db.get_one(Comment, store_comment(domain, site, TEXT))
    sign = signature(TEXT)
    remember(db.connection(), comment, sign)
    remember(db.connection(), comment, sign)
    assert bands(db) == len(sign.bands)
    remember(db.connection(), Comment(id="unsaved", content=TEXT), sign)  # not stored: no bands
    assert bands(db) == len(sign.bands)
    assert prune_bands(db, utcnow() + MAX_WINDOW - timedelta(minutes=1)) == 0
    assert prune_bands(db, utcnow() + MAX_WINDOW + timedelta(minutes=1)) == len(sign.bands)
    assert bands(db) == 0
