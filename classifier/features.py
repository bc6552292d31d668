"""Features computed once per comment and shared by every head.

Three hashed blocks, each TF-IDF weighted and L2-normalised on its own:
words (normalized unigrams and bigrams), characters (3–5-grams inside each normalized word, and
2–5-grams inside each word of the raw lower-cased text, where the currency signs, digits and
punctuation that normalizing drops still are; computed once per distinct word and cached, which is
what keeps them cheap), and metadata (links, their domains and shorteners, author fields, length and
shouting), given a fixed small weight. Hashing keeps the model free of a vocabulary;
explanations regenerate the terms of the one comment being explained.
"""

from __future__ import annotations

import math
import re
import unicodedata
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import scipy.sparse as sp

from .text import normalize_text
from .types import CommentInput

# Raised whenever a comment is turned into different feature columns (tokens, hashing, blocks,
# weighting): a model is refused by code with another version (see `classifier.model`).
FEATURIZER_VERSION = 1
_TOKEN = re.compile(r"\w+")
# Host labels are bounded (a DNS label has at most 63 characters; a host here at most 10 labels)
# and an e-mail address's name may start only where a run of its characters starts: otherwise a
# long run like "a.a.a.…" is rescanned from each of its word boundaries, in quadratic time.
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'()\[\]]+"
    r"|\b(?:[a-z0-9-]{1,63}\.){1,10}(?:com|net|org|info|biz|ru|io|co|xyz|top|ly|me|us|uk|online|site|club"
    r"|shop|store|link|click|win|bid|loan|pw|cc|tk|gl|gd)\b(?:/[^\s<>\"'()\[\]]*)?",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+\.[\w.]+\b")
_SHORTENERS = frozenset(
    "bit.ly goo.gl tinyurl.com t.co ow.ly is.gd buff.ly adf.ly bit.do cutt.ly rebrand.ly "
    "shorturl.at tiny.cc rb.gy t.me lnkd.in soo.gd s.id v.gd qr.ae".split()
)
_FREE_MAIL = frozenset(
    "gmail.com yahoo.com hotmail.com outlook.com aol.com mail.ru yandex.ru".split()
)
_BIGRAM_MIX = 0x9E3779B1
_NON_LETTER = re.compile(r"[\W\d_]")
_UPPER = re.compile(r"[A-Z\u00c0-\u00de\u0391-\u03a9\u0410-\u042f]")
# Where a comment was written shows in its form: Twitter's mentions, retweets and hashtags, the
# HTML entities of a scraped page, emoji. The toxicity gate reads them to tell data sets whose words
# overlap apart (bench/README.md has the figures; line breaks were tried too, and cost the blog
# spam set).
_MENTION = re.compile(r"(?<![\w@])@\w{2,}")
_HASHTAG = re.compile(r"(?<![\w#&])#[^\W\d_]\w*")
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-f]+|[a-z]{2,8});", re.IGNORECASE)
_RETWEET = re.compile(r"(?:^|\s)RT\s?@")
_LENGTHS = ("length<15", "length<40", "length<100", "length<300", "length<1000", "length>=1000")


@dataclass(frozen=True)
class FeatureConfig:
    word_bits: int = 19
    char_bits: int = 19
    meta_bits: int = 14
    char_min: int = 3
    char_max: int = 5
    char_max_word: int = 24
    style_terms: bool = True
    # Character n-grams of the raw words (0 turns them off) and the metadata block's weight;
    # cross-validation on the spam train splits chose them (bench/README.md).
    raw_char_min: int = 2
    raw_char_max: int = 5
    meta_scale: float = 0.25

    @classmethod
    def from_metadata(cls, settings: dict[str, Any]) -> FeatureConfig:
        """The settings a model was trained with; older models lack the newer settings, and get
        the behaviour they were trained with."""
        older = {"style_terms": False, "raw_char_max": 0, "meta_scale": 0.5}
        return cls(**{**older, **settings})

    @property
    def n_features(self) -> int:
        return (1 << self.word_bits) + (1 << self.char_bits) + (1 << self.meta_bits)


def _hash(term: str) -> int:
    return zlib.crc32(term.encode("utf-8", "surrogatepass"))


def _join_spelled(tokens: list[str]) -> list[str]:
    """Glue runs of single characters ("c a s i n o") into the word they spell."""
    if len(tokens) < 3:
        return tokens
    out: list[str] = []
    run: list[str] = []
    for token in tokens:
        if len(token) == 1:
            run.append(token)
            continue
        if len(run) >= 3:
            out.append("".join(run))
        else:
            out.extend(run)
        run = []
        out.append(token)
    out.extend(run if len(run) < 3 else ["".join(run)])
    return out


def _bucket(value: float, edges: Sequence[float]) -> int:
    for i, edge in enumerate(edges):
        if value < edge:
            return i
    return len(edges)


def _domain(url: str) -> str:
    if "://" not in url:
        url = "http://" + url
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host[4:] if host.startswith("www.") else host


_LINK_COUNTS = ("no links", "1 link", "2 links", "3+ links")
_EXCLAMATIONS = ("no !", "one !", "two !", "many !")
_STYLE_TERMS = ("mention", "retweet", "hashtag", "html entity", "emoji")
# Metadata terms whose names have no "kind:" prefix, and so could be mistaken for words.
_PLAIN_METADATA_TERMS = frozenset(
    [*_LINK_COUNTS, *_EXCLAMATIONS, *_STYLE_TERMS, *_LENGTHS]
    + ["shouting", "email in text", "author url"]
)


def is_metadata_term(term: str) -> bool:
    """Whether a term names a metadata feature (a link count, "shouting", "tld:ru") rather than
    words of the text, so that it is not looked for in the text."""
    return ":" in term or term in _PLAIN_METADATA_TERMS


def style_terms(text: str) -> list[str]:
    """The marks of where a comment was written (see `_MENTION` and its neighbours)."""
    terms = []
    mention, retweet, hashtag, entity, emoji = _STYLE_TERMS
    if "@" in text and _MENTION.search(text):
        terms.append(mention)
        if _RETWEET.search(text):
            terms.append(retweet)
    if "#" in text and _HASHTAG.search(text):
        terms.append(hashtag)
    if "&" in text and _ENTITY.search(text):
        terms.append(entity)
    if not text.isascii() and any(unicodedata.category(c) == "So" for c in text):
        terms.append(emoji)
    return terms


def meta_terms(comment: CommentInput, text: str, style: bool = True) -> list[str]:
    """Readable names of the link, metadata and (with `style`) style features of one comment."""
    terms = []
    urls = _URL.findall(text)
    terms.append(_LINK_COUNTS[min(len(urls), 3)])
    for url in urls[:5]:
        domain = _domain(url)
        if domain:
            terms.append(f"link:{domain}")
            terms.append(f"tld:{domain.rsplit('.', 1)[-1]}")
            if domain in _SHORTENERS:
                terms.append("link:shortener")
    if "<a " in text.lower():
        terms.append("html:anchor")
    if _EMAIL.search(text):
        terms.append("email in text")
    letters = len(text) - _NON_LETTER.subn("", text)[1]
    if letters >= 8:
        upper = _UPPER.subn("", text)[1] / letters
        terms.append(
            ("caps:few", "caps:some", "caps:many", "shouting")[_bucket(upper, (0.1, 0.3, 0.6))]
        )
    terms.append(_LENGTHS[_bucket(len(text), (15, 40, 100, 300, 1000))])
    terms.append(_EXCLAMATIONS[min(text.count("!"), 3)])
    if comment.author_url:
        terms.append("author url")
        domain = _domain(comment.author_url)
        if domain:
            terms.append(f"author url:{domain}")
    if comment.author_email and "@" in comment.author_email:
        domain = comment.author_email.rsplit("@", 1)[1].lower()
        terms.append("email:free" if domain in _FREE_MAIL else f"email:{domain}")
    if comment.author_name:
        name = comment.author_name
        if _URL.search(name) or len(name.split()) > 4:
            terms.append("author name:promotional")
        if any(c.isdigit() for c in name):
            terms.append("author name:digits")
    if comment.language:
        terms.append(f"language:{comment.language.lower()[:2]}")
    if style:
        terms.extend(style_terms(text))
    return terms


class Featurizer:
    """Turns comments into one sparse matrix; idf vectors are learned by `fit`."""

    def __init__(
        self, config: FeatureConfig, idf: np.ndarray | None = None, cache_size: int = 200_000
    ):
        self.config = config
        self.idf = idf
        self._cache: dict[str, tuple[int, int, tuple[int, ...]]] = {}
        self._raw_cache: dict[str, tuple[int, ...]] = {}
        self._cache_size = cache_size
        self._word_mask = (1 << config.word_bits) - 1
        self._char_mask = (1 << config.char_bits) - 1
        self._char_offset = 1 << config.word_bits
        self._meta_offset = self._char_offset + (1 << config.char_bits)
        self._meta_mask = (1 << config.meta_bits) - 1

    def _char_grams(self, token: str) -> list[str]:
        cfg = self.config
        padded = f" {token[: cfg.char_max_word]} "
        n = len(padded)
        return [
            padded[i : i + k]
            for k in range(cfg.char_min, cfg.char_max + 1)
            for i in range(n - k + 1)
        ]

    def _entry(self, token: str) -> tuple[int, int, tuple[int, ...]]:
        h = _hash(token)
        off, mask = self._char_offset, self._char_mask
        chars = tuple(off + (_hash(g) & mask) for g in self._char_grams(token))
        entry = (h, h & self._word_mask, chars)
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[token] = entry
        return entry

    def _raw_entry(self, word: str) -> tuple[int, ...]:
        """Hashed character n-grams of one raw word, apart from the normalized words' own."""
        cfg = self.config
        padded = f" {word[: cfg.char_max_word]} "
        off, mask = self._char_offset, self._char_mask
        grams = tuple(
            off + (_hash("\x01" + padded[i : i + k]) & mask)
            for k in range(cfg.raw_char_min, cfg.raw_char_max + 1)
            for i in range(len(padded) - k + 1)
        )
        if len(self._raw_cache) >= self._cache_size:
            self._raw_cache.clear()
        self._raw_cache[word] = grams
        return grams

    def tokens(self, text: str) -> list[str]:
        return _join_spelled(_TOKEN.findall(normalize_text(text)))

    def raw_words(self, text: str) -> list[str]:
        """The words whose raw character n-grams are features (none for older models)."""
        return text.lower().split() if self.config.raw_char_max else []

    def _indices(
        self,
        comment: CommentInput,
        out: list[int],
        keep: list[tuple[list[str], list[str], list[str]]] | None = None,
    ) -> None:
        cache, entry, mask = self._cache, self._entry, self._word_mask
        prev = -1
        chars: list[int] = []
        tokens = self.tokens(comment.content)
        for token in tokens:
            e = cache.get(token) or entry(token)
            out.append(e[1])
            chars.extend(e[2])
            if prev >= 0:
                out.append(((prev * _BIGRAM_MIX) ^ e[0]) & mask)
            prev = e[0]
        out.extend(chars)
        raw_cache, raw_entry = self._raw_cache, self._raw_entry
        raw = self.raw_words(comment.content)
        for word in raw:
            out.extend(raw_cache.get(word) or raw_entry(word))
        off, mmask = self._meta_offset, self._meta_mask
        meta = meta_terms(comment, comment.content, self.config.style_terms)
        out.extend(off + (_hash(t) & mmask) for t in meta)
        if keep is not None:
            keep.append((tokens, raw, meta))

    def counts(
        self,
        comments: Iterable[CommentInput],
        keep: list[tuple[list[str], list[str], list[str]]] | None = None,
    ) -> sp.csr_matrix:
        """Raw term counts, one row per comment."""
        indices: list[int] = []
        indptr = [0]
        for comment in comments:
            self._indices(comment, indices, keep)
            indptr.append(len(indices))
        cols = np.asarray(indices, dtype=np.int32)
        data = np.ones(len(cols), dtype=np.float32)
        matrix = sp.csr_matrix(
            (data, cols, np.asarray(indptr, dtype=np.int64)),
            shape=(len(indptr) - 1, self.config.n_features),
        )
        matrix.sum_duplicates()
        return matrix

    def fit(self, counts: sp.csr_matrix) -> Featurizer:
        n = counts.shape[0]
        df = np.bincount(counts.indices, minlength=self.config.n_features)
        idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
        idf[self._meta_offset :] = 1.0
        self.idf = idf.astype(np.float32)
        return self

    def weigh(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """Sublinear TF times IDF, each block L2-normalised (metadata scaled, not normalised)."""
        assert self.idf is not None, "Featurizer.fit first"
        x = counts.copy()
        cols = x.indices
        x.data = (1.0 + np.log(x.data)) * self.idf[cols]
        rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
        block = (cols >= self._char_offset).astype(np.int64) + (cols >= self._meta_offset)
        key = rows * 3 + block
        norms = np.sqrt(
            np.bincount(key, weights=x.data.astype(np.float64) ** 2, minlength=3 * x.shape[0])
        )
        meta_scale = self.config.meta_scale
        scale = np.where(block == 2, meta_scale, 1.0 / np.maximum(norms[key], 1e-12))
        x.data = (x.data * scale).astype(np.float32)
        return x

    def transform(self, comments: Sequence[CommentInput]) -> sp.csr_matrix:
        return self.weigh(self.counts(comments))

    def readable_terms(
        self, tokens: list[str], raw: list[str], meta: list[str], wanted: set[int]
    ) -> dict[int, set[str]]:
        """Which of a comment's tokens, bigrams, raw words and metadata terms map to the `wanted`
        indices."""
        found: dict[int, set[str]] = {}
        for word in raw:
            for idx in wanted.intersection(self._raw_cache.get(word) or self._raw_entry(word)):
                found.setdefault(idx, set()).add(word)
        mask = self._word_mask
        prev_h, prev_t = -1, ""
        for token in tokens:
            h, word_idx, chars = self._cache.get(token) or self._entry(token)
            for idx in wanted.intersection(chars):
                found.setdefault(idx, set()).add(token)
            if word_idx in wanted:
                found.setdefault(word_idx, set()).add(token)
            if prev_h >= 0:
                bigram = ((prev_h * _BIGRAM_MIX) ^ h) & mask
                if bigram in wanted:
                    found.setdefault(bigram, set()).add(f"{prev_t} {token}")
            prev_h, prev_t = h, token
        off, mmask = self._meta_offset, self._meta_mask
        for term in meta:
            idx = off + (_hash(term) & mmask)
            if idx in wanted:
                found.setdefault(idx, set()).add(term)
        return found


# Terms that say what a comment lacks, or words too common to explain anything to a moderator.
_UNINFORMATIVE = frozenset(
    "no links|caps:few|no !|i|a|an|the|and|or|of|to|in|on|for|is|it|this|that|my|me|are|be|at"
    "|with|as|was|so|but|if|by|from".split("|")
) | frozenset(_LENGTHS)


def top_terms(contributions: dict[str, float], k: int = 5) -> list[str]:
    ranked = sorted(
        (
            (v, t)
            for t, v in contributions.items()
            if v > 0 and math.isfinite(v) and t not in _UNINFORMATIVE
        ),
        reverse=True,
    )
    return [t for _, t in ranked[:k]]
