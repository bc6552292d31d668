"""The Perspective-compatible endpoints, sent the request bodies Perspective documents and Coral
Talk sends (``coralproject/talk``: ``services/perspective/perspective.ts``), on both back ends.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from service import create_app
from service.api.perspective import ATTRIBUTES, DERIVED_EXPONENTS
from service.db import session_scope
from service.models import Comment, Decision, LabeledExample, Site
from service.sites import NewSite, create_site
from tests.conftest import BEFORE_STORAGE
from tests.support.failing_model import FailsOn, serve_failing
from tests.support.stored import count_rows, rows_of

pytestmark = pytest.mark.integration

DOCUMENTED = "What kind of idiot name is foo? Sorry, I like your name."
TOXIC = "You are a worthless idiot and everyone here hates you, shut up."
CLEAN = "Thanks for the thoughtful article, it reminded me of my grandmother's stories."
POISON = "This is the one sentence the model fails on."


@pytest.fixture
def site(make_site) -> NewSite:
    return make_site()


def analyze(client, site: NewSite, body: dict[str, Any], **options: Any):
    """POST the way Coral does: its endpoint setting + ``/comments:analyze`` + ``?key=``."""
    return client.post(f"/v1alpha1/comments:analyze?key={site.api_key}", json=body, **options)


def coral_analyze(text: str, do_not_store: bool = True) -> dict[str, Any]:
    """``formatBody`` for ``comments:analyze`` in Coral Talk (its default model is TOXICITY)."""
    return {
        "comment": {"text": text},
        "doNotStore": do_not_store,
        "requestedAttributes": {"TOXICITY": {}},
        "languages": ["en"],
    }


def coral_suggest(text: str, comment_id: str, status: str) -> dict[str, Any]:
    """``formatBody`` for ``comments:suggestscore`` in Coral Talk."""
    url = f"https://news.example/story/1?commentID={comment_id}"
    context = {"url": url, "Coral_comment_id": comment_id}
    return {
        "comment": {"text": text},
        "context": {"entries": [{"text": json.dumps(context)}]},
        "attributeScores": {
            "TOXICITY": {"summaryScore": {"value": 0 if status == "APPROVED" else 1}}
        },
        "languages": ["en"],
        "communityId": "Coral:https://news.example",
        "clientToken": f"comment:{comment_id}",
    }


def probability(score: dict[str, Any]) -> float:
    assert score["type"] == "PROBABILITY"
    assert 0.0 <= score["value"] <= 1.0
    return score["value"]


def test_documented_request_gets_documented_response(client, app, site) -> None:
    body = {
        "comment": {"text": DOCUMENTED},
        "languages": ["en"],
        "requestedAttributes": {"TOXICITY": {}},
    }
    response = analyze(client, site, body)
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert set(answer) == {"attributeScores", "languages"}
    assert answer["languages"] == ["en"]
    assert set(answer["attributeScores"]) == {"TOXICITY"}
    assert set(answer["attributeScores"]["TOXICITY"]) == {"summaryScore"}
    value = probability(answer["attributeScores"]["TOXICITY"]["summaryScore"])
    [comment] = rows_of(app, Comment, Comment.site_id == site.site.id)
    assert (comment.source, comment.content, comment.language) == ("perspective", DOCUMENTED, "en")
    assert comment.scores["toxicity"] == value and comment.status != "pending"
    assert len(rows_of(app, Decision, Decision.comment_id == comment.id)) == 1


@pytest.mark.parametrize(
    "text",
    [
        "&#" + "9" * 5000 + ";",  # more digits than Python turns into an int
        "&#" + "0" * 5000 + "65; is an A",  # as many, but leading zeros: a small code point
    ],
)
def test_character_references_of_any_length_are_scored(client, site, text: str) -> None:
    response = analyze(client, site, coral_analyze(text))
    assert response.status_code == 200, response.get_json()
    probability(response.get_json()["attributeScores"]["TOXICITY"]["summaryScore"])


def test_span_annotations_score_each_sentence(client, site) -> None:
    body = {
        "comment": {"text": DOCUMENTED},
        "requestedAttributes": {"TOXICITY": {"scoreType": "PROBABILITY"}, "SPAM": {}},
        "spanAnnotations": True,
        "clientToken": "req-7",
    }
    answer = analyze(client, site, body).get_json()
    assert answer["clientToken"] == "req-7" and answer["languages"] == ["en"]
    for name in ("TOXICITY", "SPAM"):
        spans = answer["attributeScores"][name]["spanScores"]
        assert [(s["begin"], s["end"]) for s in spans] == [(0, 31), (32, 56)]
        assert all(probability(s["score"]) >= 0 for s in spans)
        probability(answer["attributeScores"][name]["summaryScore"])


def test_coral_talk_analyze_with_do_not_store_stores_nothing(client, app, site) -> None:
    toxic = analyze(client, site, coral_analyze(TOXIC)).get_json()
    clean = analyze(client, site, coral_analyze(CLEAN)).get_json()
    # What Coral reads: result.data.attributeScores[model].summaryScore.value
    toxic_score = toxic["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
    clean_score = clean["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
    assert toxic_score > 0.5 > clean_score
    assert (count_rows(app, Comment), count_rows(app, Decision)) == (0, 0)


def test_coral_talk_suggestscore_keeps_a_label_against_the_analyzed_comment(
    client, app, site
) -> None:
    analyze(client, site, coral_analyze(TOXIC, do_not_store=False))
    [comment] = rows_of(app, Comment, Comment.site_id == site.site.id)
    response = client.post(
        f"/v1alpha1/comments:suggestscore?key={site.api_key}",
        json=coral_suggest(TOXIC, "c-123", "DELETED"),
    )
    assert response.status_code == 200
    assert response.get_json() == {"clientToken": "comment:c-123", "requestedLanguages": ["en"]}
    client.post(
        "/v1alpha1/comments:suggestscore",
        json=coral_suggest(CLEAN, "c-124", "APPROVED"),
        headers={"Authorization": f"Bearer {site.api_key}"},
    )
    found = rows_of(app, LabeledExample, LabeledExample.site_id == site.site.id)
    labels = sorted(found, key=lambda x: x.id)
    assert [(x.task, x.label, x.text, x.source) for x in labels] == [
        ("moderation", 1, TOXIC, "perspective"),
        ("moderation", 0, CLEAN, "perspective"),
    ], "a moderator's reject or approve, whatever the reason: not a toxicity label"
    assert [x.comment_id for x in labels] == [comment.id, None]


def test_a_rejection_is_no_toxicity_label_unless_the_site_says_so(client, app, site) -> None:
    spam = "Buy cheap watches at my shop, best prices on the whole internet."
    suggest = f"/v1alpha1/comments:suggestscore?key={site.api_key}"
    client.post(suggest, json=coral_suggest(spam, "c-1", "DELETED"))
    set_policy(app, site, perspective_feedback="toxicity")
    client.post(suggest, json=coral_suggest(TOXIC, "c-2", "DELETED"))
    client.post(suggest, json={**coral_suggest(CLEAN, "c-3", "APPROVED")})
    spam_label = {"comment": {"text": spam}, "attributeScores": {"SPAM": {"summaryScore": {}}}}
    set_policy(app, site, perspective_feedback="decision")
    spam_label["attributeScores"]["SPAM"]["summaryScore"]["value"] = 1
    client.post(suggest, json=spam_label)
    labels = sorted(rows_of(app, LabeledExample, LabeledExample.site_id == site.site.id), key=id_of)
    assert [(x.task, x.label, x.text) for x in labels] == [
        ("moderation", 1, spam),
        ("toxicity", 1, TOXIC),
        ("toxicity", 0, CLEAN),
        ("spam", 1, spam),
    ]


def id_of(row: Any) -> int:
    return row.id


def test_documented_suggestscore_example(client, app, site) -> None:
    body = {
        "comment": {
            "text": "I guess it comes down a simple choice: Get busy living, or get busy dying."
        },
        "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0}}},
        "communityId": "/forum/movies",
        "clientToken": "comment-53922",
    }
    response = client.post(f"/v1alpha1/comments:suggestscore?key={site.api_key}", json=body)
    assert response.get_json() == {"clientToken": "comment-53922"}
    [label] = rows_of(app, LabeledExample, LabeledExample.site_id == site.site.id)
    assert (label.task, label.label) == ("moderation", 0)


def test_client_token_makes_a_resent_request_idempotent(client, app, site) -> None:
    body = {**coral_analyze(CLEAN, do_not_store=False), "clientToken": "comment:c-9"}
    first = analyze(client, site, body).get_json()
    again = analyze(client, site, body).get_json()
    assert first == again
    assert count_rows(app, Comment) == 1


def test_score_threshold_leaves_out_low_scores(client, site) -> None:
    body = {
        "comment": {"text": CLEAN},
        "requestedAttributes": {"TOXICITY": {"scoreThreshold": 0.99}, "SPAM": {}},
        "doNotStore": True,
    }
    answer = analyze(client, site, body).get_json()
    assert set(answer["attributeScores"]) == {"SPAM"}


def google_error(response, code: int, status: str) -> dict[str, Any]:
    assert response.status_code == code
    error = response.get_json()["error"]
    assert (error["code"], error["status"]) == (code, status)
    assert isinstance(error["message"], str) and error["message"]
    return error


def test_unknown_and_unsupported_attributes_get_errors_that_name_them(client, app, site) -> None:
    # The documented example also asks for UNSUBSTANTIAL, an attribute Perspective has retired.
    body = {
        "comment": {"text": DOCUMENTED},
        "languages": ["en"],
        "requestedAttributes": {"TOXICITY": {}, "UNSUBSTANTIAL": {}},
    }
    error = google_error(analyze(client, site, body), 400, "INVALID_ARGUMENT")
    assert error["message"] == "Unknown requested attribute: UNSUBSTANTIAL"

    model = app.extensions["commentgate"].model()
    derived = set(DERIVED_EXPONENTS)
    [missing, *_] = [
        name for name, out in ATTRIBUTES.items() if out not in model.outputs and name not in derived
    ]
    body = {"comment": {"text": CLEAN}, "requestedAttributes": {missing: {}}}
    error = google_error(analyze(client, site, body), 400, "INVALID_ARGUMENT")
    assert error["message"].startswith(f"Attribute {missing} is not supported by this model")
    assert "language" not in error["message"]
    assert count_rows(app, Comment) == 0


def test_severe_toxicity_and_threat_are_derived_from_toxicity_at_a_stricter_calibration(
    client, site
) -> None:
    scores = {}
    for text in (CLEAN, TOXIC):
        body = {
            **coral_analyze(text),
            "requestedAttributes": {"TOXICITY": {}, "SEVERE_TOXICITY": {}, "THREAT": {}},
        }
        answer = analyze(client, site, body).get_json()["attributeScores"]
        scores[text] = {k: probability(v["summaryScore"]) for k, v in answer.items()}
    for values in scores.values():
        assert values["THREAT"] <= values["SEVERE_TOXICITY"] <= values["TOXICITY"]
        assert values["SEVERE_TOXICITY"] == pytest.approx(values["TOXICITY"] ** 2)
    assert scores[TOXIC]["SEVERE_TOXICITY"] > scores[CLEAN]["SEVERE_TOXICITY"], "order is kept"
    coral = {**coral_analyze(TOXIC), "requestedAttributes": {"SEVERE_TOXICITY": {}}}
    assert analyze(client, site, coral).status_code == 200, "Coral's admin may pick it"


@pytest.mark.parametrize("language", ["es", "fr", "de", "pt", "pt-BR"])
def test_other_languages_are_scored_and_marked_out_of_domain_by_default(
    client, app, site, language: str
) -> None:
    body = {**coral_analyze("Eres un idiota inútil.", do_not_store=False), "languages": [language]}
    response = analyze(client, site, body)
    assert response.status_code == 200
    answer = response.get_json()
    probability(answer["attributeScores"]["TOXICITY"]["summaryScore"])
    assert answer["languages"] == [language]
    assert answer["detectedLanguages"] == [language]
    assert response.headers["X-CommentGate-Out-Of-Domain-Languages"] == language
    [comment] = rows_of(app, Comment, Comment.site_id == site.site.id)
    assert comment.extra["perspective"]["outOfDomainLanguages"] == [language]
    english = analyze(client, site, coral_analyze(CLEAN))
    assert "detectedLanguages" not in english.get_json()
    assert "X-CommentGate-Out-Of-Domain-Languages" not in english.headers


def test_a_site_may_reject_other_languages_with_perspectives_error(client, app, site) -> None:
    set_policy(app, site, perspective_languages="reject")
    german = {**coral_analyze("Das ist ein Kommentar."), "languages": ["de"]}
    error = google_error(analyze(client, site, german), 400, "INVALID_ARGUMENT")
    assert error["message"] == "Attribute TOXICITY does not support request languages: de"
    [detail] = error["details"]
    assert detail["errorType"] == "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"
    assert detail["languageNotSupportedByAttributeError"]["attribute"] == "TOXICITY"
    assert analyze(client, site, coral_analyze(CLEAN)).status_code == 200


def set_policy(app, site: NewSite, **settings: Any) -> None:
    with session_scope(app.extensions["commentgate"].sessions) as session:
        stored = session.get(Site, site.site.id)
        stored.policy = {**(stored.policy or {}), **settings}


TOXICITY = {"TOXICITY": {}}


@BEFORE_STORAGE
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"comment": {"text": ""}, "requestedAttributes": TOXICITY}, "non-empty"),
        ({"comment": {"text": "hi"}}, "requested_attributes"),
        ({"comment": {"text": "hi"}, "requestedAttributes": {"SPAM": {"scoreType": "RAW"}}}, "RAW"),
        ({"comment": {"text": "x" * 21_000}, "requestedAttributes": TOXICITY}, "too long"),
        ({"comment": {"text": "hi", "type": "HTML"}, "requestedAttributes": TOXICITY}, "PLAIN"),
        ({"comment": "hi", "requestedAttributes": TOXICITY}, "non-empty"),
        ({"comment": {"text": "hi"}, "requestedAttributes": TOXICITY, "languages": "en"}, "list"),
    ],
)
def test_invalid_requests_get_400_in_googles_shape(client, site, body, message) -> None:
    error = google_error(analyze(client, site, body), 400, "INVALID_ARGUMENT")
    assert message in error["message"]


def test_keys(client, site) -> None:
    body = coral_analyze(CLEAN)
    missing = client.post("/v1alpha1/comments:analyze", json=body)
    google_error(missing, 403, "PERMISSION_DENIED")
    wrong = client.post("/v1alpha1/comments:analyze?key=cg_wrong", json=body)
    error = google_error(wrong, 400, "INVALID_ARGUMENT")
    assert error["message"] == "API key not valid. Please pass a valid API key."
    bearer = {"Authorization": f"Bearer {site.api_key}"}
    assert client.post("/v1alpha1/comments:analyze", json=body, headers=bearer).status_code == 200
    bad_json = analyze(client, site, None, data="{nope", content_type="application/json")
    google_error(bad_json, 400, "INVALID_ARGUMENT")


@pytest.fixture
def failing_model(app) -> FailsOn:
    """The active model, given a bug for one text: the API process scores with it."""
    return serve_failing(app, POISON)


def test_a_comment_the_model_fails_on_is_a_clear_error_and_kept_for_a_moderator(
    client, app, site, failing_model
) -> None:
    response = analyze(client, site, coral_analyze(POISON, do_not_store=False))
    error = google_error(response, 400, "INVALID_ARGUMENT")
    assert "could not score" in error["message"]
    [comment] = rows_of(app, Comment, Comment.site_id == site.site.id)
    assert (comment.status, comment.scores) == ("held", {})
    assert [r["code"] for r in comment.reasons] == ["model_error"]


def test_a_sentence_the_model_fails_on_leaves_out_only_its_span(
    client, site, failing_model
) -> None:
    text = f"{CLEAN} {POISON}"
    body = {"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}}}
    answer = analyze(client, site, {**body, "spanAnnotations": True}).get_json()
    spans = answer["attributeScores"]["TOXICITY"]["spanScores"]
    assert [(s["begin"], s["end"]) for s in spans] == [(0, len(CLEAN))]
    probability(answer["attributeScores"]["TOXICITY"]["summaryScore"])


def test_policy_of_the_site_decides_the_stored_comment(client, app, site) -> None:
    with session_scope(app.extensions["commentgate"].sessions) as session:
        session.get(Site, site.site.id).policy = {
            "thresholds": {
                "toxicity": {"approve_below": 0.5, "reject_at": 1.0},
                "spam": {"approve_below": 1.0, "reject_at": 1.0},
            }
        }
    analyze(client, site, coral_analyze(TOXIC, do_not_store=False))
    [comment] = rows_of(app, Comment, Comment.site_id == site.site.id)
    assert comment.status == "held"
    assert "toxicity_score" in {r["code"] for r in comment.reasons}


def test_the_perspective_endpoint_takes_the_per_key_compat_limit(stack) -> None:
    """A busy site's synchronous checks are a burst: the compat limit (default 100/second per
    key) applies, not the general one, and a key over it hears 429 in Google's shape."""
    stack.env["COMMENTGATE_RATE_LIMITS"] = "5/minute"
    app = create_app(stack.settings)
    try:
        site = busy_site(app)
        client = app.test_client()
        codes = [analyze(client, site, coral_analyze(CLEAN)).status_code for _ in range(10)]
        assert codes == [200] * 10, "the general 5/minute does not apply"
        stack.env["COMMENTGATE_COMPAT_RATE_LIMITS"] = "3/minute"
        tight = create_app(stack.settings)
        tight_client = tight.test_client()
        answers = [analyze(tight_client, site, coral_analyze(CLEAN)) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        google_error(answers[-1], 429, "RESOURCE_EXHAUSTED")
        tight.extensions["commentgate"].engine.dispose()
    finally:
        app.extensions["commentgate"].engine.dispose()


def busy_site(app) -> NewSite:
    state = app.extensions["commentgate"]
    with session_scope(state.sessions) as session:
        return create_site(
            session,
            "busy",
            "http://127.0.0.1:9/h",
            allow_private=True,
            secret_key=state.settings.secret_key,
        )
