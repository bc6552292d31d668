"""Google Perspective's Comment Analyzer API (``v1alpha1``), answered by our model and policy.

A Perspective client (Coral Talk's "endpoint" setting, ``googleapiclient``'s ``commentanalyzer``)
points its base URL at ``https://<our host>/v1alpha1`` and passes a site API key as ``key``. We
answer the attributes our model has (``TOXICITY``, ``SPAM``, and ``INSULT``, ``PROFANITY``,
``IDENTITY_ATTACK`` ... when the active model was trained with them), ``SEVERE_TOXICITY`` and
``THREAT`` derived from the toxicity score (Coral's admins may pick them), and text in languages
the model was not trained on as the site's policy says (``perspective_languages``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from service import synchronous_checks
from service.api.auth import bearer_token
from service.api.inputs import MalformedJSONError, read_json, unstorable_paths
from service.comments import MAX_CONTENT_CHARS
from service.decisions import policy
from service.decisions.pipeline import Scorer
from service.errors import CommentGateError
from service.models import Site
from service.sites import authenticate_site
from service.state import ModelUnavailableError, db, scoring_model, state

blp = Blueprint("perspective", __name__, url_prefix="/v1alpha1")

SOURCE = "perspective"
# Perspective's attribute names and the model output each one reads.
ATTRIBUTES = {
    "TOXICITY": "toxicity",
    "SEVERE_TOXICITY": "severe_toxicity",
    "IDENTITY_ATTACK": "identity_attack",
    "INSULT": "insult",
    "PROFANITY": "profanity",
    "THREAT": "threat",
    "SEXUALLY_EXPLICIT": "sexually_explicit",
    "FLIRTATION": "flirtation",
    "SPAM": "spam",
}
# Attributes a model without their own output answers from its toxicity score, at a stricter
# calibration: ``toxicity ** k`` is monotone (the order of comments is kept) and puts less mass
# at high scores (0.9 -> 0.81 at k=2, 0.73 at k=3), so a threshold tuned for Perspective's rarer
# attribute withholds fewer comments than the same threshold on toxicity would.
DERIVED_EXPONENTS = {"SEVERE_TOXICITY": 2.0, "THREAT": 3.0}
# suggestscore: the attributes that are labels we train on (``perspective_feedback: toxicity``).
LABEL_TASKS = {"TOXICITY": "toxicity", "SPAM": "spam"}
# suggestscore, by default: Coral sends a moderator's approve (0) or reject (1) of any kind
# (spam, off-topic, toxic) as a score; kept as that decision, not as a toxicity label.
DECISION_TASK = "moderation"
OUT_OF_DOMAIN_HEADER = "X-CommentGate-Out-Of-Domain-Languages"
MAX_TEXT_BYTES = 20 * 1024
STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    413: "OUT_OF_RANGE",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
}
SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)|[.!?]+")
ERROR_TYPE = "type.googleapis.com/google.commentanalyzer.v1alpha1.Error"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"


class PerspectiveError(Exception):
    """Google's error shape: ``{"error": {"code", "message", "status", "details"?}}``."""

    def __init__(
        self,
        message: str,
        code: int = 400,
        status: str = "INVALID_ARGUMENT",
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message, self.code, self.status, self.details = message, code, status, details


@blp.errorhandler(PerspectiveError)
def _error(exc: PerspectiveError) -> tuple[Response, int]:
    body: dict[str, Any] = {"code": exc.code, "message": exc.message, "status": exc.status}
    if exc.details:
        body["details"] = exc.details
    return jsonify({"error": body}), exc.code


@blp.errorhandler(ModelUnavailableError)
def _unavailable(exc: ModelUnavailableError) -> tuple[Response, int]:
    return _error(PerspectiveError(str(exc), 503, "UNAVAILABLE"))


@blp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[Response, int]:
    code = exc.code or 400
    return _error(PerspectiveError(exc.description or exc.name, code, STATUS.get(code, "UNKNOWN")))


@blp.errorhandler(CommentGateError)
def _domain_error(exc: CommentGateError) -> tuple[Response, int]:
    """Errors raised before the view (the path and query checks), in Google's shape."""
    fields = exc.details.items() if isinstance(exc.details, dict) else ()
    violations = [{"field": name, "description": " ".join(map(str, m))} for name, m in fields]
    details = [{"@type": BAD_REQUEST_TYPE, "fieldViolations": violations}] if violations else None
    status = STATUS.get(exc.status, "UNKNOWN")
    return _error(PerspectiveError(exc.message, exc.status, status, details))


def _site() -> Site:
    key = request.args.get("key") or bearer_token()
    if not key:
        raise PerspectiveError("The request is missing a valid API key.", 403, "PERMISSION_DENIED")
    site = authenticate_site(db(), key.strip())
    if site is None:
        reason = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
        raise PerspectiveError("API key not valid. Please pass a valid API key.", details=[reason])
    return site


def _body() -> dict[str, Any]:
    """The request's JSON object, whatever its content type (as Google's API reads it)."""
    try:
        body = read_json(request.get_data(cache=True))
    except MalformedJSONError as exc:
        raise PerspectiveError(f"Invalid JSON payload received. {exc}") from exc
    if not isinstance(body, dict):
        raise PerspectiveError("Invalid JSON payload received.")
    violations = [
        {"field": ".".join(map(str, path)), "description": message}
        for path, message in unstorable_paths(body)
    ]
    if violations:
        detail = {"@type": BAD_REQUEST_TYPE, "fieldViolations": violations[:20]}
        message = "Text must not contain NUL characters or lone UTF-16 surrogates."
        raise PerspectiveError(message, 422, STATUS[422], [detail])
    return body


def _text(body: dict[str, Any]) -> str:
    comment = body.get("comment")
    if not isinstance(comment, dict):
        raise PerspectiveError("Comment must be non-empty.")
    text = comment.get("text")
    if not isinstance(text, str) or not text.strip():
        raise PerspectiveError("Comment must be non-empty.")
    kind = comment.get("type") or "PLAIN_TEXT"
    if kind != "PLAIN_TEXT":
        message = (
            "Unknown text type" if kind != "HTML" else "Only PLAIN_TEXT comments are supported"
        )
        raise PerspectiveError(f"{message}: {kind}.")
    if len(text) > MAX_CONTENT_CHARS or len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise PerspectiveError("Comment text too long.")
    return text


def _string(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    return value if isinstance(value, str) and value else None


def _languages(body: dict[str, Any]) -> list[str]:
    languages = body.get("languages") or []
    if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
        raise PerspectiveError("languages must be a list of language codes.")
    return languages


def _primary(language: str) -> str:
    return language.replace("_", "-").split("-")[0].lower()


def _attributes(body: dict[str, Any], key: str, missing: str) -> dict[str, Any]:
    """A map keyed by Perspective attribute names, each one we know of."""
    value = body.get(key)
    if not isinstance(value, dict) or not value:
        raise PerspectiveError(missing)
    for name in value:
        if name not in ATTRIBUTES:
            raise PerspectiveError(f"Unknown requested attribute: {name}")
    return value


def _requested(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result = {}
    requested = _attributes(body, "requestedAttributes", "Missing requested_attributes")
    for name, config in requested.items():
        config = config or {}
        if not isinstance(config, dict):
            raise PerspectiveError(f"Invalid configuration for attribute {name}.")
        kind = config.get("scoreType") or "PROBABILITY"
        if kind != "PROBABILITY":
            raise PerspectiveError(
                f"Requested score type {kind} is not supported by attribute {name}"
            )
        threshold = config.get("scoreThreshold")
        if threshold is not None and not _probability(threshold):
            raise PerspectiveError(f"scoreThreshold of {name} must be between 0 and 1.")
        result[name] = {"threshold": threshold}
    return result


def _probability(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


def _check_attributes(model: Scorer, names: list[str]) -> None:
    """An attribute the model neither has nor derives is a 400 that names it."""
    outputs = synchronous_checks.model_outputs(model)
    for name in names:
        if ATTRIBUTES[name] not in outputs and not _derivable(name, outputs):
            supported = [a for a, o in ATTRIBUTES.items() if o in outputs or _derivable(a, outputs)]
            raise PerspectiveError(
                f"Attribute {name} is not supported by this model; "
                f"supported attributes: {', '.join(supported)}."
            )


def _derivable(name: str, outputs: frozenset[str]) -> bool:
    return name in DERIVED_EXPONENTS and "toxicity" in outputs


def _check_languages(
    site: Site, model: Scorer, names: list[str], languages: list[str]
) -> tuple[list[str], list[str]]:
    """The languages the answer is for, and those the model was not trained on. These are
    scored anyway unless the site's policy says ``perspective_languages: reject`` (then
    Perspective's own error, which its clients already handle); a site in trial mode always
    gets the scores."""
    known = synchronous_checks.model_languages(model)
    effective = languages or [known[0]]
    foreign = [x for x in effective if _primary(x) not in known]
    settings = policy.resolve(site.policy or {})
    if foreign and settings["perspective_languages"] == "reject" and settings["mode"] != "trial":
        detail = {
            "@type": ERROR_TYPE,
            "errorType": "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
            "languageNotSupportedByAttributeError": {
                "detectedLanguages": effective,
                "attribute": names[0],
            },
        }
        raise PerspectiveError(
            f"Attribute {names[0]} does not support request languages: {', '.join(effective)}",
            details=[detail],
        )
    return effective, foreign


def attribute_value(name: str, scores: Mapping[str, float]) -> float | None:
    """The attribute's score: the model's own output, else derived from toxicity."""
    output = ATTRIBUTES[name]
    if output in scores:
        return float(scores[output])
    if name in DERIVED_EXPONENTS and "toxicity" in scores:
        return float(scores["toxicity"]) ** DERIVED_EXPONENTS[name]
    return None


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``[begin, end)`` of each sentence, without surrounding white space."""
    spans = []
    for match in SENTENCE.finditer(text):
        chunk = match.group()
        begin = match.start() + len(chunk) - len(chunk.lstrip())
        end = match.end() - len(chunk) + len(chunk.rstrip())
        if end > begin:
            spans.append((begin, end))
    return spans


def _score(value: float) -> dict[str, Any]:
    return {"value": value, "type": "PROBABILITY"}


def _attribute_scores(
    requested: dict[str, dict[str, Any]],
    summary: Mapping[str, float],
    spans: list[tuple[int, int, dict[str, float]]] | None,
) -> dict[str, Any]:
    result = {}
    for name, config in requested.items():
        threshold = config["threshold"] or 0.0
        entry: dict[str, Any] = {}
        value = attribute_value(name, summary)
        if value is not None and value >= threshold:
            entry["summaryScore"] = _score(value)
        if spans:
            values = [(b, e, attribute_value(name, s)) for b, e, s in spans]
            entry["spanScores"] = [
                {"begin": b, "end": e, "score": _score(v)}
                for b, e, v in values
                if v is not None and v >= threshold
            ] or None
        if any(entry.values()):
            result[name] = {k: v for k, v in entry.items() if v}
    return result


def _comment_data(
    body: dict[str, Any],
    text: str,
    languages: tuple[list[str], list[str]],
    token: str | None,
    names: list[str],
) -> dict[str, Any]:
    """The request in the shape ``comment_row`` takes; a client token makes re-sends idempotent."""
    names_kept = ("clientToken", "sessionId", "communityId")
    kept: dict[str, Any] = {k: v for k in names_kept if (v := _string(body, k))}
    (language, *_), foreign = languages
    if foreign:
        kept["outOfDomainLanguages"] = foreign
    return {
        "external_id": synchronous_checks.stable_id("pv_", token, text)
        if token
        else synchronous_checks.random_id("pv_"),
        "content": text,
        "language": _primary(language)[:16],
        "metadata": {SOURCE: {"attributes": names, **kept}},
    }


@blp.post("/comments:analyze")
def analyze() -> Response:
    """Perspective's AnalyzeComment: scores for the requested attributes."""
    site = _site()
    body = _body()
    text = _text(body)
    requested = _requested(body)
    _check_attributes(model := scoring_model(), list(requested))
    languages, foreign = _check_languages(site, model, list(requested), _languages(body))
    token = _string(body, "clientToken")
    data = _comment_data(body, text, (languages, foreign), token, list(requested))
    session = db()
    checked = synchronous_checks.check_comment(
        session,
        site,
        model,
        data,
        source=SOURCE,
        store=body.get("doNotStore") is not True,
        identifier_key=state().settings.identifier_key,
        hash_pii=state().settings.store_pii_hashed,
    )
    session.commit()
    if checked.output.failed:
        kept = " It is kept for a moderator." if checked.comment_id else ""
        raise PerspectiveError(f"The model could not score this comment.{kept}")
    summary = {k: float(v) for k, v in checked.scores.items()}
    spans = None
    if body.get("spanAnnotations") is True:
        bounds = sentence_spans(text)
        span_scores = synchronous_checks.score_texts(model, [text[b:e] for b, e in bounds])
        spans = [(b, e, dict(s)) for (b, e), s in zip(bounds, span_scores, strict=True) if s]
    response: dict[str, Any] = {
        "attributeScores": _attribute_scores(requested, summary, spans),
        "languages": languages,
    }
    if token:
        response["clientToken"] = token
    return _out_of_domain(response, foreign)


def _out_of_domain(response: dict[str, Any], foreign: list[str]) -> Response:
    """Scores for a language the model was not trained on are less reliable: the answer says
    so in Perspective's own ``detectedLanguages`` and in a header, and keeps its shape."""
    if foreign:
        response["detectedLanguages"] = foreign
    reply = jsonify(response)
    if foreign:
        reply.headers[OUT_OF_DOMAIN_HEADER] = ", ".join(foreign)
    return reply


def _suggested(body: dict[str, Any]) -> dict[str, float]:
    """The suggested summary scores, by attribute."""
    scores = {}
    for name, entry in _attributes(body, "attributeScores", "Missing attribute_scores").items():
        summary = entry.get("summaryScore") if isinstance(entry, dict) else None
        value = summary.get("value", 0) if isinstance(summary, dict) else None
        if value is not None and not _probability(value):
            raise PerspectiveError(f"The summaryScore of {name} must be between 0 and 1.")
        if value is not None:
            scores[name] = float(value)
    return scores


def _feedback_labels(site: Site, scores: dict[str, float]) -> dict[str, int]:
    """What a suggestion teaches. Coral sends its moderators' approvals (0) and rejections (1)
    whatever the reason (spam, off topic, abuse): by default that is kept as a moderation
    decision, not a toxicity label; ``perspective_feedback: toxicity`` takes it at its word.
    A ``SPAM`` suggestion is a spam label either way."""
    as_labels = policy.resolve(site.policy or {})["perspective_feedback"] == "toxicity"
    labels = {}
    for name, value in scores.items():
        if name == "SPAM" or (as_labels and name in LABEL_TASKS):
            labels[LABEL_TASKS[name]] = int(value >= 0.5)
        elif not as_labels:
            labels[DECISION_TASK] = max(labels.get(DECISION_TASK, 0), int(value >= 0.5))
    return labels


@blp.post("/comments:suggestscore")
def suggest_score() -> Response:
    """Perspective's SuggestCommentScore: the score a client believes is right, kept as a label."""
    site = _site()
    body = _body()
    text = _text(body)
    labels = _feedback_labels(site, _suggested(body))
    languages = _languages(body)
    token = _string(body, "clientToken")
    session = db()
    comment = synchronous_checks.find_comment(
        session,
        site,
        external_id=synchronous_checks.stable_id("pv_", token, text) if token else None,
        content=text,
        source=SOURCE,
    )
    for task, label in labels.items():
        synchronous_checks.record_label(
            session, site, task=task, label=label, text=text, source=SOURCE, comment=comment
        )
    session.commit()
    response: dict[str, Any] = {}
    if token:
        response["clientToken"] = token
    if languages:
        response["requestedLanguages"] = languages
    return jsonify(response)
