"""Properties of the one text normalizer, over arbitrary Unicode (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier import normalize_text, squash_text

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200)
# Character references, and what folding turns into one: digits from superscripts, "&" from
# its full-width form, entity names from upper case.
REFERENCE_PIECES = st.sampled_from(
    ["&", "＆", "#", "x", ";", "1", "¹", "３", "amp", "Amp", "AMP", "lt", "LT", "quot", " ", "a"]
)
REFERENCE_TEXT = st.lists(REFERENCE_PIECES, max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_normalizing_is_total_idempotent_and_strips_invisible_characters(text: str) -> None:
    once = normalize_text(text)
    assert isinstance(once, str)
    assert normalize_text(once) == once
    assert not any(c in once for c in ZERO_WIDTH)
    assert once == once.lower()


@settings(max_examples=300, deadline=None)
@given(REFERENCE_TEXT)
def test_normalizing_text_made_of_references_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_squashed_text_is_lowercase_alphanumeric_and_agrees_with_normalized(text: str) -> None:
    squashed = squash_text(text)
    assert squashed == "" or squashed.isalnum()
    assert squashed == squashed.lower()
    assert squash_text(normalize_text(text)) == squashed


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=12), st.data())
def test_invisible_characters_and_spacing_do_not_hide_a_word(
    word: str, data: st.DataObject
) -> None:
    separators = data.draw(
        st.lists(
            st.sampled_from(["", " ", "\u200b", "\u200d", ".", "-"]),
            min_size=len(word) - 1,
            max_size=len(word) - 1,
        )
    )
    disguised = word[0] + "".join(
        sep + letter for sep, letter in zip(separators, word[1:], strict=True)
    )
    assert squash_text(word) in squash_text(disguised)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ά", "a"),
        ("ǽ", "ae"),
        ("Ώρα", "wpa"),
        ("&amp;amp;lt;b&amp;gt;", "<b>"),
        ("&#¹", " #1"),
        ("＆amp;", " amp;"),
        ("&Amp;lt;", " amp;lt;"),
        ("&amp;amp;amp;amp;lt;", " amp;lt;"),
        ("AT&T & co", "at&t & co"),
    ],
)
def test_cases_hypothesis_found_normalize_in_one_pass(text: str, expected: str) -> None:
    """Accented look-alikes, doubly escaped entities and references that folding forms or that
    are nested too deep to decode once took two passes to settle."""
    assert normalize_text(text) == expected
    assert normalize_text(expected) == expected
