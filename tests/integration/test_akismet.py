"""The Akismet-compatible endpoints, driven by the real ``akismet`` client from PyPI.

The client's base URL is fixed (``https://rest.akismet.com``); an ``httpx`` WSGI transport routes
its requests to our app instead, which is what pointing DNS or a proxy at CommentGate does.
Every test runs on both back ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import akismet
import httpx
import pytest
from sqlalchemy import select

from service.db import session_scope
from service.models import Decision, LabeledExample, Site, WebhookDelivery
from service.sites import NewSite
from tests.support.failing_model import serve_failing
from tests.support.stored import count_rows, site_comments
from tests.support.texts import HAM, SPAM, SPAM_THRESHOLDS

pytestmark = pytest.mark.integration

BLOG = "https://blog.example"
TOXIC = "You are a worthless idiot and everyone here hates you, shut up."
# Spam is held from 0.5 and rejected from 0.999; toxicity stays out of the way unless asked.
HOLD_SPAM = {
    "spam": {"approve_below": 0.5, "reject_at": 0.999},
    "toxicity": {"approve_below": 0.99, "reject_at": 0.999},
}
REJECT_SPAM = SPAM_THRESHOLDS
HOLD_TOXIC = {**HOLD_SPAM, "toxicity": {"approve_below": 0.5, "reject_at": 0.99}}
REJECT_TOXIC = {**HOLD_SPAM, "toxicity": {"approve_below": 0.3, "reject_at": 0.5}}
COMMENT = {
    "comment_type": "comment",
    "comment_author": "Max",
    "comment_author_email": "max@example.org",
    "permalink": f"{BLOG}/2024/01/on-iraq/",
    "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
    "comment_date_gmt": "2024-01-05T10:00:00Z",
}


@pytest.fixture
def wsgi(app) -> Iterator[Callable[..., httpx.Client]]:
    """``httpx`` clients whose transport reaches our Flask app in-process."""
    opened: list[httpx.Client] = []

    def make(**options: Any) -> httpx.Client:
        headers = {"User-Agent": akismet.USER_AGENT, **options.pop("headers", {})}
        http = httpx.Client(transport=httpx.WSGITransport(app=app), headers=headers, **options)
        opened.append(http)
        return http

    yield make
    for http in opened:
        http.close()


@pytest.fixture
def site(make_site, app) -> NewSite:
    made = make_site()
    set_policy(app, made, HOLD_SPAM)
    return made


@pytest.fixture
def akismet_client(site: NewSite, wsgi) -> akismet.SyncClient:
    """The PyPI client, built the way its docs recommend (it verifies the key first)."""
    config = akismet.Config(key=site.api_key, url=BLOG)
    return akismet.SyncClient.validated_client(config=config, http_client=wsgi())


def set_policy(app, site: NewSite, thresholds: dict[str, Any], **settings: Any) -> None:
    with session_scope(app.extensions["commentgate"].sessions) as session:
        session.get(Site, site.site.id).policy = {"thresholds": thresholds, **settings}


def labels(app, site: NewSite) -> list[LabeledExample]:
    with app.extensions["commentgate"].sessions() as session:
        query = select(LabeledExample).where(LabeledExample.site_id == site.site.id)
        return list(session.scalars(query.order_by(LabeledExample.id)))


def test_verify_key_accepts_a_site_key_and_refuses_others(site, wsgi, akismet_client) -> None:
    assert akismet_client.verify_key() is True
    assert akismet_client.verify_key("cg_not-a-key", BLOG) is False
    with pytest.raises(akismet.APIKeyError):
        akismet.SyncClient.validated_client(
            config=akismet.Config(key="cg_not-a-key", url=BLOG), http_client=wsgi()
        )


def test_clean_comment_is_ham_and_stored_with_its_decision(app, site, akismet_client) -> None:
    assert akismet_client.comment_check("203.0.113.7", comment_content=HAM, **COMMENT) == (
        akismet.CheckResponse.HAM
    )
    [comment] = site_comments(app, site)
    assert comment.source == "akismet" and comment.content == HAM
    assert (comment.status, comment.action, comment.decided_by) == ("approved", "approve", "model")
    assert comment.author_ip == "203.0.113.7" and comment.post_url == COMMENT["permalink"]
    assert comment.model_version and set(comment.scores) >= {"spam", "toxicity"}
    assert count_rows(app, Decision, Decision.comment_id == comment.id) == 1
    assert count_rows(app, WebhookDelivery, WebhookDelivery.comment_id == comment.id) == 0


def test_spam_is_true_and_held_for_moderators(app, site, akismet_client) -> None:
    assert akismet_client.comment_check("203.0.113.8", comment_content=SPAM, **COMMENT) == (
        akismet.CheckResponse.SPAM
    )
    [comment] = site_comments(app, site)
    assert comment.status == "held"
    assert "spam_score" in {r["code"] for r in comment.reasons}


def test_certain_spam_is_discard_only_where_the_site_opts_in(app, site, akismet_client) -> None:
    """By default a rejection goes to the platform's spam folder, where a person can find it."""
    set_policy(app, site, REJECT_SPAM)
    assert akismet_client.comment_check("203.0.113.9", comment_content=SPAM, **COMMENT) == (
        akismet.CheckResponse.SPAM
    )
    set_policy(app, site, REJECT_SPAM, akismet_discard=True)
    assert akismet_client.comment_check("203.0.113.9", comment_content=SPAM + "!") == (
        akismet.CheckResponse.DISCARD
    )
    assert [c.status for c in site_comments(app, site)] == ["rejected", "rejected"]


def test_toxicity_is_never_discard(app, site, wsgi) -> None:
    """Rejected for toxicity, even where discard is allowed: spam folder, never deleted unseen."""
    set_policy(app, site, REJECT_TOXIC, akismet_discard=True)
    form = {"api_key": site.api_key, "blog": BLOG, "user_ip": "203.0.113.12"}
    response = wsgi().post(
        "https://rest.akismet.com/1.1/comment-check", data={**form, "comment_content": TOXIC}
    )
    assert (response.text, response.headers.get("X-akismet-pro-tip")) == ("true", None)
    [comment] = site_comments(app, site)
    assert comment.status == "rejected"
    assert "toxicity_score" in {r["code"] for r in comment.reasons}


def test_held_only_for_toxicity_is_not_spam(app, site, akismet_client) -> None:
    set_policy(app, site, HOLD_TOXIC)
    assert akismet_client.comment_check("203.0.113.10", comment_content=TOXIC) == (
        akismet.CheckResponse.HAM
    )
    [comment] = site_comments(app, site)
    assert comment.status == "held"
    assert {r["code"] for r in comment.reasons} >= {"toxicity_score"}


def test_a_comment_the_model_fails_on_is_spam_for_the_client_and_held(
    app, site, akismet_client
) -> None:
    """Not published unread: the client's spam folder keeps it, and a moderator sees it here."""
    poison = "The one comment the model fails on."
    serve_failing(app, poison)
    assert akismet_client.comment_check("203.0.113.11", comment_content=poison, **COMMENT) == (
        akismet.CheckResponse.SPAM
    )
    assert akismet_client.comment_check("203.0.113.11", comment_content=HAM, **COMMENT) == (
        akismet.CheckResponse.HAM
    )
    failed, fine = sorted(site_comments(app, site), key=lambda c: c.content != poison)
    assert (failed.status, failed.scores, [r["code"] for r in failed.reasons]) == (
        "held",
        {},
        ["model_error"],
    )
    assert fine.status == "approved"


def test_recheck_finds_the_same_comment(app, site, wsgi, akismet_client) -> None:
    form = {"api_key": site.api_key, "blog": BLOG, "user_ip": "203.0.113.7", **COMMENT}
    form |= {"comment_content": SPAM, "recheck_reason": "edit"}
    first = wsgi().post("https://rest.akismet.com/1.1/comment-check", data=form)
    again = wsgi().post("https://rest.akismet.com/1.1/comment-check", data=form)
    assert first.text == again.text == "true"
    assert first.headers["X-akismet-guid"] == again.headers["X-akismet-guid"]
    [comment] = site_comments(app, site)
    assert comment.id == first.headers["X-akismet-guid"]
    assert comment.extra["akismet"]["recheck_reason"] == "edit"
    assert count_rows(app, Decision, Decision.comment_id == comment.id) == 1


def test_submit_spam_labels_the_checked_comment(app, site, akismet_client) -> None:
    assert akismet_client.comment_check("203.0.113.7", comment_content=HAM, **COMMENT) == 0
    assert akismet_client.submit_spam("203.0.113.7", comment_content=HAM, **COMMENT) is True
    [comment] = site_comments(app, site)
    [label] = labels(app, site)
    assert (label.comment_id, label.task, label.label, label.source) == (
        comment.id,
        "spam",
        1,
        "akismet",
    )
    assert label.text == HAM


def test_submit_ham_labels_a_false_positive_and_replaces_the_earlier_label(
    app, site, akismet_client
) -> None:
    assert akismet_client.comment_check("203.0.113.7", comment_content=SPAM, **COMMENT) == 1
    assert akismet_client.submit_spam("203.0.113.7", comment_content=SPAM, **COMMENT) is True
    assert akismet_client.submit_ham("203.0.113.7", comment_content=SPAM, **COMMENT) is True
    [label] = labels(app, site)
    assert (label.label, label.comment_id) == (0, site_comments(app, site)[0].id)


def test_submit_finds_the_comment_by_its_guid(app, site, wsgi) -> None:
    base = {"api_key": site.api_key, "blog": BLOG, "user_ip": "198.51.100.4"}
    checked = wsgi().post(
        "https://rest.akismet.com/1.1/comment-check", data={**base, "comment_content": HAM}
    )
    guid = checked.headers["X-akismet-guid"]
    response = wsgi().post("https://rest.akismet.com/1.1/submit-spam", data={**base, "guid": guid})
    assert response.text == "Thanks for making the web a better place."
    [label] = labels(app, site)
    assert (label.comment_id, label.text, label.label) == (guid, HAM, 1)


def test_bad_key_and_missing_fields_are_invalid_with_debug_help(site, wsgi) -> None:
    bad = akismet.SyncClient(config=akismet.Config(key="cg_wrong", url=BLOG), http_client=wsgi())
    with pytest.raises(akismet.APIKeyError):
        bad.comment_check("203.0.113.7", comment_content=HAM)
    url = "https://rest.akismet.com/1.1/comment-check"
    cases = [
        ({"api_key": "cg_wrong", "blog": BLOG, "user_ip": "1.2.3.4"}, "Invalid key"),
        ({"blog": BLOG, "user_ip": "1.2.3.4"}, 'Empty "api_key" value'),
        ({"api_key": site.api_key, "user_ip": "1.2.3.4"}, 'Empty "blog" value'),
        ({"api_key": site.api_key, "blog": BLOG}, 'Empty "user_ip" value'),
        ({"api_key": site.api_key, "blog": "blog", "user_ip": "1"}, "unable to parse your blog"),
    ]
    for form, help_text in cases:
        response = wsgi().post(url, data=form)
        assert (response.status_code, response.text) == (200, "invalid"), form
        assert help_text in response.headers["X-akismet-debug-help"]


def test_is_test_stores_nothing(app, site, akismet_client) -> None:
    assert akismet_client.comment_check("203.0.113.7", comment_content=SPAM, is_test=True) == 1
    assert akismet_client.submit_spam("203.0.113.7", comment_content=SPAM, is_test=True) is True
    assert site_comments(app, site) == [] and labels(app, site) == []


def test_administrator_is_never_spam(app, site, akismet_client) -> None:
    set_policy(app, site, REJECT_SPAM)
    answer = akismet_client.comment_check(
        "203.0.113.7", comment_content=SPAM, user_role="administrator"
    )
    assert answer == akismet.CheckResponse.HAM
    [comment] = site_comments(app, site)
    assert (comment.action, comment.decided_by) == ("approve", "rule")
    assert {"user_role", "spam_score"} <= {r["code"] for r in comment.reasons}


def test_key_as_subdomain(app, site, wsgi) -> None:
    """Old plugins send the key only in the host name: ``KEY.rest.akismet.com``."""
    form = {"blog": BLOG, "user_ip": "203.0.113.7", "comment_content": SPAM}
    for host in (f"{site.api_key}.rest.akismet.com", f"{site.api_key}.commentgate.example"):
        client = app.test_client()
        verified = client.post("/1.1/verify-key", data={"blog": BLOG}, headers={"Host": host})
        assert verified.text == "valid"
        checked = client.post("/1.1/comment-check", data=form, headers={"Host": host})
        assert checked.text == "true"
    bad = app.test_client().post(
        "/1.1/verify-key", data={"blog": BLOG}, headers={"Host": "cg_nope.rest.akismet.com"}
    )
    assert bad.text == "invalid"


def test_unknown_keys_are_ignored_and_a_filled_honeypot_is_discarded(app, site, wsgi) -> None:
    """The WordPress plugin also sends $_SERVER and POST_ values; only known fields are kept.
    A filled honeypot alone is certain spam: discard, where the site allows it."""
    set_policy(app, site, HOLD_SPAM, akismet_discard=True)
    form = {
        "api_key": site.api_key,
        "blog": BLOG,
        "user_ip": "203.0.113.7",
        "comment_content": HAM,
        "blog_lang": "en_US",
        "blog_charset": "UTF-8",
        "akismet_comment_nonce": "passed",
        "HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9",
        "POST_comment_post_ID": "17",
        "honeypot_field_name": "hp_url",
        "hp_url": "http://bot.example",
    }
    response = wsgi().post("https://rest.akismet.com/1.1/comment-check", data=form)
    assert (response.text, response.headers["X-akismet-pro-tip"]) == ("true", "discard")
    [comment] = site_comments(app, site)
    assert comment.status == "rejected"
    assert comment.reasons[0] == {
        "code": "honeypot",
        "message": "The hidden form field 'hp_url' was filled in.",
        "field": "hp_url",
        "action": "reject",
    }
    assert comment.extra["akismet"] == {
        "blog": BLOG,
        "blog_lang": "en_US",
        "blog_charset": "UTF-8",
        "honeypot_field_name": "hp_url",
    }
    assert comment.extra["hp_url"] == "http://bot.example"
    assert "HTTP_ACCEPT_LANGUAGE" not in str(comment.extra)


def test_usage_limit_and_key_sites_count_our_own_traffic(app, site, akismet_client, wsgi) -> None:
    akismet_client.comment_check("203.0.113.7", comment_content=SPAM, **COMMENT)
    akismet_client.comment_check("203.0.113.8", comment_content=HAM)
    akismet_client.submit_ham("203.0.113.7", comment_content=SPAM, **COMMENT)
    assert akismet_client.usage_limit() == {
        "limit": "none",
        "usage": 2,
        "percentage": "0.00",
        "throttled": False,
    }
    # The client does not send the key to key-sites, so it goes in a bearer header.
    http = wsgi(headers={"Authorization": f"Bearer {site.api_key}"})
    sites_client = akismet.SyncClient(
        config=akismet.Config(key=site.api_key, url=BLOG), http_client=http
    )
    report = sites_client.key_sites()
    [rows] = [v for k, v in report.items() if k not in {"limit", "offset", "total"}]
    assert (report["limit"], report["offset"], report["total"]) == (500, 0, 1)
    assert rows == [
        {
            "site": BLOG,
            "api_calls": "2",
            "spam": "1",
            "ham": "1",
            "missed_spam": "0",
            "false_positives": "1",
            "is_revoked": False,
        }
    ]
    csv = sites_client.key_sites(result_format="csv")
    assert csv.splitlines()[1].startswith("Site,Total API Calls,Spam,Ham")
    assert csv.splitlines()[2] == f"{BLOG},2,1,1,0,1,false"
    assert sites_client.key_sites(month="2001-01")["total"] == 0


def test_verify_key_judges_key_beside_api_key(site, wsgi, make_site) -> None:
    """A wrong ``key`` is not made valid by a valid ``api_key`` sent with it, nor the reverse,
    nor a key of another site."""
    url = "https://rest.akismet.com/1.1/verify-key"
    other = make_site()
    cases = [
        ({"key": "wrongkey1234", "api_key": site.api_key}, "invalid"),
        ({"key": site.api_key, "api_key": "wrongkey1234"}, "invalid"),
        ({"key": other.api_key, "api_key": site.api_key}, "invalid"),
        ({"key": site.api_key, "api_key": site.api_key}, "valid"),
        ({"key": site.api_key}, "valid"),
        ({"key": "wrongkey1234"}, "invalid"),
    ]
    for form, answer in cases:
        response = wsgi().post(url, data={**form, "blog": BLOG})
        assert response.text == answer, form


def test_wordpress_recheck_and_feedback_find_the_first_checked_comment(app, site, wsgi) -> None:
    """As WordPress sends them: the first check has no ``comment_date_gmt`` and still-escaped
    text; "Check for Spam" and submit-spam/ham come from its database row, with the date, the
    unescaped and filtered text and ``recheck_reason``. One comment, one decision, labels on it."""
    url = "https://rest.akismet.com/1.1/"
    base = {"api_key": site.api_key, "blog": BLOG, "user_ip": "203.0.113.7"}
    first = {
        **base,
        "comment_post_ID": "17",
        "permalink": f"{BLOG}/2024/01/on-iraq/",
        "comment_author": "Max O\\'Neil",
        "comment_author_email": "max@example.org",
        "comment_content": "Don\\'t  miss <script>this</script>: cheap viagra &amp; casino http://x.example",
    }
    from_db = {
        **first,
        "comment_author": "Max O'Neil",
        "comment_content": "Don't miss this: cheap viagra & casino http://x.example",
        "comment_date_gmt": "2024-01-05 10:00:03",
        "comment_ID": "501",
    }
    checked = wsgi().post(url + "comment-check", data=first)
    guid = checked.headers["X-akismet-guid"]
    rechecked = wsgi().post(
        url + "comment-check", data={**from_db, "recheck_reason": "recheck_queue"}
    )
    assert rechecked.headers["X-akismet-guid"] == guid
    assert wsgi().post(url + "submit-spam", data=from_db).text.startswith("Thanks")
    [comment] = site_comments(app, site)
    assert comment.id == guid
    assert count_rows(app, Decision, Decision.comment_id == guid) == 1
    [label] = labels(app, site)
    assert (label.comment_id, label.label) == (guid, 1)
    assert wsgi().post(url + "submit-ham", data=from_db).text.startswith("Thanks")
    [label] = labels(app, site)
    assert (label.comment_id, label.label) == (guid, 0)


def test_another_comment_by_the_same_author_is_another_comment(app, site, wsgi) -> None:
    url = "https://rest.akismet.com/1.1/comment-check"
    base = {"api_key": site.api_key, "blog": BLOG, "user_ip": "203.0.113.7", **COMMENT}
    one = wsgi().post(url, data={**base, "comment_content": HAM})
    two = wsgi().post(url, data={**base, "comment_content": HAM + " And one more thing."})
    other_post = wsgi().post(
        url, data={**base, "comment_content": HAM, "permalink": f"{BLOG}/2024/02/other/"}
    )
    guids = {r.headers["X-akismet-guid"] for r in (one, two, other_post)}
    assert len(guids) == 3 and len(site_comments(app, site)) == 3


def test_the_plugin_s_account_endpoints_answer_as_it_parses_them(app, site, wsgi) -> None:
    """What the WordPress plugin reads: ``connected`` from /1.1/test, a JSON account with
    ``status`` from get-subscription (``invalid`` for a wrong key), JSON stats per ``from``
    period, ``deactivated``; every one takes the 12-hex key as ``key``."""
    url = "https://rest.akismet.com/1.1/"
    http = wsgi()
    assert http.get(url + "test").text == "connected"
    assert http.post(url + "test").text == "connected"
    form = {"key": site.akismet_key, "blog": BLOG}
    account = http.post(url + "get-subscription", data=form)
    assert account.headers["Content-Type"].startswith("application/json")
    body = account.json()
    assert (body["status"], body["account_type"], body["account_name"]) == (
        "active",
        "commentgate",
        site.site.name,
    )
    assert body["next_billing_date"] > time.time() and body["limit_reached"] is False
    bad = {"key": "0123456789ab", "blog": BLOG}
    assert http.post(url + "get-subscription", data=bad).text == "invalid"

    check = {"api_key": site.akismet_key, "blog": BLOG, "user_ip": "203.0.113.7", **COMMENT}
    assert http.post(url + "comment-check", data={**check, "comment_content": SPAM}).text == "true"
    assert http.post(url + "comment-check", data={**check, "comment_content": HAM}).text == "false"
    http.post(url + "submit-ham", data={**check, "comment_content": SPAM})
    for period in ("all", "6-months", "30-days", "2024-01-01"):
        stats = http.post(url + "get-stats", data={**form, "from": period}).json()
        assert stats == {
            "spam": 1,
            "ham": 1,
            "missed_spam": 0,
            "false_positives": 1,
            "accuracy": 50.0,
            "time_saved": 0,
            "breakdown": {},
        }, period
    assert http.post(url + "get-stats", data={**form, "from": "2999-01-01"}).json()["spam"] == 0
    assert http.post(url + "get-stats", data={**form, "from": "yesterday"}).text == "invalid"
    assert http.post(url + "deactivate", data=form).text == "deactivated"
    assert http.post(url + "deactivate", data=bad).text == "invalid"
    assert http.post(url + "verify-key", data=form).text == "valid", "still valid afterwards"


def test_errors_carry_x_akismet_error_and_key_problems_an_alert(site, wsgi) -> None:
    """The plugin holds a comment for moderation on ``X-akismet-error`` and shows its admin
    ``X-akismet-alert-code``/``-msg`` until an answer comes without them."""
    url = "https://rest.akismet.com/1.1/comment-check"
    form = {"api_key": site.akismet_key, "blog": BLOG, "user_ip": "203.0.113.7"}
    fine = wsgi().post(url, data={**form, "comment_content": HAM})
    assert fine.text == "false"
    assert not {"x-akismet-error", "x-akismet-alert-code"} & set(fine.headers)
    for bad in ({**form, "api_key": "0123456789ab"}, {"blog": BLOG, "user_ip": "1.2.3.4"}):
        refused = wsgi().post(url, data=bad)
        assert refused.text == "invalid"
        assert refused.headers["X-akismet-error"]
        assert refused.headers["X-akismet-alert-code"] == "10401"
        assert "invalid" in refused.headers["X-akismet-alert-msg"]
    missing = wsgi().post(url, data={**form, "user_ip": ""})
    assert missing.headers["X-akismet-error"] == 'Empty "user_ip" value'
    assert "X-akismet-alert-code" not in missing.headers, "not a key problem"
    too_long = wsgi().post(url, data={**form, "comment_content": "x" * 100_001})
    assert too_long.status_code >= 400 and too_long.headers["X-akismet-error"]


def test_the_pypi_client_works_end_to_end_with_the_12_hex_key(app, site, wsgi) -> None:
    """The ``akismet`` client from PyPI, configured with the site's Akismet key instead of its
    ``cg_`` key: verified, checks, feedback attached, usage and key-sites."""
    config = akismet.Config(key=site.akismet_key, url=BLOG)
    client = akismet.SyncClient.validated_client(config=config, http_client=wsgi())
    assert client.verify_key() is True
    assert client.comment_check("203.0.113.7", comment_content=SPAM, **COMMENT) == (
        akismet.CheckResponse.SPAM
    )
    assert client.comment_check("203.0.113.8", comment_content=HAM) == akismet.CheckResponse.HAM
    assert client.submit_ham("203.0.113.7", comment_content=SPAM, **COMMENT) is True
    spam = next(c for c in site_comments(app, site) if c.content == SPAM)
    [label] = labels(app, site)
    assert (label.comment_id, label.label) == (spam.id, 0)
    assert client.usage_limit()["usage"] == 2
    http = wsgi(headers={"Authorization": f"Bearer {site.akismet_key}"})
    report = akismet.SyncClient(config=config, http_client=http).key_sites()
    assert report["total"] == 1
    wrong = akismet.Config(key="0123456789ab", url=BLOG)
    with pytest.raises(akismet.APIKeyError):
        akismet.SyncClient.validated_client(config=wrong, http_client=wsgi())
