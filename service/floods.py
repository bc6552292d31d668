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
import zlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import numpy as np
from sqlalchemy import Connection, bindparam, case, delete, func, inspect, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from classifier import normalize_text, squash_text
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


def fingerprint(content: str) -> str | None:
    """The hash of the squashed text: equal for copies that differ in case, spacing or symbols."""
    basis = squash_text(content) or " ".join(normalize_text(content).split())
    if not basis:
        return None
    return hashlib.blake2b(basis.encode("utf-8"), digest_size=16).hexdigest()


@dataclass(frozen=True)
class Signature:
    """What the flood rule compares: the squashed length, the shingles and their LSH bands."""

    length: int
    shingles: frozenset[str]
    bands: tuple[str, ...]


def signature(content: str) -> Signature:
    words = _WORD.findall(normalize_text(content[:MAX_TEXT_CHARS]))
    length = sum(len(w) for w in words)
    grams = _shingles(words) if length >= SIGNATURE_MIN_CHARS else frozenset()
    return Signature(length, grams, _bands(grams) if grams else ())


def shingles_of(content: str) -> frozenset[str]:
    return _shingles(_WORD.findall(normalize_text(content[:MAX_TEXT_CHARS])))


def _shingles(words: list[str]) -> frozenset[str]:
    """Character 5-grams of the normalized words: a changed word changes few of them, and
    unrelated texts share fewer of them than 4-grams ("the ", "ing ")."""
    text = " ".join(words)
    return frozenset(text[i : i + SHINGLE_CHARS] for i in range(len(text) - SHINGLE_CHARS + 1))


def _bands(grams: frozenset[str]) -> tuple[str, ...]:
    """MinHash the shingles, then hash each band of ``ROWS`` minima to a short key."""
    hashed = np.fromiter((zlib.crc32(g.encode("utf-8")) for g in grams), np.uint64, len(grams))
    minima = ((hashed[:, None] * _MULTIPLIERS + _OFFSETS) >> np.uint64(32)).min(axis=0)
    raw = minima.astype(">u4").tobytes()
    size = ROWS * 4
    return tuple(
        f"{band}{hashlib.blake2b(raw[band * size : (band + 1) * size], digest_size=6).hexdigest()}"
        for band in range(BANDS)
    )


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


@cache
def copy_columns() -> tuple[Any, Any]:
    """Exact copies (counted) and near-copy candidates (ids, one per band shared) as two scalar
    subqueries, to be selected with other history (built once)."""
    comments, bands = Comment.__table__.c, CommentBand.__table__.c
    since, until = bindparam("flood_since"), bindparam("until")
    exact = (
        select(literal(1))
        .where(
            comments.fingerprint == bindparam("fingerprint"),
            comments.received_at >= since,
            comments.received_at < until,
        )
        .limit(COPY_LIMIT)
        .subquery()
    )
    exact_count = select(func.count()).select_from(exact).scalar_subquery()
    # A LIMIT of 0 once the exact copies suffice: both databases then skip the near scan
    # (a WHERE condition would be checked row by row by SQLite over a whole flood).
    enough_exact = case((exact_count < bindparam("copies"), BANDS * COPY_LIMIT), else_=0)
    near = (
        select(bands.comment_id)
        .where(
            bands.band.in_(bindparam("bands", expanding=True)),
            bands.received_at >= since,
            bands.received_at < until,
        )
        .limit(enough_exact)
        .subquery()
    )
    candidates = select(func.aggregate_strings(near.c.comment_id, ",")).scalar_subquery()
    return exact_count.label("exact"), candidates.label("near")


def copy_params(comment: Comment, sign: Signature, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters of :func:`copy_columns`; they match nothing when the site does not count."""
    flood = settings["flood"]
    counting = flood["enabled"] and sign.length >= flood["min_chars"]
    until = comment.received_at or utcnow()
    return {
        "fingerprint": (comment.fingerprint or fingerprint(comment.content)) if counting else None,
        "flood_since": until - timedelta(seconds=flood["window_seconds"]),
        "until": until,
        "bands": list(sign.bands) if counting and flood["near_duplicates"] else [],
        "copies": flood["copies"],
    }


def count_copies(
    connection: Connection,
    row: Mapping[str, Any],
    comment: Comment,
    sign: Signature,
    settings: Mapping[str, Any],
) -> int:
    """Earlier copies of the text from a :func:`copy_columns` row: the exact ones, plus near
    candidates confirmed (most bands shared first) until the flood threshold is reached."""
    exact, near = int(row["exact"] or 0), row["near"]
    enough = settings["flood"]["copies"] - exact
    if enough <= 0 or not near:
        return exact
    shared = Counter(near.split(","))  # candidate -> bands it shares with this comment
    ids = [comment_id for comment_id, _ in shared.most_common(COPY_LIMIT)]
    key = comment.fingerprint or fingerprint(comment.content)
    statement = _statements(connection.dialect.name)["texts"]
    texts = dict(connection.execute(statement, {"ids": ids, "key": key}).all())
    candidates = [(shared[i], texts[i]) for i in ids if i in texts]  # exact copies left out
    return exact + _confirmed(sign, candidates, enough)


def remember(connection: Connection, comment: Comment, sign: Signature) -> None:
    """Store a stored comment's bands so later near copies find it (idempotent)."""
    if not sign.bands or not inspect(comment).persistent:
        return
    received_at = comment.received_at or utcnow()
    rows = [
        {"comment_id": comment.id, "band": band, "received_at": received_at} for band in sign.bands
    ]
    connection.execute(_statements(connection.dialect.name)["remember"], rows)


@cache
def _statements(dialect: str) -> dict[str, Any]:
    """Built once: the candidates' texts, and the band insert (run as an executemany: a
    multi-row VALUES statement cannot be cached and would be compiled on every call)."""
    comments = Comment.__table__.c
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return {
        "remember": insert(CommentBand.__table__).on_conflict_do_nothing(),
        "texts": select(comments.id, comments.content).where(
            comments.id.in_(bindparam("ids", expanding=True)),
            or_(comments.fingerprint.is_(None), comments.fingerprint != bindparam("key")),
        ),
    }


def _confirmed(sign: Signature, candidates: list[tuple[int, str]], enough: int) -> int:
    """How many (bands shared, text) candidates are near copies, most shared first, stopping at
    ``enough``; only those sharing fewer than ``SURE_BANDS`` bands have their text compared."""
    count = 0
    for bands_shared, text in candidates:
        if bands_shared >= SURE_BANDS or jaccard(sign.shingles, shingles_of(text)) >= NEAR_JACCARD:
            count += 1
            if count >= enough:
                break
    return count


MAX_WINDOW = timedelta(days=30)


def prune_bands(session: Session, now: datetime) -> int:
    """Forget the bands of comments older than the longest flood window a policy may set."""
    result = session.execute(
        delete(CommentBand)
        .where(CommentBand.received_at < now - MAX_WINDOW)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
