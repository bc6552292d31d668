"""Akismet's form parser over arbitrary forms (hypothesis): never fails, always within limits."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from service.api.akismet import KEPT_FIELDS, _comment_data

FIELDS = [
    "comment_content",
    "comment_author",
    "comment_author_email",
    "comment_author_url",
    "user_ip",
    "user_agent",
    "permalink",
    "comment_date_gmt",
    "honeypot_field_name",
    "blog",
    "referrer",
    "comment_type",
    "user_role",
    "is_test",
    "blog_lang",
    "surprise",
]
VALUES = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=3000)
# honeypot_field_name also names fields of its own: the keys kept with the comment among them.
HONEYPOT_NAMES = st.sampled_from(["akismet", "honeypot_field_name", "blog", "website2"]) | VALUES


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=20), VALUES, max_size=12),
    HONEYPOT_NAMES,
    VALUES,
)
def test_any_form_parses_into_bounded_comment_data(
    form: dict[str, str], honeypot: str, filled: str
) -> None:
    if "honeypot_field_name" in form:
        form = {**form, "honeypot_field_name": honeypot, honeypot: filled}
    data = _comment_data(MultiDict(form))
    author = data["author"]
    assert data["content"] == form.get("comment_content", "")
    assert len(author["name"] or "") <= 200 and len(author["email"] or "") <= 320
    assert len(author["ip"] or "") <= 64 and len(author["url"] or "") <= 2000
    assert data["external_id"].startswith("ak2_") and len(data["external_id"]) <= 200
    kept = data["metadata"]["akismet"]
    assert set(kept) <= set(KEPT_FIELDS) and all(len(v) <= 2000 for v in kept.values())
    name = data["metadata"].get("honeypot_field_name")
    if name is not None:
        assert name not in ("akismet", "honeypot_field_name") and name in data["metadata"]
    assert data["created_at"] is None or data["created_at"].tzinfo is not None


@settings(max_examples=100, deadline=None)
@given(VALUES, VALUES)
def test_the_same_comment_gets_the_same_external_id(content: str, author: str) -> None:
    form = {
        "comment_content": content,
        "comment_author": author,
        "permalink": "https://b.example/p",
    }
    assert (
        _comment_data(MultiDict(form))["external_id"]
        == _comment_data(MultiDict(form))["external_id"]
    )
