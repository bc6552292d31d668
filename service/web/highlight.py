"""Marking the terms that drove a decision inside a comment, escaping everything else."""

from __future__ import annotations

import re
from collections.abc import Iterable

from markupsafe import Markup, escape

from classifier.features import is_metadata_term

MIN_TERM_CHARS = 2


def _piece(term: str) -> str | None:
    """A regular expression for one term as it may appear in the text, or None if it cannot."""
    term = term.strip()
    if term.startswith("link:"):
        term = term[len("link:") :]
        if term == "shortener":
            return None
    elif is_metadata_term(term):
        return None  # tld:, email:, a link count, shouting, a mention: nothing to mark in the text
    words = term.split()
    if not words or len(term) < MIN_TERM_CHARS:
        return None
    body = r"\s+".join(re.escape(word) for word in words)
    left = r"(?<!\w)" if re.match(r"\w", words[0]) else ""
    right = r"(?!\w)" if re.search(r"\w$", words[-1]) else ""
    return left + body + right


def term_pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    pieces = {p for p in (_piece(t) for t in terms) if p}
    if not pieces:
        return None
    ordered = sorted(pieces, key=len, reverse=True)  # longest first: phrases before their words
    return re.compile("|".join(ordered), re.IGNORECASE)


def highlight(text: str, terms: Iterable[str]) -> Markup:
    """``text`` escaped, with each occurrence of a term wrapped in ``<mark>``."""
    pattern = term_pattern(terms)
    if pattern is None:
        return Markup(escape(text))
    out: list[str] = []
    position = 0
    for match in pattern.finditer(text):
        out.append(str(escape(text[position : match.start()])))
        out.append(f"<mark>{escape(match.group(0))}</mark>")
        position = match.end()
    out.append(str(escape(text[position:])))
    return Markup("".join(out))
