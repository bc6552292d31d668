"""Akismet's REST API — form-encoded requests, plain-text answers — decided by our model and policy.

A platform that speaks Akismet (the WordPress plugin, the ``akismet`` Python client, ...) switches
by pointing its Akismet base URL here and using the site's 12-hex Akismet key (or its API key) as
its Akismet key. ``true`` (spam)
means the site's policy rejects the comment, then also with ``X-akismet-pro-tip: discard``, or
holds it for a spam reason (``synchronous_checks.SPAM_HOLD_CODES``); anything else is ``false``.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, jsonify, request
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from service import synchronous_checks
from service.api.auth import bearer_token
from service.api.errors import error_response
from service.api.inputs import check_fields
from service.comments import MAX_CONTENT_CHARS
from service.decisions.policy import HONEYPOT_NAME_KEY
from service.errors import CommentGateError, ValidationError
from service.models import Comment, Site
from service.security import API_KEY_PREFIX, is_akismet_key
from service.sites import authenticate_site
from service.state import ModelUnavailableError, db, scoring_model, state

blp = Blueprint("akismet", __name__)

SOURCE = "akismet"
THANKS = "Thanks for making the web a better place."
HEADER_UNSAFE = re.compile(r"[^\x20-\x7e]")
TAG = re.compile(r"<[^>]*>")
PERIOD = re.compile(r"(\d{1,5})-(days?|weeks?|months?|years?)")
PERIOD_DAYS = {"day": 1, "week": 7, "month": 31, "year": 366}
TRUSTED_ROLES = ("administrator",)
# Kept with the comment (for moderators and key-sites); the many other keys plugins send are not.
KEPT_FIELDS = (
    "blog",
    "referrer",
    "comment_type",
    "comment_post_modified_gmt",
    "blog_lang",
    "blog_charset",
    "user_role",
    "recheck_reason",
    "honeypot_field_name",
)


# Alert codes are CommentGate's own (Akismet's plugin shows any code with its message until an
# answer comes without one); README "Switching from Akismet" lists them.
ALERT_INVALID_KEY = ("10401", "Your CommentGate key is invalid, expired or rotated out.")
ALERT_RATE_LIMITED = ("10429", "Too many requests for this key: CommentGate's rate limit.")


class AkismetInvalidError(Exception):
    """Akismet's answer to a bad key or a missing field: ``invalid`` plus a debug header, and an
    alert the plugin shows its admin when the key itself is the problem."""

    def __init__(self, help_text: str, *, alert: tuple[str, str] | None = None) -> None:
        super().__init__(help_text)
        self.help_text = help_text
        self.alert = alert


@blp.errorhandler(AkismetInvalidError)
def _invalid(exc: AkismetInvalidError) -> Response:
    headers = {"X-akismet-debug-help": _header_text(exc.help_text)}
    headers["X-akismet-error"] = headers["X-akismet-debug-help"]
    if exc.alert:
        headers |= _alert(*exc.alert)
    return _text("invalid", headers)


def _alert(code: str, message: str) -> dict[str, str]:
    return {"X-akismet-alert-code": code, "X-akismet-alert-msg": message}


@blp.after_request
def _error_headers(response: Response) -> Response:
    """Every failed answer says so in ``X-akismet-error``, which the plugin reads: the comment
    then waits for moderation instead of being published, and is re-checked later. A 429 (from
    the rate limiter, before any view runs) also raises the plugin's admin alert."""
    if response.status_code >= 400 and "X-akismet-error" not in response.headers:
        reason = response.headers.get("X-akismet-debug-help") or response.status
        response.headers["X-akismet-error"] = _header_text(reason)
    if response.status_code == 429:
        response.headers.update(_alert(*ALERT_RATE_LIMITED))
    return response


@blp.errorhandler(ModelUnavailableError)
def _unavailable(exc: ModelUnavailableError) -> Response:
    """No model to score with (none trained yet): a 503 the client retries later."""
    headers = {"X-akismet-debug-help": _header_text(str(exc)), "Retry-After": "30"}
    return _text("CommentGate cannot score comments right now.", headers, status=503)


@blp.errorhandler(CommentGateError)
def _refused(exc: CommentGateError) -> Response:
    """A field no endpoint accepts (unstorable text, a comment over the length limit): the API's
    JSON error, with Akismet's debug header saying what was wrong."""
    response = error_response(exc.status, exc.code, exc.message, exc.details)
    fields = exc.details.items() if isinstance(exc.details, dict) else ()
    explained = [f"{name}: {' '.join(map(str, problems))}" for name, problems in fields]
    response.headers["X-akismet-debug-help"] = _header_text("; ".join(explained) or exc.message)
    return response


@blp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    """Plain text here too (a body over the size limit, a wrong method...)."""
    return _text(exc.description or exc.name, status=exc.code or 400)


def _text(body: str, headers: dict[str, str] | None = None, status: int = 200) -> Response:
    return Response(body, status=status, headers=headers, mimetype="text/plain")


def _header_text(text: str) -> str:
    """A debug header that quotes the request (a field's name, a bad value) as printable ASCII:
    a line break or a character outside Latin-1 cannot be sent in a header."""
    return HEADER_UNSAFE.sub("?", text)[:500]


def _params() -> MultiDict[str, str]:
    """Form fields, and the query string for GET (checked with every request's)."""
    check_fields(request.form)
    return request.values


def _content(params: MultiDict[str, str]) -> str:
    """``comment_content``, within the length every endpoint accepts."""
    content = params.get("comment_content") or ""
    if len(content) > MAX_CONTENT_CHARS:
        problem = f"Longer than maximum length {MAX_CONTENT_CHARS}."
        raise ValidationError(
            f"comment_content is longer than {MAX_CONTENT_CHARS} characters.",
            {"comment_content": [problem]},
        )
    return content


def _keys(params: MultiDict[str, str]) -> list[str]:
    """Every key the request names in its form (``key``, ``api_key``) or a bearer token; else the
    legacy ``KEY.rest.akismet.com`` host. The host is not read beside a form key: the plugin
    verifies a newly typed ``key`` while its host still names the stored one."""
    sent = [params.get("key"), params.get("api_key"), bearer_token()]
    keys = list(dict.fromkeys(k.strip() for k in sent if k and k.strip()))
    if keys:
        return keys
    # The raw header: werkzeug's ``request.host`` drops hosts with "_", which our keys contain.
    label, _, rest = request.environ.get("HTTP_HOST", "").partition(".")
    known = label.startswith(API_KEY_PREFIX) or is_akismet_key(label)
    return [label] if rest and known else []


def _site(params: MultiDict[str, str]) -> Site:
    """The site every key sent belongs to: a wrong ``key`` beside a valid ``api_key`` (or the
    reverse) is invalid, so a key is never judged by another one sent with it."""
    keys = _keys(params)
    if not keys:
        raise AkismetInvalidError('Empty "api_key" value', alert=ALERT_INVALID_KEY)
    sites = [_one_site(key) for key in keys]
    if len({site.id for site in sites}) != 1:
        raise AkismetInvalidError("Invalid key", alert=ALERT_INVALID_KEY)
    return sites[0]


def _one_site(key: str) -> Site:
    site = authenticate_site(db(), key, secret_key=state().settings.secret_key)
    if site is None:
        raise AkismetInvalidError("Invalid key", alert=ALERT_INVALID_KEY)
    return site


def _require(params: MultiDict[str, str], *names: str) -> None:
    for name in names:
        if not (params.get(name) or "").strip():
            raise AkismetInvalidError(f'Empty "{name}" value')
    blog = params.get("blog")
    if blog is not None:
        parts = urlsplit(blog.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise AkismetInvalidError("We were unable to parse your blog URI")


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _cut(value: str | None, limit: int) -> str | None:
    value = (value or "").strip()
    return value[:limit] or None


def _gmt(value: str | None) -> datetime | None:
    """``comment_date_gmt``: ISO 8601 as Akismet documents it, or WordPress' ``Y-m-d H:i:s``."""
    try:
        parsed = datetime.fromisoformat((value or "").strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _external_id(params: MultiDict[str, str]) -> str:
    """The same for a comment's first check, its re-checks and its submit-spam/ham.

    WordPress sends ``comment_date_gmt`` (and the rest of its database row) only from the second
    call on, and its first check sees the author and content still backslash-escaped and before
    its HTML filter, so the identity is the post, author, e-mail and content, compared loosely.
    """
    post = params.get("comment_post_ID")
    where = f"post:{post.strip()}" if post and post.strip() else f"url:{params.get('permalink')}"
    return synchronous_checks.stable_id(
        "ak2_",
        where,
        _loose(params.get("comment_author")),
        _loose(params.get("comment_author_email")),
        _loose(params.get("comment_content")),
    )


def _loose(value: str | None) -> str:
    """Text as both of WordPress's copies of it agree: no backslashes, tags or entities, spaces
    collapsed, case folded."""
    text = html.unescape(TAG.sub("", (value or "").replace("\\", "")))
    return " ".join(text.split()).casefold()


def _comment_data(params: MultiDict[str, str]) -> dict[str, Any]:
    """Akismet's fields in the shape ``comment_row`` takes."""
    kept = {name: params[name][:2000] for name in KEPT_FIELDS if params.get(name)}
    metadata: dict[str, Any] = {SOURCE: kept}
    honeypot = params.get("honeypot_field_name")
    if honeypot:
        # As Akismet receives it: the field's name, and the field itself under that name, which
        # is renamed when it is one of the keys above, so it cannot take their place.
        name = honeypot[:100]
        if name in (SOURCE, HONEYPOT_NAME_KEY):
            name = f"{SOURCE}_{name}"
        metadata[HONEYPOT_NAME_KEY] = name
        metadata[name] = (params.get(honeypot) or "")[:2000]
    return {
        "external_id": _external_id(params),
        "content": params.get("comment_content") or "",
        "post": {"url": _cut(params.get("permalink"), 2000)},
        "author": {
            "name": _cut(params.get("comment_author"), 200),
            "email": _cut(params.get("comment_author_email"), 320),
            "url": _cut(params.get("comment_author_url"), 2000),
            "ip": _cut(params.get("user_ip"), 64),
            "user_agent": _cut(params.get("user_agent"), 2000),
        },
        "created_at": _gmt(params.get("comment_date_gmt")),
        "metadata": metadata,
    }


def _trusted_role(params: MultiDict[str, str]) -> str | None:
    roles = {r.strip().lower() for r in (params.get("user_role") or "").split(",")}
    return next((role for role in TRUSTED_ROLES if role in roles), None)


@blp.post("/1.1/verify-key")
def verify_key() -> Response:
    params = _params()
    _site(params)
    _require(params, "blog")
    return _text("valid")


@blp.post("/1.1/comment-check")
def comment_check() -> Response:
    params = _params()
    site = _site(params)
    _require(params, "blog", "user_ip")
    _content(params)
    model = scoring_model()
    session = db()
    data = _comment_data(params)
    store = not _flag(params.get("is_test"))
    reason = (params.get("recheck_reason") or "").strip().lower()
    existing = _rechecked(session, site, params, data, edit=reason == "edit") if store else None
    checked = synchronous_checks.check_comment(
        session,
        site,
        model,
        data,
        source=SOURCE,
        store=store,
        identifier_key=state().settings.identifier_key,
        hash_pii=state().settings.store_pii_hashed,
        trusted_role=_trusted_role(params),
        existing=existing,
        # WordPress' later copies of a text are unescaped and filtered: only a real change counts
        edited=existing is not None and _loose(existing.content) != _loose(data["content"]),
    )
    session.commit()
    headers = {"X-akismet-guid": checked.comment_id or synchronous_checks.random_id("")}
    if checked.answer == "discard":
        headers["X-akismet-pro-tip"] = "discard"
    return _text("false" if checked.answer == "ham" else "true", headers)


def _rechecked(
    session: Session, site: Site, params: MultiDict[str, str], data: dict[str, Any], *, edit: bool
) -> Comment | None:
    """The stored comment a re-check is about: by the ``guid`` we answered its first check
    with, or by its identity. An edit (``recheck_reason=edit``) changes the text, which is part
    of that identity: then it is the author's latest comment on the same post, and it takes the
    identity of its new text, so later re-checks and submit-spam/ham find it. None for a first
    check (or an edit of a comment never checked here)."""
    if not (params.get("recheck_reason") or params.get("guid")):
        return None
    identity = data["external_id"]
    found = synchronous_checks.find_comment(
        session, site, guid=params.get("guid"), external_id=identity
    )
    if not edit:
        return found
    if found is None:
        author = data["author"]
        found = synchronous_checks.latest_by_author(
            session,
            site,
            source=SOURCE,
            post_url=data["post"]["url"],
            email=author["email"],
            name=author["name"],
            identifier_key=state().settings.identifier_key,
        )
    if found is not None and found.external_id != identity:
        if synchronous_checks.find_comment(session, site, external_id=identity) is None:
            found.external_id = identity
            session.flush()
    return found


def _submit(label: int) -> Response:
    params = _params()
    site = _site(params)
    _require(params, "blog", "user_ip")
    content = _content(params)
    if _flag(params.get("is_test")):
        return _text(THANKS)
    session = db()
    comment = synchronous_checks.find_comment(
        session,
        site,
        guid=params.get("guid"),
        external_id=_external_id(params),
        content=content or None,
        source=SOURCE,
    )
    text = content or (comment.content if comment is not None else "")
    if text:
        synchronous_checks.record_label(
            session, site, task="spam", label=label, text=text, source=SOURCE, comment=comment
        )
        session.commit()
    return _text(THANKS)


@blp.post("/1.1/submit-spam")
def submit_spam() -> Response:
    return _submit(1)


@blp.post("/1.1/submit-ham")
def submit_ham() -> Response:
    return _submit(0)


@blp.route("/1.1/test", methods=["GET", "POST"])
def connection_test() -> Response:
    """The plugin's connectivity check: it looks for exactly ``connected``; no key is sent."""
    return _text("connected")


@blp.post("/1.1/get-subscription")
def get_subscription() -> Response:
    """The plugin's settings page shows this account (and calls a key without one invalid):
    a CommentGate site is always active, with no billing; its month ends at the date shown."""
    site = _site(_params())
    month_end = synchronous_checks.next_month(synchronous_checks.month_start())
    return jsonify(
        {
            "account_id": site.id,
            "account_name": site.name,
            "account_type": "commentgate",
            "status": "active",
            "next_billing_date": int(month_end.timestamp()),
            "limit_reached": False,
        }
    )


@blp.post("/1.1/get-stats")
def get_stats() -> Response:
    """The plugin's "spam blocked" and accuracy figures (``from``: ``all``, ``6-months``, ``N-days``
    or a date), from CommentGate's own counts: ``spam`` is what was answered ``true``,
    ``missed_spam``/``false_positives`` come from submit-spam/submit-ham."""
    params = _params()
    site = _site(params)
    now = datetime.now(UTC)
    seen = synchronous_checks.activity_between(
        db(), site, SOURCE, _since(params.get("from"), now), now
    )
    judged = max(seen.calls, 1)
    wrong = min(seen.missed_spam + seen.false_positives, judged)
    return jsonify(
        {
            "spam": seen.spam,
            "ham": seen.ham,
            "missed_spam": seen.missed_spam,
            "false_positives": seen.false_positives,
            "accuracy": round(100 * (judged - wrong) / judged, 2),
            "time_saved": 0,
            "breakdown": {},
        }
    )


def _since(value: str | None, now: datetime) -> datetime:
    """The start of a ``get-stats`` period; ``all`` (the default) is since the first comment."""
    value = (value or "all").strip().lower()
    if value == "all":
        return datetime(1970, 1, 1, tzinfo=UTC)
    match = PERIOD.fullmatch(value)
    if match:
        days = int(match.group(1)) * PERIOD_DAYS[match.group(2).rstrip("s")]
        return now - timedelta(days=min(days, 36500))
    parsed = _gmt(value)
    if parsed is None:
        raise AkismetInvalidError(f"Invalid parameter: from={value[:40]}")
    return parsed


@blp.post("/1.1/deactivate")
def deactivate() -> Response:
    """Sent when the plugin is deactivated; a CommentGate key stays valid (rotate it to end it)."""
    _site(_params())
    return _text("deactivated")


@blp.route("/1.2/usage-limit", methods=["GET", "POST"])
def usage_limit() -> Response:
    site = _site(_params())
    used = synchronous_checks.usage(db(), site, SOURCE, synchronous_checks.month_start())
    return jsonify({"limit": "none", "usage": used, "percentage": "0.00", "throttled": False})


@blp.route("/1.2/key-sites", methods=["GET", "POST"])
def key_sites() -> Response:
    params = _params()
    site = _site(params)
    month = params.get("month") or synchronous_checks.month_start().strftime("%Y-%m")
    try:
        start = synchronous_checks.month_start(month)
        limit = max(0, int(params.get("limit") or 500))
        offset = max(0, int(params.get("offset") or 0))
    except ValueError as exc:
        raise AkismetInvalidError(f"Invalid parameter: {exc}") from exc
    seen = synchronous_checks.activity(db(), site, SOURCE, start)
    name = seen.blog or site.name
    rows = []
    if seen.calls and (params.get("filter") or "") in name:
        rows.append(
            {
                "site": name,
                "api_calls": str(seen.calls),
                "spam": str(seen.spam),
                "ham": str(seen.ham),
                "missed_spam": str(seen.missed_spam),
                "false_positives": str(seen.false_positives),
                "is_revoked": False,
            }
        )
    page = rows[offset : offset + limit]
    if params.get("format") == "csv":
        return _text(_csv(site, month, page, limit, offset, len(rows)))
    return jsonify({month: page, "limit": limit, "offset": offset, "total": len(rows)})


def _csv(site: Site, month: str, rows: list[dict[str, Any]], *paging: int) -> str:
    limit, offset, total = paging
    lines = [
        f"Active sites for {site.name} during {month} "
        f"(limit:{limit}, offset: {offset}, total: {total})",
        "Site,Total API Calls,Spam,Ham,Missed Spam,False Positives,Is Revoked",
    ]
    for r in rows:
        values = [r["site"], r["api_calls"], r["spam"], r["ham"], r["missed_spam"]]
        lines.append(",".join([*values, r["false_positives"], "false"]))
    return "\n".join(lines) + "\n"
