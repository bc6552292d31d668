"""Bad input answers 4xx on every endpoint, never 500, and stores nothing; both back ends.

Lone UTF-16 surrogates and NUL characters in any text (PostgreSQL refuses NUL, neither database
can encode a lone surrogate), JSON nested 20,000 levels deep, metadata of the wrong types,
comments over the one length limit, and Akismet's key-sites.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests

from service.db import session_scope
from service.models import Comment, Decision, LabeledExample
from tests.conftest import auth
from tests.support.stored import count_rows, moderator_headers

pytestmark = pytest.mark.integration

SURROGATE, NUL = "\ud800", "\x00"
UNSTORABLE = pytest.mark.parametrize("bad", [SURROGATE, NUL], ids=["surrogate", "nul"])
BLOG = "https://blog.example"
MAX_CONTENT_CHARS = 20_000  # the README's limit, on every endpoint
COMMENT = {
    "external_id": "c-1",
    "content": "A fine comment on the post.",
    "author": {"name": "Ann", "user_agent": "Mozilla/5.0"},
    "post": {"id": "p-1", "title": "On rivers"},
    "parent_external_id": "c-0",
    "language": "en",
    "metadata": {"note": "kept", "form": {"step": "two"}},
}


def post_json(client, path: str, body: Any, headers: dict[str, str]):
    """JSON as a client library sends it: lone surrogates escaped as ``\\ud800``."""
    headers = {**headers, "Content-Type": "application/json"}
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(path, data=data, headers=headers)


def spoiled(body: dict[str, Any], path: tuple[str, ...], bad: str) -> dict[str, Any]:
    body = json.loads(json.dumps(body))
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] += bad
    return body


def at(details: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        details = details[key]
    return details


# --- lone surrogates and NUL characters ----------------------------------------------------------


FIELDS = [
    ("content",),
    ("external_id",),
    ("author", "name"),
    ("author", "user_agent"),
    ("post", "id"),
    ("post", "title"),
    ("parent_external_id",),
    ("language",),
    ("metadata", "note"),
    ("metadata", "form", "step"),
]


@UNSTORABLE
def test_unstorable_text_in_any_comment_field_is_422(client, app, make_site, bad) -> None:
    site = make_site()
    for path in FIELDS:
        response = post_json(client, "/v1/comments", spoiled(COMMENT, path, bad), auth(site))
        assert response.status_code == 422, (path, response.get_data(as_text=True))
        error = response.get_json()["error"]
        assert error["code"] == "validation_error"
        assert "must not contain" in " ".join(at(error["details"], path)).lower(), path
    assert count_rows(app, Comment) == 0


@UNSTORABLE
def test_unstorable_metadata_key_is_422(client, app, make_site, bad) -> None:
    body = {**COMMENT, "metadata": {f"key{bad}": "value"}}
    response = post_json(client, "/v1/comments", body, auth(make_site()))
    assert response.status_code == 422
    assert "Keys must not contain" in response.get_json()["error"]["details"]["metadata"][0]
    assert count_rows(app, Comment) == 0


def test_nul_in_the_path_or_query_is_422(client, app, make_site) -> None:
    site = make_site()
    moderator = moderator_headers(app, site)
    for path, headers in [
        ("/v1/comments/%00", auth(site)),
        ("/v1/moderation/comments/%00", moderator),
        ("/v1/moderation/queue?q=a%00b", moderator),
        ("/v1/moderation/audit?comment=%00", moderator),
    ]:
        response = client.get(path, headers=headers)
        assert response.status_code == 422, (path, response.get_data(as_text=True))
        assert response.get_json()["error"]["code"] == "validation_error"


@UNSTORABLE
def test_moderators_cannot_store_unstorable_text(client, app, make_site, bad) -> None:
    site = make_site()
    moderator = moderator_headers(app, site)
    comment_id = post_json(client, "/v1/comments", COMMENT, auth(site)).get_json()["id"]
    single = f"/v1/moderation/comments/{comment_id}/decision"
    for path, body in [
        (single, {"action": "approve", "reason": f"fine{bad}"}),
        ("/v1/moderation/decisions", {"ids": [comment_id], "action": "reject", "reason": bad}),
        ("/v1/moderation/decisions", {"ids": [comment_id, f"x{bad}"], "action": "reject"}),
    ]:
        response = post_json(client, path, body, moderator)
        assert response.status_code == 422, response.get_data(as_text=True)
    policy = f"/v1/sites/{site.site.id}/policy"
    refused = client.patch(
        policy,
        data=json.dumps({"blocked_terms": [f"casino{bad}"]}),
        headers={**moderator, "Content-Type": "application/json"},
    )
    assert refused.status_code == 422
    assert count_rows(app, Decision) == 0
    assert client.get(policy, headers=moderator).get_json()["blocked_terms"] == []


@UNSTORABLE
def test_perspective_refuses_unstorable_text_in_its_own_error_shape(
    client, app, make_site, bad
) -> None:
    site = make_site()
    analyze = f"/v1alpha1/comments:analyze?key={site.api_key}"
    body = {"comment": {"text": f"You are kind{bad}"}, "requestedAttributes": {"TOXICITY": {}}}
    response = post_json(client, analyze, body, {})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert (error["code"], error["status"]) == (422, "INVALID_ARGUMENT")
    assert error["details"][0]["fieldViolations"][0]["field"] == "comment.text"
    token = {**body, "comment": {"text": "You are kind"}, "clientToken": f"t{bad}"}
    assert post_json(client, analyze, token, {}).status_code == 422
    suggest = {
        "comment": {"text": f"You are kind{bad}"},
        "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0.1}}},
    }
    path = f"/v1alpha1/comments:suggestscore?key={site.api_key}"
    assert post_json(client, path, suggest, {}).status_code == 422
    assert client.post(f"{analyze}%00", json=body).get_json()["error"]["code"] == 422
    assert count_rows(app, Comment) == count_rows(app, LabeledExample) == 0


def test_akismet_refuses_nul_in_any_form_field(client, app, make_site) -> None:
    site = make_site()
    form = {"key": site.api_key, "blog": BLOG, "user_ip": "203.0.113.7", "comment_content": "Hi"}
    for path, extra in [
        ("/1.1/comment-check", {"comment_content": "Nice\x00post"}),
        ("/1.1/comment-check", {"comment_author": "Max\x00"}),
        ("/1.1/comment-check", {"honeypot_field_name": "trap\x00"}),
        ("/1.1/submit-spam", {"guid": "\x00"}),
        ("/1.1/submit-ham", {"comment_content": "\x00"}),
        ("/1.1/comment-check", {"a field\r\nnamed freely": "\x00"}),
    ]:
        response = client.post(path, data={**form, **extra})
        assert response.status_code == 422, (path, response.get_data(as_text=True))
        assert response.get_json()["error"]["code"] == "validation_error"
        assert "NUL" in response.headers["X-akismet-debug-help"]
    assert count_rows(app, Comment) == count_rows(app, LabeledExample) == 0


def test_moderator_page_refuses_nul_in_a_reason(client, app, make_site) -> None:
    site = make_site()
    token = moderator_headers(app, site)["Authorization"].removeprefix("Bearer ")
    comment_id = post_json(client, "/v1/comments", COMMENT, auth(site)).get_json()["id"]
    with client.session_transaction() as session:
        session["csrf"] = "form-token"
    signed_in = client.post("/moderate/sign-in", data={"token": token, "csrf_token": "form-token"})
    assert signed_in.status_code == 303
    with client.session_transaction() as session:
        csrf = session["csrf"]
    response = client.post(
        f"/moderate/comments/{comment_id}/decision",
        data={"csrf_token": csrf, "decision": "approve", "reason": "ok\x00"},
    )
    assert response.status_code == 422
    assert count_rows(app, Decision) == 0


# --- JSON that cannot be read --------------------------------------------------------------------

DEPTH = 20_000


@pytest.mark.parametrize(
    "deep",
    # Objects nest 10,000 deep: 20,000 would not fit in a body under the 64 KiB limit.
    ["[" * DEPTH + "]" * DEPTH, '{"":' * (DEPTH // 2) + "1" + "}" * (DEPTH // 2)],
    ids=["arrays", "objects"],
)
def test_json_nested_20000_levels_is_400_on_every_json_endpoint(
    live_server, app, make_site, deep
) -> None:
    site = make_site()
    json_type = {"Content-Type": "application/json"}
    calls = [
        ("/v1/comments", auth(site)),
        ("/v1/moderation/decisions", moderator_headers(app, site)),
        (f"/v1alpha1/comments:analyze?key={site.api_key}", {}),
    ]
    inside = '{"external_id": "d", "content": "deep", "metadata": {"a": ' + deep + "}}"
    for path, headers in calls:
        for body in (deep, inside):
            response = requests.post(
                live_server + path, data=body, headers={**headers, **json_type}, timeout=30
            )
            assert response.status_code == 400, (path, response.text[:300])
            assert "nested too deeply" in response.json()["error"]["message"]
    assert count_rows(app, Comment) == 0


def test_numbers_json_does_not_have_are_400(client, app, make_site) -> None:
    site = make_site()
    for number in ("NaN", "Infinity", "-Infinity", "1e400", "9" * 5000):
        body = '{"external_id": "n", "content": "numbers", "metadata": {"n": ' + number + "}}"
        response = post_json(client, "/v1/comments", body, auth(site))
        assert response.status_code == 400, number[:10]
        assert response.get_json()["error"]["code"] == "bad_request"
    assert count_rows(app, Comment) == 0


# --- metadata the policy reads, and moments ------------------------------------------------------


WRONG_TYPES = [
    {"honeypot_field_name": ["website2"]},
    {"honeypot_field_name": {"name": "website2"}},
    {"honeypot_field_name": 7},
    {"honeypot_field_name": "x" * 101},
    {"submit_seconds": "soon"},
    {"submit_seconds": [3]},
    {"submit_seconds": True},
    {"submit_seconds": 10**400},
    {"form_rendered_at": {"at": 1}},
    {"form_rendered_at": False},
    {"submitted_at": [1704067200]},
    {"submitted_at": 10**400},
]


def test_metadata_the_policy_reads_must_have_its_types(client, app, make_site) -> None:
    site = make_site()
    for metadata in WRONG_TYPES:
        body = {"external_id": "m", "content": "Typed metadata.", "metadata": metadata}
        response = post_json(client, "/v1/comments", body, auth(site))
        assert response.status_code == 422, (metadata, response.get_data(as_text=True))
        assert next(iter(metadata)) in response.get_json()["error"]["details"]["metadata"]
    assert count_rows(app, Comment) == 0


def test_metadata_of_the_right_types_and_free_form_keys_are_kept(client, app, make_site) -> None:
    site = make_site()
    metadata = {
        "honeypot_field_name": "website2",
        "website2": ["any", {"json": None}],
        "submit_seconds": 4,
        "form_rendered_at": "2024-01-05T10:00:00Z",
        "submitted_at": 1704449000000,
        "plugin": {"version": "1.2", "flags": [True, 1.5, None]},
    }
    body = {"external_id": "ok", "content": "Typed metadata.", "metadata": metadata}
    response = post_json(client, "/v1/comments", body, auth(site))
    assert response.status_code == 202, response.get_data(as_text=True)
    with session_scope(app.extensions["commentgate"].sessions) as session:
        stored = session.get(Comment, response.get_json()["id"]).extra
    assert stored == {**metadata, "submit_seconds": 4.0}


def test_moments_outside_the_years_utc_can_hold_are_422(client, app, make_site) -> None:
    site = make_site()
    moderator = moderator_headers(app, site)
    for moment in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        body = {"external_id": "t", "content": "When?", "created_at": moment}
        response = post_json(client, "/v1/comments", body, auth(site))
        assert response.status_code == 422, moment
        assert "created_at" in response.get_json()["error"]["details"]
        since = requests.utils.quote(moment)
        queue = client.get(f"/v1/moderation/queue?since={since}", headers=moderator)
        assert queue.status_code == 422, moment
    assert count_rows(app, Comment) == 0


# --- one length limit ----------------------------------------------------------------------------


def test_one_comment_length_limit_holds_on_every_endpoint(client, app, make_site) -> None:
    site = make_site()
    longest, too_long = "word " * (MAX_CONTENT_CHARS // 5), "word " * 12_000
    assert len(longest) == MAX_CONTENT_CHARS and len(too_long) == 60_000
    refused = post_json(
        client, "/v1/comments", {"external_id": "j", "content": longest + "x"}, auth(site)
    )
    assert refused.status_code == 422
    form = {"key": site.api_key, "blog": BLOG, "user_ip": "203.0.113.7"}
    for path in ("/1.1/comment-check", "/1.1/submit-spam", "/1.1/submit-ham"):
        response = client.post(path, data={**form, "comment_content": too_long})
        assert response.status_code == 422, path
        assert "20000" in response.headers["X-akismet-debug-help"]
    perspective = {
        "comment": {"text": longest + "x"},  # 20,001 bytes: within Perspective's 20 KiB
        "requestedAttributes": {"TOXICITY": {}},
    }
    analyze = f"/v1alpha1/comments:analyze?key={site.api_key}"
    response = post_json(client, analyze, perspective, {})
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "Comment text too long."
    assert count_rows(app, Comment) == count_rows(app, LabeledExample) == 0

    accepted = client.post("/1.1/comment-check", data={**form, "comment_content": longest})
    assert accepted.status_code == 200 and accepted.text in ("true", "false")
    assert count_rows(app, Comment) == 1


# --- Akismet's key-sites -------------------------------------------------------------------------


def test_key_sites_answers_for_any_month_it_can_parse(client, make_site) -> None:
    site = make_site()
    for month in ("9999-12", "0001-01", "2024-02"):
        response = client.post("/1.2/key-sites", data={"key": site.api_key, "month": month})
        assert response.status_code == 200, month
        assert response.get_json()[month] == [] and response.get_json()["total"] == 0
    for params in ({"month": "10000-01"}, {"month": "2024-\n1"}, {"limit": "1\r\nX: y"}):
        refused = client.post("/1.2/key-sites", data={"key": site.api_key, **params})
        assert refused.status_code == 200 and refused.text == "invalid", params
        assert "\n" not in refused.headers["X-akismet-debug-help"]


def test_a_honeypot_named_like_a_kept_key_keeps_key_sites_working(client, app, make_site) -> None:
    site, name = make_site(), "akismet"
    form = {
        "key": site.api_key,
        "blog": BLOG,
        "user_ip": "203.0.113.7",
        "comment_author": "Max",
        "honeypot_field_name": name,
    }
    kind = client.post(
        "/1.1/comment-check", data={**form, "comment_content": "Kind words.", name: ""}
    )
    trapped = client.post(
        "/1.1/comment-check", data={**form, "comment_content": "Buy now.", name: "filled"}
    )
    assert trapped.status_code == 200 and trapped.text == "true"
    assert "X-akismet-pro-tip" not in trapped.headers, "discarding is the site's opt-in"

    def codes(response) -> set[str]:
        with session_scope(app.extensions["commentgate"].sessions) as session:
            comment = session.get(Comment, response.headers["X-akismet-guid"])
            return {reason["code"] for reason in comment.reasons}

    assert "honeypot" in codes(trapped) and "honeypot" not in codes(kind)
    report = client.post("/1.2/key-sites", data={"key": site.api_key})
    assert report.status_code == 200, report.get_data(as_text=True)
    [row] = next(rows for key, rows in report.get_json().items() if re.match(r"\d{4}-", key))
    assert row["site"] == BLOG and row["api_calls"] == "2"
