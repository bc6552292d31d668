"""Google Perspective's Comment Analyzer API (``v1alpha1``), answered by our model and policy.

A Perspective client (Coral Talk's "endpoint" setting, ``googleapiclient``'s ``commentanalyzer``)
points its base URL at ``https://<our host>/v1alpha1`` and passes a site API key as ``key``. We
answer the attributes our model has (``TOXICITY``, ``SPAM``, and ``INSULT``, ``PROFANITY``,
``IDENTITY_ATTACK`` ... when the active model was trained with them); the others get Perspective's
own "does not support request languages" error, which its clients already handle.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from service import compat
from service.api.auth import bearer_token
from service.api.inputs import MalformedJSONError, read_json, unstorable_paths
from service.comments import MAX_CONTENT_CHARS
from service.decisions import Scorer
from service.errors import CommentGateError
from service.models import Site
from service.sites import authenticate_site
from service.state import db, state

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
# suggestscore: the attributes that are labels we train on.
LABEL_TASKS = {"TOXICITY": "toxicity", "SPAM": "spam"}
MAX_TEXT_BYTES = 20 * 1024
STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    413: "OUT_OF_RANGE",
    422: "INVALID_ARGUMENT",
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


def _model() -> Scorer:
    from classifier import ModelLoadError, RegistryError

    try:
        return state().model()
    except (ModelLoadError, RegistryError) as exc:
        raise PerspectiveError(str(exc), 503, "UNAVAILABLE") from exc


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
    text = comment.get("text") if isinstance(comment, dict) else None
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


def _check_support(model: Scorer, names: list[str], languages: list[str]) -> list[str]:
    """The languages the answer is for; Perspective's error for what the model cannot score."""
    known = compat.model_languages(model)
    effective = languages or [known[0]]
    outputs = compat.model_outputs(model)
    foreign = any(_primary(x) not in known for x in effective)
    for name in names:
        if foreign or ATTRIBUTES[name] not in outputs:
            detail = {
                "@type": ERROR_TYPE,
                "errorType": "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
                "languageNotSupportedByAttributeError": {
                    "detectedLanguages": effective,
                    "attribute": name,
                },
            }
            raise PerspectiveError(
                f"Attribute {name} does not support request languages: {', '.join(effective)}",
                details=[detail],
            )
    return effective


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
    summary: dict[str, float],
    spans: list[tuple[int, int, dict[str, float]]] | None,
) -> dict[str, Any]:
    result = {}
    for name, config in requested.items():
        output, threshold = ATTRIBUTES[name], config["threshold"] or 0.0
        entry: dict[str, Any] = {}
        if summary[output] >= threshold:
            entry["summaryScore"] = _score(summary[output])
        if spans:
            entry["spanScores"] = [
                {"begin": b, "end": e, "score": _score(s[output])}
                for b, e, s in spans
                if s[output] >= threshold
            ] or None
        if any(entry.values()):
            result[name] = {k: v for k, v in entry.items() if v}
    return result


def _comment_data(
    body: dict[str, Any], text: str, language: str, token: str | None, names: list[str]
) -> dict[str, Any]:
    """The request in the shape ``comment_row`` takes; a client token makes re-sends idempotent."""
    kept = {k: v for k in ("clientToken", "sessionId", "communityId") if (v := _string(body, k))}
    return {
        "external_id": compat.stable_id("pv_", token, text) if token else compat.random_id("pv_"),
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
    languages = _check_support(model := _model(), list(requested), _languages(body))
    token = _string(body, "clientToken")
    data = _comment_data(body, text, languages[0], token, list(requested))
    session = db()
    checked = compat.check_comment(
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
        span_scores = compat.score_texts(model, [text[b:e] for b, e in bounds])
        spans = [(b, e, dict(s)) for (b, e), s in zip(bounds, span_scores, strict=True) if s]
    response: dict[str, Any] = {
        "attributeScores": _attribute_scores(requested, summary, spans),
        "languages": languages,
    }
    if token:
        response["clientToken"] = token
    return jsonify(response)


@blp.post("/comments:suggestscore")
def suggest_score() -> Response:
    """Perspective's SuggestCommentScore: the score a client believes is right, kept as a label."""
    site = _site()
    body = _body()
    text = _text(body)
    labels = {}
    for name, entry in _attributes(body, "attributeScores", "Missing attribute_scores").items():
        summary = entry.get("summaryScore") if isinstance(entry, dict) else None
        value = summary.get("value", 0) if isinstance(summary, dict) else None
        if value is not None and not _probability(value):
            raise PerspectiveError(f"The summaryScore of {name} must be between 0 and 1.")
        if value is not None and name in LABEL_TASKS:
            labels[LABEL_TASKS[name]] = int(value >= 0.5)
    languages = _languages(body)
    token = _string(body, "clientToken")
    session = db()
    comment = compat.find_comment(
        session,
        site,
        external_id=compat.stable_id("pv_", token, text) if token else None,
        content=text,
        source=SOURCE,
    )
    for task, label in labels.items():
        compat.record_label(
            session, site, task=task, label=label, text=text, source=SOURCE, comment=comment
        )
    session.commit()
    response: dict[str, Any] = {}
    if token:
        response["clientToken"] = token
    if languages:
        response["requestedLanguages"] = languages
    return jsonify(response)
