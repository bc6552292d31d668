"""Where a blocked or suspect term matched, as slices of the raw text the moderator reads."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classifier import normalize_text
from classifier.text import normalize_spans
from service.decisions.terms import term_spans


@pytest.mark.parametrize(
    ("text", "term", "marked"),
    [
        ("You s c u m b a g!", "scumbag", ["s c u m b a g"]),
        ("what a m0ron", "moron", ["m0ron"]),
        ("Best c4sino deals", "casino", ["c4sino"]),
        ("go to ca&#115;ino now", "casino", ["ca&#115;ino"]),
        ("a caaaaasino and C.A.S.I.N.O", "casino", ["caaaaasino", "C.A.S.I.N.O"]),
        (
            "ｃａｓｉｎｏ and cаsino (Cyrillic a) and ca\u200bsino",
            "casino",
            ["ｃａｓｉｎｏ", "cаsino", "ca\u200bsino"],
        ),
        ("casinos and casinoroyale", "casino*", ["casinos", "casinoroyale"]),
        ("casinoroyale is one word", "casino", []),
        ("from 203.0.113.7", "203.0.113.0/24", []),
    ],
)
def test_terms_are_found_where_they_were_typed(text: str, term: str, marked: list[str]) -> None:
    assert [text[a:b] for a, b in term_spans(text, term)] == marked


# Letters, look-alikes, accents, leetspeak, stars, references and invisible characters; not Σ,
# whose lower case depends on its neighbours (normalize_spans folds one character at a time).
PIECES = [*"abcsino CASINO013457@$*.-_&#;!аеоѕéß\u0301\u200bﬁｃ", "&amp;", "&#39;", "&lt;"]
TEXTS = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


@given(TEXTS)
def test_normalize_spans_is_normalize_text_with_where_each_character_came_from(text: str) -> None:
    normalized, spans = normalize_spans(text)
    assert normalized == normalize_text(text)
    assert len(spans) == len(normalized)
    assert all(0 <= a < b <= len(text) for a, b in spans)
    assert list(spans) == sorted(spans)
