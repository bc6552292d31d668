"""The one text normalizer of the project.

Spammers and trolls dodge word lists with look-alike letters, zero-width characters, accents,
leetspeak, stretched words and stars ("f*ck"). The model's features and the policy's blocked
terms both go through `normalize_text`, so what one catches the other catches too.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

Span = tuple[int, int]

__all__ = ["NORMALIZER_VERSION", "normalize_spans", "normalize_text", "squash_text"]

# Raised whenever `normalize_text` maps some text differently: a model learned its weights on the
# old output, so it is refused by code with another version (see `classifier.model`).
NORMALIZER_VERSION = 2

# `html.unescape` turns a numeric character reference's digits into an int, and Python refuses
# that for more than 4,300 digits (ValueError): long references are shortened first, to their
# value without leading zeros, or past the last code point to U+FFFD, as `html.unescape` reads it.
_LONG_CHARREF = re.compile(r"&#(\d{8,}|[xX][0-9a-fA-F]{7,})(;?)")
# A page shows a comment's references decoded once; text escaped twice or three times is still
# read as what it means ("&amp;amp;lt;b&amp;gt;" is "<b>"), deeper nesting is left as it is.
MAX_UNESCAPE_PASSES = 3
_ZERO_WIDTH = dict.fromkeys(
    map(
        ord,
        "\u00ad\u034f\u061c\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff",
    ),
    None,
)

# Lower-case Cyrillic and Greek letters that render like Latin ones (after lower-casing).
_CONFUSABLES = str.maketrans(
    {
        "а": "a", "в": "b", "с": "c", "ԁ": "d", "е": "e", "ё": "e", "һ": "h", "н": "h",
        "і": "i", "ї": "i", "ј": "j", "к": "k", "м": "m", "о": "o", "р": "p", "ԛ": "q",
        "г": "r", "ѕ": "s", "т": "t", "у": "y", "х": "x", "ү": "y", "ԝ": "w", "ɡ": "g",
        "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "μ": "u", "ν": "v",
        "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ς": "s", "ϲ": "c",
        "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe",
    }
)  # fmt: skip

_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)
_LEET_CHARS = frozenset("013457@$")
# A token that mixes letters with leet characters: "cas1no", "fr33", "b@stard", "$ex". Runs are
# matched whole and checked for a letter in `_unleet`: a pattern that demands the letter itself
# retries every start inside a long run without one ("1111…"), which takes quadratic time.
_LEET_TOKEN = re.compile(r"[\w@$]+")
_LATIN_LETTER = re.compile(r"[a-z]")
_LETTER_RUN = re.compile(r"([^\W\d_])\1{2,}")
# Masked words: each star stands for one letter of a word in this list ("sh*t", "f**k",
# "p***y", "b*tches"). Where two words fit ("s**t"), the one listed first wins.
_MASKABLE = """
    fuck fucking fucked fucker fuckers motherfucker shit bullshit shitty bitch bitches damn dick
    cunt pussy asshole assholes bastard bastards cock whore whores slut sluts nigger niggers
    nigga niggas faggot faggots fag fags retard retarded retards crap hell piss twat wanker
    douche porn sex viagra cialis casino
""".split()
_MASKABLE_BY_LENGTH = {
    n: tuple(w for w in _MASKABLE if len(w) == n) for n in {len(w) for w in _MASKABLE}
}
# Runs, checked in `_unmask` (see `_LEET_TOKEN` for why). They take in the "@" and "$" leetspeak
# left (a mention's, or ones with no letter beside them), so that a word unmasked next to one
# is not read as leetspeak by a second pass ("$*1ss" is not "$piss", later "spiss").
_MASKED = re.compile(r"[\w*@$]+")
_MASK_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz*")
_NON_ALNUM = re.compile(r"[\W_]+")
# The character references `html.unescape` decodes, each of which it decodes on its own.
_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")


def _shorten_charref(match: re.Match[str]) -> str:
    digits, end = match.groups()
    hexadecimal = digits[0] in "xX"
    value = (digits[1:] if hexadecimal else digits).lstrip("0") or "0"
    if len(value) > (6 if hexadecimal else 7):  # past 0x10FFFF either way
        return "\ufffd"
    return f"&#{'x' if hexadecimal else ''}{value}{end}"


def _unescape(text: str) -> str:
    """Character references decoded up to `MAX_UNESCAPE_PASSES` levels deep ("&amp;lt;" is "<").

    Each pass is linear, but only peels one level: with no cap, "&amp;amp;amp;…" would take
    one pass per level, quadratic time for a comment of nested escapes. Long numeric
    references are shortened before every pass: an escaped one only appears after the first."""
    for _ in range(MAX_UNESCAPE_PASSES):
        if "&#" in text:
            text = _LONG_CHARREF.sub(_shorten_charref, text)
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = unescaped
        if "&" not in text:
            break
    return text


def _unleet(match: re.Match[str]) -> str:
    token = match.group(0)
    if _LEET_CHARS.isdisjoint(token) or not _LATIN_LETTER.search(token):
        return token
    if token[0] == "@" and token[1:].isalnum():  # a mention, not "@ss"
        return "@" + token[1:].translate(_LEET)
    return token.translate(_LEET)


def _unmask(match: re.Match[str]) -> str:
    token = match.group(0)
    mention = "@" if token[0] == "@" else ""  # "@sh*t" is "@shit", as `_unleet` keeps "@sh"
    masked = token[len(mention) :]
    # Two letters at least: "f***" could be many words.
    if (
        "*" not in masked
        or len(masked) - masked.count("*") < 2
        or not _MASK_LETTERS.issuperset(masked)
    ):
        return token
    for word in _MASKABLE_BY_LENGTH.get(len(masked), ()):
        if all(t == "*" or t == w for t, w in zip(masked, word, strict=True)):
            return mention + word
    return token


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=256)
def normalize_text(text: str) -> str:
    """Map `text` to the canonical form that features and blocked terms are matched in.

    Deciding a comment normalizes its text three times (features, copies, terms); the small
    cache makes that once."""
    if "&" in text:
        text = _unescape(text)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH).lower()
        text = text.translate(_CONFUSABLES)
        if not text.isascii():
            # Accented look-alikes ("ά", "ǣ") only match the table once their accents are gone.
            text = _strip_accents(text).translate(_CONFUSABLES)
    else:
        text = text.lower()
    if not _LEET_CHARS.isdisjoint(text):
        text = _LEET_TOKEN.sub(_unleet, text)
    # Runs are cut before masks are read: a cut can make a masked word's length ("*1sss" is
    # "*iss", "piss"), and leetspeak can make a run ("b000b").
    text = _LETTER_RUN.sub(r"\1\1", text)
    if "*" in text:
        text = _MASKED.sub(_unmask, text)
    if "&" in text:
        text = _defuse_references(text)
    return text


def _defuse(match: re.Match[str]) -> str:
    reference = match.group(0)
    if html.unescape(_LONG_CHARREF.sub(_shorten_charref, reference)) == reference:
        return reference
    return " " + reference[1:]


def _defuse_references(text: str) -> str:
    """Each reference still decodable after folding loses its "&" to a space.

    One can survive (nested deeper than `MAX_UNESCAPE_PASSES`) or form in folding: NFKC turns
    "&#¹" into "&#1", lower-casing "&Amp;" into "&amp;". Left as they are, normalizing the
    output again would decode them, and a term normalized once would not match a text
    normalized once. A space keeps the words around it apart, as the "&" did."""
    return _CHARREF.sub(_defuse, text)


def squash_text(text: str) -> str:
    """`normalize_text` without anything but letters and digits, so "c a s-i.n o" is "casino".

    Spaced-out leetspeak ("v 1 a g r a") is only visible once squashed, so the leet mapping
    applies again to the squashed form: it is for matching terms, not for display. Joining the
    pieces can form new letter runs ("co ool"), so runs are collapsed again afterwards.
    """
    squashed = _NON_ALNUM.sub("", normalize_text(text))
    if not squashed.isdigit():
        squashed = squashed.translate(_LEET)
    return _LETTER_RUN.sub(r"\1\1", squashed)


@lru_cache(maxsize=64)
def normalize_spans(text: str) -> tuple[str, tuple[Span, ...]]:
    """`normalize_text` of `text`, and for each of its characters the slice of `text` it came from.

    Terms are matched in normalized text, but a moderator reads the raw one: these slices carry
    a match back to what was typed ("c4sino", "s c u m b a g", "he&#39;s"). The steps are
    `normalize_text`'s, applied character by character where they can be and with the slices
    kept where they change lengths (references, letter runs). A comment's highlights look up
    several terms in one text: the small cache normalizes it once."""
    chars, spans = _decoded(text)
    folded_chars: list[str] = []
    folded_spans: list[Span] = []
    for char, span in zip(chars, spans, strict=True):
        for out in _fold(char):
            folded_chars.append(out)
            folded_spans.append(span)
    folded = "".join(folded_chars)
    if not _LEET_CHARS.isdisjoint(folded):
        folded = _LEET_TOKEN.sub(_unleet, folded)  # one character for one: the slices hold
    folded, cut_spans = _cut_runs(folded, folded_spans)
    if "*" in folded:
        folded = _MASKED.sub(_unmask, folded)  # likewise
    if "&" in folded:
        folded = _defuse_references(folded)  # likewise
    return folded, cut_spans


def _decoded(text: str) -> tuple[list[str], list[Span]]:
    """`_unescape` one reference at a time: each decoded character spans its whole reference."""
    chars, spans = list(text), [(i, i + 1) for i in range(len(text))]
    for _ in range(MAX_UNESCAPE_PASSES):
        joined = "".join(chars)
        if "&" not in joined:
            break
        new_chars: list[str] = []
        new_spans: list[Span] = []
        position = 0
        for match in _CHARREF.finditer(joined):
            new_chars.extend(chars[position : match.start()])
            new_spans.extend(spans[position : match.start()])
            reference = _LONG_CHARREF.sub(_shorten_charref, match.group(0))
            whole = (spans[match.start()][0], spans[match.end() - 1][1])
            for char in html.unescape(reference):
                new_chars.append(char)
                new_spans.append(whole)
            position = match.end()
        new_chars.extend(chars[position:])
        new_spans.extend(spans[position:])
        if new_chars == chars:
            break
        chars, spans = new_chars, new_spans
    return chars, spans


@lru_cache(maxsize=4096)
def _fold(char: str) -> str:
    """One character through `normalize_text`'s Unicode steps (all but the contextual ones)."""
    if char.isascii():
        return char.lower()
    folded = unicodedata.normalize("NFKC", char).translate(_ZERO_WIDTH).lower()
    folded = folded.translate(_CONFUSABLES)
    if not folded.isascii():
        folded = _strip_accents(folded).translate(_CONFUSABLES)
    return folded


def _cut_runs(text: str, spans: list[Span]) -> tuple[str, tuple[Span, ...]]:
    """Letter runs cut to two as `normalize_text` cuts them; the second letter spans the rest."""
    out: list[str] = []
    kept: list[Span] = []
    position = 0
    for match in _LETTER_RUN.finditer(text):
        out.append(text[position : match.start()])
        kept.extend(spans[position : match.start()])
        out.append(text[match.start()] * 2)
        kept.append(spans[match.start()])
        kept.append((spans[match.start() + 1][0], spans[match.end() - 1][1]))
        position = match.end()
    out.append(text[position:])
    kept.extend(spans[position:])
    return "".join(out), tuple(kept)
