"""Floods and copies: the same or nearly the same text posted many times, on any post or site.

Both signals start from the project's normalized text (``classifier.normalize_text``), so case,
spacing, punctuation, look-alike letters and leetspeak do not make a copy look new:

* **Exact copies** share a *fingerprint*, a 128-bit hash of the squashed text stored with each
  comment when it is inserted (one hash on the ingest path) and found through the
  ``(fingerprint, received_at)`` index.
* **Near copies** (a few words changed, added or swapped) are found by MinHash with
  locality-sensitive hashing: 40 hashes of the text's character 5-grams, grouped in 10 bands
  of 4. Texts whose 5-grams have a Jaccard similarity of 0.6 share a band with a probability
  of 75% (0.7: 94%, 0.8: 99.5%); unrelated comments (0.01-0.05) about once in 10^5 pairs. A
  comment's bands are stored when it is decided, not on the ingest path. A candidate sharing
  ``SURE_BANDS`` bands is a near copy (below a similarity of 0.3 that happens less than once in
  10^4); one sharing fewer counts when its exact similarity reaches ``NEAR_JACCARD``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, cached_property
from typing import Any

import numpy as np
from sqlalchemy import (
    JSON,
    BindParameter,
    Connection,
    String,
    any_,
    bindparam,
    case,
    delete,
    func,
    inspect,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from classifier import normalize_text, squash_text
from service.db import rowcount
from service.models import Comment, CommentBand, utcnow

SHINGLE_CHARS = 5
ROWS, BANDS = 4, 10
NEAR_JACCARD = 0.6
SURE_BANDS = 3
SIGNATURE_MIN_CHARS = 20
MAX_TEXT_CHARS = 4000
COPY_LIMIT = 50
_WORD = re.compile(r"[^\W_]+")
_SEEDS = np.random.default_rng(20261127).integers(0, 2**63, size=(2, ROWS * BANDS), dtype=np.uint64)
_MULTIPLIERS = _SEEDS[0] * np.uint64(2) + np.uint64(1)  # odd: multiply-shift hashing
_OFFSETS = _SEEDS[1]
_POWERS = np.uint64(0x100000001B3) ** np.arange(SHINGLE_CHARS, dtype=np.uint64)


def fingerprint(content: str) -> str | None:
    """The hash of the squashed text: equal for copies that differ in case, spacing or symbols."""
    basis = squash_text(content) or " ".join(normalize_text(content).split())
    if not basis:
        return None
    return hashlib.blake2b(basis.encode("utf-8"), digest_size=16).hexdigest()


@dataclass(frozen=True)
class Signature:
    """What the flood rule compares: the squashed length, the normalized text and its LSH bands.

    The shingles themselves are only needed to confirm an uncertain near copy, so they are
    built on first use."""

    length: int
    text: str
    bands: tuple[str, ...]

    @cached_property
    def shingles(self) -> frozenset[str]:
        return _shingles(self.text)


def signature(content: str) -> Signature:
    text = _words(content)
    length = len(text) - text.count(" ")
    if length < SIGNATURE_MIN_CHARS:
        return Signature(length, text, ())
    return Signature(length, text, _bands(_shingle_hashes(text)))


def shingles_of(content: str) -> frozenset[str]:
    return _shingles(_words(content))


def _words(content: str) -> str:
    return " ".join(_WORD.findall(normalize_text(content[:MAX_TEXT_CHARS])))


def _shingles(text: str) -> frozenset[str]:
    """Character 5-grams of the normalized words: a changed word changes few of them, and
    unrelated texts share fewer of them than 4-grams ("the ", "ing ")."""
    return frozenset(text[i : i + SHINGLE_CHARS] for i in range(len(text) - SHINGLE_CHARS + 1))


def _shingle_hashes(text: str) -> np.ndarray:
    """A 64-bit hash of each of the text's 5-grams, all windows at once: a polynomial over the
    code points (numpy's uint64 arithmetic wraps, i.e. works mod 2**64). Repeated 5-grams
    repeat their hash, which leaves every minimum, and so the MinHash, unchanged."""
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    count = len(points) - SHINGLE_CHARS + 1
    hashed = points[:count].copy()
    for offset in range(1, SHINGLE_CHARS):
        hashed += points[offset : offset + count] * _POWERS[offset]
    return hashed


def _bands(hashed: np.ndarray) -> tuple[str, ...]:
    """MinHash the shingle hashes, then hash each band of ``ROWS`` minima to a short key."""
    minima = ((hashed[:, None] * _MULTIPLIERS + _OFFSETS) >> np.uint64(32)).min(axis=0)
    raw = minima.astype(">u4").tobytes()
    size = ROWS * 4
    return tuple(
        f"{band}{hashlib.blake2b(raw[band * size : (band + 1) * size], digest_size=6).hexdigest()}"
        for band in range(BANDS)
    )


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


@dataclass(frozen=True)
class Copies:
    """Earlier copies of a text: on every site (what the flood rule decides on), and on the
    comment's own site (the only count its site may be shown)."""

    total: int = 0
    here: int = 0


@cache
def copy_columns(dialect: str) -> tuple[Any, Any, Any]:
    """Exact copies (counted: all, and the site's own among them) and near-copy candidates
    (ids, one per band shared) as scalar subqueries, to be selected with other history (built
    once per dialect).

    PostgreSQL gets the bands as one array parameter (``= ANY``), so the statement's text is
    the same whatever the number of bands and stays prepared on the server."""
    comments, bands = Comment.__table__.c, CommentBand.__table__.c
    since: BindParameter[datetime] = bindparam("flood_since")
    until: BindParameter[datetime] = bindparam("until")
    here: BindParameter[str] = bindparam("flood_site")
    exact = (
        select(case((comments.site_id == here, 1), else_=0).label("here"))
        .where(
            comments.fingerprint == bindparam("fingerprint"),
            comments.received_at >= since,
            comments.received_at < until,
        )
        .limit(COPY_LIMIT)
        .subquery()
    )
    exact_count = select(func.count()).select_from(exact).scalar_subquery()
    exact_here = select(func.coalesce(func.sum(exact.c.here), 0)).scalar_subquery()
    # A LIMIT of 0 once the exact copies suffice: both databases then skip the near scan
    # (a WHERE condition would be checked row by row by SQLite over a whole flood).
    enough_exact = case((exact_count < bindparam("copies"), BANDS * COPY_LIMIT), else_=0)
    if dialect == "postgresql":
        in_bands = bands.band == any_(bindparam("bands", type_=postgresql.ARRAY(String)))
        pair, gather = func.json_build_array, func.json_agg
    else:
        in_bands = bands.band.in_(bindparam("bands", expanding=True))
        pair, gather = func.json_array, func.json_group_array
    matches = (
        select(bands.comment_id)
        .where(in_bands, bands.received_at >= since, bands.received_at < until)
        .limit(enough_exact)
        .subquery()
    )
    shared = func.count().label("shared")
    ranked = (
        select(matches.c.comment_id, shared)
        .group_by(matches.c.comment_id)
        .order_by(shared.desc())
        .limit(COPY_LIMIT)
        .subquery()
    )
    # Exact copies are counted above; a candidate's text is only needed to confirm it.
    candidate = Comment.__table__.alias("candidate")
    text = case((ranked.c.shared < literal_column(str(SURE_BANDS)), candidate.c.content))
    on_site = case((candidate.c.site_id == here, 1), else_=0)
    candidates = (
        select(gather(pair(ranked.c.shared, text, on_site), type_=JSON))
        .select_from(ranked.join(candidate, candidate.c.id == ranked.c.comment_id))
        .where(
            or_(
                candidate.c.fingerprint.is_(None),
                candidate.c.fingerprint != bindparam("fingerprint"),
            )
        )
        .correlate(None)
        .scalar_subquery()
    )
    return exact_count.label("exact"), exact_here.label("exact_here"), candidates.label("near")


def copy_params(comment: Comment, sign: Signature, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters of :func:`copy_columns`; they match nothing when the site does not count."""
    flood = settings["flood"]
    counting = flood["enabled"] and sign.length >= flood["min_chars"]
    until = comment.received_at or utcnow()
    return {
        "fingerprint": (comment.fingerprint or fingerprint(comment.content)) if counting else None,
        "flood_site": comment.site_id,
        "flood_since": until - timedelta(seconds=flood["window_seconds"]),
        "until": until,
        "bands": list(sign.bands) if counting and flood["near_duplicates"] else [],
        "copies": flood["copies"],
    }


def count_copies(row: Mapping[Any, Any], sign: Signature, settings: Mapping[str, Any]) -> Copies:
    """Earlier copies of the text from a :func:`copy_columns` row: the exact ones, plus near
    candidates confirmed (the site's own, then most bands shared first) until the flood
    threshold is reached."""
    exact, near = int(row["exact"] or 0), row["near"]
    here = int(row["exact_here"] or 0)
    enough = settings["flood"]["copies"] - exact
    if enough <= 0 or not near:
        return Copies(exact, here)
    # The site's own first: whether the threshold is reached does not depend on the order, and
    # the site's own count (the one it is shown) is then as complete as the search allows.
    candidates = sorted(
        ((int(shared), text, bool(on_site)) for shared, text, on_site in near),
        key=lambda c: (not c[2], -c[0]),
    )
    confirmed = _confirmed(sign, candidates, enough)
    return Copies(exact + len(confirmed), here + sum(confirmed))


@cache
def remembered_column() -> Any:
    """PostgreSQL only: the band insert as a data-modifying CTE, counted in a scalar subquery so
    it runs within the history statement (one round trip). The statement's other parts read
    the snapshot taken before it, so a comment never finds its own bands."""
    values = select(
        bindparam("remember_id", type_=String),
        func.unnest(bindparam("remember_bands", type_=postgresql.ARRAY(String))),
        bindparam("until"),
    )
    table = CommentBand.__table__
    stored = (
        postgresql.insert(table)
        .from_select([table.c.comment_id, table.c.band, table.c.received_at], values)
        .on_conflict_do_nothing()
        .returning(table.c.band)
        .cte("remembered")
    )
    return select(func.count()).select_from(stored).scalar_subquery().label("remembered")


def remember_params(comment: Comment, sign: Signature) -> dict[str, Any]:
    """Parameters of :func:`remembered_column`: no bands for a comment that is not stored."""
    stored = bool(sign.bands) and inspect(comment).persistent
    return {"remember_id": comment.id, "remember_bands": list(sign.bands) if stored else []}


def remember(connection: Connection, comment: Comment, sign: Signature) -> None:
    """Store a stored comment's bands so later near copies find it (idempotent)."""
    if not sign.bands or not inspect(comment).persistent:
        return
    received_at = comment.received_at or utcnow()
    rows = [
        {"comment_id": comment.id, "band": band, "received_at": received_at} for band in sign.bands
    ]
    connection.execute(_remember_statement(connection.dialect.name), rows)


@cache
def _remember_statement(dialect: str) -> Any:
    """Built once, run as an executemany: a multi-row VALUES statement cannot be cached and
    would be compiled on every call."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(CommentBand.__table__).on_conflict_do_nothing()


def _confirmed(
    sign: Signature, candidates: list[tuple[int, str | None, bool]], enough: int
) -> list[bool]:
    """The (bands shared, text, on the site) candidates that are near copies, in their order,
    stopping at ``enough``: whether each is on the comment's site. Only those sharing
    fewer than ``SURE_BANDS`` bands have their text compared (once per distinct text: the
    candidates of a flood are often copies of each other)."""
    confirmed: list[bool] = []
    similar: dict[str, bool] = {}
    for bands_shared, text, on_site in candidates:
        if bands_shared < SURE_BANDS:
            if text is None:
                continue
            if text not in similar:
                similar[text] = jaccard(sign.shingles, shingles_of(text)) >= NEAR_JACCARD
            if not similar[text]:
                continue
        confirmed.append(on_site)
        if len(confirmed) >= enough:
            break
    return confirmed


MAX_WINDOW = timedelta(days=30)


def prune_bands(session: Session, now: datetime) -> int:
    """Forget the bands of comments older than the longest flood window a policy may set."""
    result = session.execute(
        delete(CommentBand)
        .where(CommentBand.received_at < now - MAX_WINDOW)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) or 0
