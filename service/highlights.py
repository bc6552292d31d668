"""Which words of a comment's raw text drove its decision, as slices a page or client can mark.

A blocked or suspect term is marked exactly where the rule matched it, in whatever disguise it was
typed ("c4sino", "s c u m b a g"). The model's terms are marked only where they say something:
its top few per score that reached a threshold, never common words, never over a rule's match.
The decision's reasons hold the model's terms by rank, not by weight, so rank is the measure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from classifier.features import is_metadata_term
from classifier.text import normalize_spans
from service.decisions.terms import match_spans, term_spans

RULE_CODES = ("blocked_term", "suspect_term")
MODEL_TERMS_SHOWN = 3
MIN_MODEL_TERM_CHARS = 3
# Words too common to explain a score to a moderator, whatever weight the model gave them.
COMMON_WORDS = frozenset(
    """
    you your yours you're youre u ur we our ours us they their theirs them he him his she her
    hers it its i'm im me my mine this that these those there here what which who whom when
    where why how all any some each every more most other such only own same than too very can
    will just don't dont should now not no yes are was were been being have has had having do
    does did doing would could get got the and but for with about into over then once also
    """.split()
)


@dataclass(frozen=True)
class Highlight:
    """``text[start:end]`` drove the decision: a rule's term (``kind`` "rule") or the model's."""

    start: int
    end: int
    kind: str
    code: str
    term: str
    task: str | None = None


def comment_highlights(text: str, reasons: Sequence[Any] | None) -> list[Highlight]:
    """The comment's highlights in text order, none overlapping: rules first, then the model."""
    rules = [r for r in reasons or [] if isinstance(r, dict) and r.get("code") in RULE_CODES]
    chosen: list[Highlight] = []
    for reason in rules:
        if reason.get("field", "content") != "content" or not isinstance(reason.get("term"), str):
            continue
        for start, end in term_spans(text, reason["term"]):
            _add(chosen, Highlight(start, end, "rule", reason["code"], reason["term"]))
    for task, term in _model_terms(reasons):
        for start, end in _model_spans(text, term):
            _add(chosen, Highlight(start, end, "model", "model_terms", term, task))
    return sorted(chosen, key=lambda h: h.start)


def _add(chosen: list[Highlight], candidate: Highlight) -> None:
    if all(candidate.end <= h.start or candidate.start >= h.end for h in chosen):
        chosen.append(candidate)


def _model_terms(reasons: Sequence[Any] | None) -> Iterable[tuple[str, str]]:
    """(task, term) for the top terms of each score that reached a threshold."""
    decided = {
        r.get("code", "").removesuffix("_score")
        for r in reasons or []
        if isinstance(r, dict) and str(r.get("code", "")).endswith("_score")
    }
    for reason in reasons or []:
        if not isinstance(reason, dict) or reason.get("code") != "model_terms":
            continue
        task = str(reason.get("task") or "")
        if task not in decided:
            continue
        shown = [t for t in reason.get("terms") or [] if isinstance(t, str) and _telling(t)]
        for term in shown[:MODEL_TERMS_SHOWN]:
            yield task, term


def _telling(term: str) -> bool:
    words = term.lower().split()
    if term.startswith("link:"):
        return term != "link:shortener"
    if is_metadata_term(term) or not words:
        return False
    return len(term) >= MIN_MODEL_TERM_CHARS and not all(w in COMMON_WORDS for w in words)


def _model_spans(text: str, term: str) -> list[tuple[int, int]]:
    """A model term as a word or phrase of the normalized text (the model read that text)."""
    words = term.removeprefix("link:").lower().split()
    body = r"\s+".join(re.escape(word) for word in words)
    left = r"(?<!\w)" if re.match(r"\w", words[0]) else ""
    right = r"(?!\w)" if re.search(r"\w$", words[-1]) else ""
    normalized, origin = normalize_spans(text)
    return match_spans(re.compile(left + body + right), normalized, origin)
