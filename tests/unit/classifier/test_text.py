import html

import pytest

from classifier import normalize_text, squash_text
from classifier.text import MAX_UNESCAPE_PASSES


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Cаsіnо", "casino"),  # Cyrillic look-alikes
        ("ＣＡＳＩＮＯ", "casino"),  # full-width forms (NFKC)
        ("ca\u200bsi\u200dno", "casino"),  # zero-width characters
        ("Héllo Wörld", "hello world"),
        ("cas1no FR33 v1agra", "casino free viagra"),
        ("b@stard $ex", "bastard sex"),
        ("fuuuuuck yoooou", "fuuck yoou"),
        ("&lt;b&gt;Tom &amp; Jerry", "<b>tom & jerry"),
        ("Ѕріn", "spin"),
        ("αβε ορ", "abe op"),
        ("F**K this, sh*t", "fuck this, shit"),
        ("b*tches and a**h0les", "bitches and assholes"),
        ("h*ll no, v*agra", "hell no, viagra"),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


@pytest.mark.parametrize(
    "raw", ["2024", "$3,000", "60,000 troops", "@USER said", "2*3 = 6", "x*y", "**bold**", "f***"]
)
def test_numbers_and_mentions_survive(raw: str) -> None:
    assert normalize_text(raw) == raw.lower()


def test_squash_text_joins_spaced_out_words() -> None:
    assert squash_text("c a s-i.n o") == "casino"
    assert squash_text("B.U.Y  V 1 A G R A!") == "buyviagra"


def test_long_character_references_are_read_not_refused() -> None:
    assert normalize_text("&#" + "9" * 5000 + "; ok") == "\ufffd ok"
    assert normalize_text("&#x" + "0" * 5000 + "41;") == "a"
    assert normalize_text("&#00000065;") == normalize_text("&#65;") == "a"
    assert normalize_text("&amp;#" + "9" * 5000 + "; ok") == "\ufffd ok"
    assert normalize_text("&amp;amp;#x" + "0" * 5000 + "41;") == "a"


def test_a_masked_word_is_squashed_like_the_word() -> None:
    assert squash_text("f*cking") == squash_text("fucking") == "fucking"


def test_normalize_is_idempotent() -> None:
    text = "Free ѕріns at the best саѕіnо 4U!!! &amp; more, d*mn"
    assert normalize_text(normalize_text(text)) == normalize_text(text)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Tom &amp;amp; Jerry", "tom & jerry"),
        ("&amp;lt;b&amp;gt;", "<b>"),
        ("&amp;amp;lt;b&amp;amp;gt;", "<b>"),
        ("caf&eacute; &#x43;asino", "cafe casino"),
        ("AT&T &c", "at&t &c"),
    ],
)
def test_escaped_text_decodes_as_it_always_did(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_nested_escapes_take_a_bounded_number_of_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each pass peels one level of "&amp;amp;…": a pass per level would be quadratic."""
    calls = []
    unescape = html.unescape

    def counted(text: str) -> str:
        calls.append(len(text))
        return unescape(text)

    monkeypatch.setattr(html, "unescape", counted)
    nested = "&" + "amp;" * 50_000 + "lt;"
    # What is still nested after the last pass is left as text, its reference defused.
    assert normalize_text(nested) == " " + "amp;" * 49_997 + "lt;"
    whole_text_passes = [length for length in calls if length > 100]
    assert len(whole_text_passes) == MAX_UNESCAPE_PASSES == 3
    assert calls[MAX_UNESCAPE_PASSES:] == [len("&amp;")]  # the one reference left, checked
