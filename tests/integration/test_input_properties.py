"""Arbitrary requests to every endpoint (hypothesis), on both back ends with a real worker: the
answer is a verdict or a 4xx, never a 500, and every comment accepted is decided.

The strategies draw what once answered 500 or stalled the worker: any code point in any text,
lone surrogates and NUL characters often; any JSON value in a comment's ``metadata``, under the
keys the policy reads too, and numbers JSON does not have or Python hardly reads; JSON nested up
to 30,000 levels. Each property sends a bounded number of examples to the real database and
broker (a few seconds each).
"""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from service.db import session_scope
from service.models import Comment
from tests.conftest import auth, wait_for
from tests.support.stored import moderator_headers

pytestmark = pytest.mark.integration

JSON_TYPE = "application/json"
UNSTORABLE_CHARS = ["\x00", "\ud800", "\udbff", "\udc00", "\udfff"]
# Any code point, the unstorable ones often: for properties of a single text.
TEXT = st.text(
    alphabet=st.characters(exclude_categories=()) | st.sampled_from(UNSTORABLE_CHARS), max_size=20
)
FORM_TEXT = st.text(  # forms are UTF-8: no surrogates, but NUL
    alphabet=st.characters(codec="utf-8") | st.just("\x00"), min_size=1, max_size=40
)
# Comments are drawn storable, then some get one unstorable text or one number JSON does not
# have, so that the rest reach the worker with arbitrary metadata.
CLEAN = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | CLEAN
JSON = st.recursive(
    SCALARS.filter(lambda v: not isinstance(v, float) or math.isfinite(v)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(CLEAN, inner, max_size=3),
    max_leaves=8,
)
# The keys the policy reads, each present half the time, often with a value of the wrong type.
POLICY_KEYS = ["honeypot_field_name", "submit_seconds", "form_rendered_at", "submitted_at"]
CONTAINERS = st.lists(JSON, min_size=1, max_size=2) | st.dictionaries(
    CLEAN, SCALARS, min_size=1, max_size=2
)
METADATA = st.tuples(
    st.fixed_dictionaries({}, optional={key: CONTAINERS | JSON for key in POLICY_KEYS}),
    st.dictionaries(CLEAN, JSON, max_size=3),
).map(lambda pair: {**pair[1], **pair[0]})
STORABLE_COMMENTS = st.fixed_dictionaries(
    {
        "external_id": CLEAN.filter(bool),
        "content": CLEAN.filter(str.strip),
        "metadata": METADATA,
    },
    optional={
        "author": st.fixed_dictionaries({}, optional={"name": CLEAN, "user_agent": CLEAN}),
        "post": st.fixed_dictionaries({"id": CLEAN}, optional={"title": CLEAN}),
        "parent_external_id": CLEAN,
        "language": st.sampled_from(["en", "de-AT"]) | CLEAN,
    },
)
NOT_JSON_NUMBERS = st.sampled_from([math.nan, math.inf, -math.inf])
HUGE_NUMBERS = st.sampled_from([10**400, -(10**4000), 1e308, 5e-324])


def _text_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [p for key, child in value.items() for p in _text_paths(child, (*path, key))]
    if isinstance(value, list):
        return [p for i, child in enumerate(value) for p in _text_paths(child, (*path, i))]
    return []


def _spoiled(body: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    def spoil(choice: tuple[tuple[Any, ...], str]) -> dict[str, Any]:
        path, bad = choice
        spoiled = json.loads(json.dumps(body))
        parent = spoiled
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] += bad
        return spoiled

    return st.tuples(st.sampled_from(_text_paths(body)), st.sampled_from(UNSTORABLE_CHARS)).map(
        spoil
    )


def _with_number(pair: tuple[dict[str, Any], float | int]) -> dict[str, Any]:
    body, number = pair
    return {**body, "metadata": {**body["metadata"], "number": number}}


COMMENTS = st.one_of(
    STORABLE_COMMENTS,
    STORABLE_COMMENTS.flatmap(_spoiled),
    st.tuples(STORABLE_COMMENTS, NOT_JSON_NUMBERS | HUGE_NUMBERS).map(_with_number),
)
PROPERTY = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [*value, *(t for child in value.values() for t in texts(child))]
    if isinstance(value, list):
        return [t for child in value for t in texts(child)]
    return []


def unstorable(value: Any) -> bool:
    return any(c == "\x00" or "\ud800" <= c <= "\udfff" for t in texts(value) for c in t)


def not_json(value: Any) -> bool:
    """Numbers JSON does not have, or Python cannot read back."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return len(str(abs(value))) > 4300
    if isinstance(value, dict):
        return any(not_json(child) for child in value.values())
    if isinstance(value, list):
        return any(not_json(child) for child in value)
    return False


def post_json(client, path: str, body: Any, headers: dict[str, str]):
    headers = {**headers, "Content-Type": JSON_TYPE}
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(path, data=data, headers=headers)


def test_any_comment_is_refused_or_accepted_then_decided(client, app, make_site, worker) -> None:
    site = make_site()
    accepted: set[str] = set()

    @settings(PROPERTY, max_examples=250)
    @given(COMMENTS)
    def submit(body: dict[str, Any]) -> None:
        body = {**body, "external_id": f"{body['external_id']}-{uuid.uuid4().hex}"}  # a new one
        response = post_json(client, "/v1/comments", body, auth(site))
        assert response.status_code in (200, 202, 400, 422), response.get_data(as_text=True)
        if not_json(body):
            assert response.status_code == 400
        elif unstorable(body):
            assert response.status_code == 422
        if response.status_code in (200, 202):
            accepted.add(response.get_json()["id"])

    submit()
    assert accepted, "no example was accepted"
    sessions = app.extensions["commentgate"].sessions

    def decided() -> list[Comment] | None:
        with session_scope(sessions) as session:
            rows = list(session.scalars(select(Comment).where(Comment.id.in_(accepted))))
        return rows if all(c.status != "pending" for c in rows) else None

    comments = wait_for(decided, timeout=60)
    failed = [c.extra for c in comments if c.decide_failures or _processing_error(c)]
    assert failed == [], "metadata the worker could not decide"


def _processing_error(comment: Comment) -> bool:
    return any(r.get("code") == "processing_error" for r in comment.reasons or [])


def test_any_nesting_on_any_json_endpoint_is_a_4xx(client, app, make_site) -> None:
    site = make_site()
    moderator = moderator_headers(app, site)
    endpoints = [
        ("POST", "/v1/comments", auth(site)),
        ("POST", "/v1/moderation/decisions", moderator),
        ("POST", f"/v1alpha1/comments:analyze?key={site.api_key}", {}),
        ("POST", f"/v1alpha1/comments:suggestscore?key={site.api_key}", {}),
        ("PATCH", f"/v1/sites/{site.site.id}/policy", moderator),
    ]

    @PROPERTY
    @given(
        st.integers(1, 30_000),
        st.sampled_from(["[", '{"a":', '{"metadata":{"a":[']),
        st.sampled_from(endpoints),
    )
    def send(depth: int, opener: str, endpoint: tuple[str, str, dict[str, str]]) -> None:
        closer = "".join({"[": "]", "{": "}"}[c] for c in reversed(opener) if c in "[{")
        body = opener * depth + "1" + closer * depth
        method, path, headers = endpoint
        response = client.open(
            path, method=method, data=body, headers={**headers, "Content-Type": JSON_TYPE}
        )
        assert response.status_code in (400, 413, 422), (depth, response.get_data(as_text=True))

    send()


def test_any_text_to_perspective_is_scored_or_refused(client, make_site) -> None:
    site = make_site()
    analyze = f"/v1alpha1/comments:analyze?key={site.api_key}"

    @PROPERTY
    @given(TEXT.filter(str.strip), st.none() | TEXT, st.booleans())
    def analyze_text(text: str, token: str | None, store: bool) -> None:
        body: dict[str, Any] = {
            "comment": {"text": text},
            "requestedAttributes": {"TOXICITY": {}},
            "doNotStore": not store,
        }
        if token is not None:
            body["clientToken"] = token
        response = post_json(client, analyze, body, {})
        assert response.status_code in (200, 400, 422), response.get_data(as_text=True)
        assert (response.status_code == 422) == unstorable(body)

    analyze_text()


def test_any_akismet_form_gets_an_answer_or_a_4xx(client, app, make_site) -> None:
    site = make_site()
    names = ["comment_content", "comment_author", "permalink", "guid", "month", "limit"]
    paths = ["/1.1/comment-check", "/1.1/submit-spam", "/1.1/submit-ham", "/1.2/key-sites"]

    @PROPERTY
    @given(
        st.sampled_from(paths),
        st.dictionaries(st.sampled_from(names) | FORM_TEXT, FORM_TEXT, max_size=5),
    )
    def check(path: str, fields: dict[str, str]) -> None:
        form = {**fields, "key": site.api_key, "blog": "https://b.example", "user_ip": "192.0.2.1"}
        response = client.post(path, data=form)
        assert response.status_code in (200, 422), response.get_data(as_text=True)
        assert (response.status_code == 422) == unstorable(form)

    check()


def test_any_decision_is_made_or_refused(client, app, make_site) -> None:
    site = make_site()
    moderator = moderator_headers(app, site)

    @PROPERTY
    @given(st.none() | TEXT, st.lists(TEXT, max_size=3), st.sampled_from(["approve", "reject"]))
    def decide(reason: str | None, others: list[str], action: str) -> None:
        body = {"external_id": uuid.uuid4().hex, "content": "A comment to decide."}
        comment_id = post_json(client, "/v1/comments", body, auth(site)).get_json()["id"]
        decision = {"action": action, "reason": reason}
        single = post_json(
            client, f"/v1/moderation/comments/{comment_id}/decision", decision, moderator
        )
        assert single.status_code in (200, 422), single.get_data(as_text=True)
        assert (single.status_code == 422) == unstorable(decision)
        bulk = {"ids": [comment_id, *others], "action": action, "reason": reason}
        response = post_json(client, "/v1/moderation/decisions", bulk, moderator)
        assert response.status_code in (200, 404, 409, 422), response.get_data(as_text=True)
        if unstorable(bulk):
            assert response.status_code == 422

    decide()
