"""A comment's text as the platform's readers saw it, with the words that drove its decision marked.

Platforms send the HTML they render: ``he&#39;s``, ``&lt;3``, ``<a href="…">``. Readers saw "he's",
"<3" and a link, so the page shows that: character references are decoded once, an ``<a>`` with an
http(s) address and a bare http(s) address become links (``rel="nofollow ugc noopener"``), and
everything else, other tags included, is escaped and shown as typed. Marks are slices of the raw
text (``service.highlights``), laid over the same text, so they never split a link or a reference.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from markupsafe import Markup, escape

from service.highlights import Highlight

ANCHOR = re.compile(
    r"""<a\s[^<>]*?\bhref\s*=\s*("[^"<>]*"|'[^'<>]*'|[^\s"'<>`=]+)[^<>]*>([^<]*)</a\s*>""",
    re.IGNORECASE,
)
BARE_URL = re.compile(r"\bhttps?://[^\s<>\"'`]+", re.IGNORECASE)
TRAILING = ".,;:!?)]}"
LINK_REL = "nofollow ugc noopener"
SAFE_SCHEMES = ("http", "https")
MARK_TITLES = {
    "blocked_term": "Blocked term",
    "suspect_term": "Suspect term",
    "model_terms": "Raised the {task} score",
}


@dataclass(frozen=True)
class Link:
    """Raw ``[start, end)`` is the link; only ``[shown_start, shown_end)`` of it is its text."""

    start: int
    end: int
    shown_start: int
    shown_end: int
    href: str


def safe_href(raw: str) -> str | None:
    """The decoded address if it is an absolute http(s) URL with nothing that could break out."""
    href = html.unescape(raw.strip("\"'")).strip()
    if not href or any(c.isspace() or ord(c) < 0x20 or c in "\"'<>`\\" for c in href):
        return None
    try:
        parts = urlsplit(href)
    except ValueError:
        return None
    return href if parts.scheme.lower() in SAFE_SCHEMES and parts.netloc else None


def find_links(text: str) -> list[Link]:
    links: list[Link] = []
    for match in ANCHOR.finditer(text):
        href = safe_href(match.group(1))
        if href is not None:
            links.append(Link(match.start(), match.end(), match.start(2), match.end(2), href))
    for match in BARE_URL.finditer(text):
        if any(link.start <= match.start() < link.end for link in links):
            continue
        end = match.end()
        while end > match.start() and text[end - 1] in TRAILING:
            end -= 1
        href = safe_href(text[match.start() : end])
        if href is not None:
            links.append(Link(match.start(), end, match.start(), end, href))
    return sorted(links, key=lambda link: link.start)


def render(text: str, marks: Sequence[Highlight] = ()) -> Markup:
    """``text`` decoded and escaped, its safe links as links, each highlight in a ``<mark>``."""
    links = find_links(text)
    cuts = {0, len(text)}
    for k in links:
        cuts.update((k.start, k.end, k.shown_start, k.shown_end))
    for m in marks:
        cuts.update((m.start, m.end))
    out: list[str] = []
    open_link: Link | None = None
    open_mark: Highlight | None = None
    ordered = sorted(c for c in cuts if 0 <= c <= len(text))
    for start, end in zip(ordered, ordered[1:], strict=False):
        link = next((k for k in links if k.start <= start < k.end), None)
        if link is not None and not link.shown_start <= start < link.shown_end:
            continue  # the tag around a link's text
        mark = next((m for m in marks if m.start <= start < m.end), None)
        if link is not open_link or mark is not open_mark:
            out.append(_close(open_mark, open_link if link is not open_link else None))
            if link is not open_link and link is not None:
                out.append(_open_link(link))
            open_link, open_mark = link, mark
            if mark is not None:
                out.append(_open_mark(mark))
        out.append(str(escape(html.unescape(text[start:end]))))
    out.append(_close(open_mark, open_link))
    return Markup("".join(out))


def _close(mark: Highlight | None, link: Link | None) -> str:
    return ("</mark>" if mark is not None else "") + ("</a>" if link is not None else "")


def _open_link(link: Link) -> str:
    href = escape(link.href)
    return f'<a href="{href}" rel="{LINK_REL}" target="_blank" title="{href}">'


def _open_mark(mark: Highlight) -> str:
    title = MARK_TITLES.get(mark.code, "").format(task=mark.task or "")
    return f'<mark class="{mark.kind}" title="{escape(title)}: {escape(mark.term)}">'
