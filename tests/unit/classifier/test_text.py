import pytest

from classifier import normalize_text, squash_text


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


def test_a_masked_word_is_squashed_like_the_word() -> None:
    assert squash_text("f*cking") == squash_text("fucking") == "fucking"


def test_normalize_is_idempotent() -> None:
    text = "Free ѕріns at the best саѕіnо 4U!!! &amp; more, d*mn"
    assert normalize_text(normalize_text(text)) == normalize_text(text)
