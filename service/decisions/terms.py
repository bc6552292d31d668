"""Blocked and suspect terms, matched in normalized text so obfuscation does not hide them.

Text goes through the project's one normalizer (``classifier.normalize_text``: NFKC, zero-width
characters removed, look-alike letters mapped to Latin, accents stripped, lowercase, leetspeak
mapped, stretched letters collapsed). A term matches the comment's content and author name as a
whole word or phrase whose letters may be separated ("c a s i n o", "c.a.s.i.n.o") or repeated;
a trailing ``*`` makes it a prefix. In the author's e-mail and URL it matches anywhere
("cheapcasino.example"). A term that is an IP address or network matches the author's IP only.
`term_spans` says where in the raw text a term matched, for the moderator's highlights.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from classifier import normalize_text, squash_text
from classifier.text import normalize_spans

TEXT_FIELDS = ("content", "author_name")
SQUASHED_FIELDS = ("author_email", "author_url")


_RUN = re.compile(r"(.)\1+")
_SEPARATORS = re.compile(r"[\W_]+")
_WORD_REST = re.compile(r"[^\W_]*")


def _collapsed(squashed: str) -> str:
    """Squashed text with letter runs cut to one: a cheap necessary test before the pattern."""
    return _RUN.sub(r"\1", squashed)


@dataclass(frozen=True)
class Term:
    term: str
    squashed: str
    collapsed: str
    pattern: re.Pattern[str]
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None


@lru_cache(maxsize=512)
def compile_terms(terms: tuple[str, ...]) -> tuple[Term, ...]:
    """Each term as a pattern over normalized text: letters may be spaced, dotted or stretched.

    ``casino`` matches "Casino", "c a s i n o", "cas1no", "cаsino" (Cyrillic а) and
    "ca\u200dsino"; a term ending in ``*`` also matches longer words ("casino*": "casinos").
    """
    compiled = []
    for term in terms:
        prefix = term.rstrip().endswith("*")
        squashed = squash_text(term.rstrip().rstrip("*"))
        if not squashed:
            continue
        body = r"[\W_]*".join(re.escape(char) + "+" for char in squashed)
        end = "" if prefix else r"(?![^\W_])"
        pattern = re.compile(r"(?<![^\W_])" + body + end)
        compiled.append(Term(term, squashed, _collapsed(squashed), pattern, _network(term)))
    return tuple(compiled)


def _network(term: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(term.strip(), strict=False)
    except ValueError:
        return None


@dataclass(frozen=True)
class Fields:
    """The comment's fields in the forms terms are matched in, computed once per decision."""

    texts: dict[str, str]
    collapsed: dict[str, str]
    squashed: dict[str, str]
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None

    @classmethod
    def of(cls, facts: Any) -> Fields:
        texts = {name: normalize_text(getattr(facts, name) or "") for name in TEXT_FIELDS}
        return cls(
            texts=texts,
            collapsed={name: _collapsed(_SEPARATORS.sub("", text)) for name, text in texts.items()},
            squashed={name: squash_text(getattr(facts, name) or "") for name in SQUASHED_FIELDS},
            address=_address(facts.author_ip),
        )


def find_terms(facts: Any, terms: Sequence[str]) -> list[tuple[str, str]]:
    """(term, field) for each of ``terms`` found in ``facts`` (a ``policy.Facts`` or ``Fields``)."""
    if not terms:
        return []
    fields = facts if isinstance(facts, Fields) else Fields.of(facts)
    found = []
    for term in compile_terms(tuple(terms)):
        where = _where(term, fields)
        if where is not None:
            found.append((term.term, where))
    return found


def _where(term: Term, fields: Fields) -> str | None:
    """The first field the term is found in: content, author name, e-mail, URL; or the IP."""
    if term.network is not None:
        address = fields.address
        if address is None or address.version != term.network.version:
            return None
        return "author_ip" if address in term.network else None
    for name in TEXT_FIELDS:
        if term.collapsed in fields.collapsed[name] and term.pattern.search(fields.texts[name]):
            return name
    for name in SQUASHED_FIELDS:
        if term.squashed in fields.squashed[name]:
            return name
    return None


def _address(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip()) if value else None
    except ValueError:
        return None


def term_spans(text: str, term: str) -> list[tuple[int, int]]:
    """Each slice of the raw ``text`` where ``term`` matches, as `find_terms` matches it there.

    The match is found in normalized text and carried back, so "c4sino", "s c u m b a g" and
    "ca&#115;ino" are marked as typed; a prefix term ("casino*") marks its whole word."""
    compiled = compile_terms((term,))
    if not compiled or compiled[0].network is not None:
        return []
    normalized, origin = normalize_spans(text)
    return match_spans(compiled[0].pattern, normalized, origin, whole_words=term.endswith("*"))


def match_spans(
    pattern: re.Pattern[str],
    normalized: str,
    origin: Sequence[tuple[int, int]],
    *,
    whole_words: bool = False,
) -> list[tuple[int, int]]:
    """The raw slices of ``pattern``'s matches in ``normalized`` (from ``normalize_spans``)."""
    found = []
    for match in pattern.finditer(normalized):
        end = match.end()
        if whole_words:
            end = _WORD_REST.match(normalized, end).end()  # type: ignore[union-attr]
        if end > match.start():
            found.append((origin[match.start()][0], origin[end - 1][1]))
    return found
