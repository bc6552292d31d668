"""The comment as its readers saw it: references decoded, safe links linked, the rest escaped."""

from html.parser import HTMLParser

import pytest

from service.highlights import Highlight, comment_highlights
from service.web.highlight import render, safe_href

REL = 'rel="nofollow ugc noopener" target="_blank"'


def test_references_are_decoded_once_and_everything_else_escaped() -> None:
    shown = str(render("he&#39;s &lt;3 &amp;lt;b&amp;gt; <b>bold</b> & more"))
    assert shown == "he&#39;s &lt;3 &amp;lt;b&amp;gt; &lt;b&gt;bold&lt;/b&gt; &amp; more"


def test_an_http_anchor_is_a_link_with_its_text_and_nothing_else_of_its_tag() -> None:
    text = '<a href="https://news.example/a?b=1&amp;c=2" onclick="evil()" style="x">the story</a>'
    href = "https://news.example/a?b=1&amp;c=2"
    assert str(render(text)) == f'<a href="{href}" {REL} title="{href}">the story</a>'


def test_a_bare_address_is_a_link_without_the_sentence_end() -> None:
    shown = str(render("See http://pills.example/buy."))
    href = "http://pills.example/buy"
    assert shown == f'See <a href="{href}" {REL} title="{href}">{href}</a>.'


@pytest.mark.parametrize(
    "hostile",
    [
        '<a href="javascript:alert(1)">x</a>',
        '<a href="JaVaScRiPt&#58;alert(1)">x</a>',
        '<a href="data:text/html,<script>alert(1)</script>">x</a>',
        '<a href="//evil.example/">x</a>',
        "<a href='https://ok.example/\" onmouseover=\"alert(1)'>x</a>",
        '<a href="https://ok.example/&quot; onmouseover=&quot;alert(1)">x</a>',
        "<a href=https://ok.example/`onmouseover=alert(1)>x</a>",
        '<img src=x onerror="alert(1)"><script>alert(1)</script><svg onload=alert(1)>',
        '<a href="https://ok.example/"><img src=x onerror=alert(1)></a>',
    ],
)
def test_hostile_markup_is_shown_as_text_and_never_becomes_an_element(hostile: str) -> None:
    elements = Elements()
    elements.feed(str(render(hostile)))
    for tag, attributes in elements.found:
        assert tag == "a", tag
        assert set(attributes) == {"href", "rel", "target", "title"}, attributes
        assert safe_href(attributes["href"]) == attributes["href"]
        assert attributes["rel"] == "nofollow ugc noopener"


class Elements(HTMLParser):
    """Every element the page's HTML would make, with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("https://ok.example/a", True),
        ("HTTP://ok.example", True),
        ("javascript:alert(1)", False),
        ("https://ok.example/a b", False),
        ("https:///nohost", False),
        ("ftp://files.example/", False),
        ("https://ok.example/\u0000", False),
    ],
)
def test_only_absolute_http_addresses_are_safe(raw: str, safe: bool) -> None:
    assert (safe_href(raw) is not None) is safe


def test_marks_sit_inside_links_and_never_split_a_reference() -> None:
    text = 'a c4sino &amp; <a href="https://x.example">best c4sino</a>'
    marks = [Highlight(2, 8, "rule", "suspect_term", "casino")]
    marks.append(
        Highlight(text.index("best"), text.index("best") + 4, "model", "model_terms", "best")
    )
    shown = str(render(text, marks))
    assert shown.startswith(
        'a <mark class="rule" title="Suspect term: casino">c4sino</mark> &amp; '
    )
    assert '<mark class="model" title="Raised the  score: best">best</mark> c4sino</a>' in shown


def test_rule_terms_are_marked_as_typed_and_model_terms_only_when_telling() -> None:
    text = "You s c u m b a g, a m0ron: best c4sino for you and their mods"
    reasons = [
        {"code": "blocked_term", "term": "scumbag", "field": "content"},
        {"code": "suspect_term", "term": "casino*", "field": "content"},
        {"code": "suspect_term", "term": "moron", "field": "author_name"},
        {"code": "spam_score", "score": 0.9},
        {"code": "model_terms", "task": "spam", "terms": ["you", "their", "casino", "mods"]},
        {"code": "model_terms", "task": "toxicity", "terms": ["moron"]},  # its score did not fire
    ]
    found = [(text[h.start : h.end], h.kind) for h in comment_highlights(text, reasons)]
    assert found == [("s c u m b a g", "rule"), ("c4sino", "rule"), ("mods", "model")]
