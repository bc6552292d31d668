"""``/moderate``: sign in with a moderator token, triage the queue, read a comment's history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from marshmallow import EXCLUDE
from marshmallow import ValidationError as SchemaError

from service import delivery_badges, moderation, undo
from service.api.inputs import check_fields
from service.api.moderation_schemas import QueueArgs
from service.api.policy_schemas import active_thresholds
from service.decisions import policy
from service.decisions.pipeline import STATUS_OF_ACTION, Recorded
from service.errors import CommentGateError, UnauthorizedError, ValidationError
from service.models import Comment, Moderator, Site
from service.state import db, state
from service.web import auth
from service.web.present import HELPERS

blp = Blueprint(
    "moderate",
    __name__,
    url_prefix="/moderate",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
FILTER_FIELDS = (
    "status",
    "sort",
    "q",
    "author",
    "post",
    "reason",
    "spam_min",
    "spam_max",
    "toxicity_min",
    "toxicity_max",
)


@blp.after_request
def _security_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return response


SIGNED_OUT = "You are signed out. Sign in again to go on; your selection is kept."


@blp.before_request
def _protect_posts() -> None:
    """A post from a session that has ended says so: its CSRF token went with the session, so
    checking the token first would blame the form."""
    if request.method != "POST":
        return
    if request.endpoint not in ("moderate.sign_in", "moderate.sign_out"):
        if auth.current_moderator() is None:
            raise UnauthorizedError(SIGNED_OUT)
    auth.check_csrf()
    check_fields(request.form)


@blp.context_processor
def _helpers() -> dict[str, Any]:
    return {"csrf_token": auth.csrf_token, "moderator": auth.current_moderator(), **HELPERS}


@blp.errorhandler(CommentGateError)
def _page_error(exc: CommentGateError) -> ResponseReturnValue:
    if _wants_json():
        body: dict[str, Any] = {"code": exc.code, "message": exc.message}
        if exc.details:
            body["details"] = exc.details
        return jsonify({"error": body}), exc.status
    return render_template("moderate_error.html", error=exc), exc.status


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _require() -> Moderator:
    moderator = auth.current_moderator()
    if moderator is None:
        raise UnauthorizedError(SIGNED_OUT)
    return moderator


def _back(target: str | None = None) -> str:
    """Where a form (or a link, with ``target``) came from, if that is this page (never an open
    redirect)."""
    target = (request.form.get("next") or "") if target is None else target
    if target.startswith("/moderate") and not target.startswith("//"):
        return target
    return url_for(".index")


def _queue_filter(args: dict[str, str]) -> tuple[moderation.QueueFilter, dict[str, Any]]:
    """The queue's filters from the query string; invalid ones are reported and dropped."""
    given = {k: v for k, v in args.items() if k in (*FILTER_FIELDS, "cursor") and v.strip()}
    try:
        loaded = QueueArgs().load(given, unknown=EXCLUDE)
    except SchemaError as exc:
        for name, messages in exc.normalized_messages().items():
            flash(f"Filter {name}: {' '.join(map(str, messages))}", "error")
            given.pop(name, None)
        given = {k: v for k, v in given.items() if k in ("status", "sort", "q")}
        loaded = QueueArgs().load(given, unknown=EXCLUDE)
    loaded.pop("site", None)
    loaded["limit"] = 25
    return moderation.QueueFilter(**loaded), {k: v for k, v in given.items() if k != "cursor"}


@blp.get("")
def index() -> str:
    moderator = auth.current_moderator()
    if moderator is None:
        return render_template("moderate_signin.html")
    session = db()
    queue_filter, filters = _queue_filter(request.args.to_dict())
    try:
        page = moderation.queue(session, moderator.site_id, queue_filter)
    except ValidationError as exc:  # a stale or edited cursor: start from the first page
        flash(exc.message, "error")
        page = moderation.queue(session, moderator.site_id, moderation.QueueFilter())
    site = session.get(Site, moderator.site_id)
    return render_template(
        "moderate_queue.html",
        site=site,
        **card_context(site, page.items),
        page=page,
        filters=filters,
        current=queue_filter,
        counts=moderation.status_counts(session, moderator.site_id),
        matching=moderation.count_matching(session, moderator.site_id, queue_filter)
        if page.next
        else len(page.items),
        has_filters=any(k not in ("status", "sort") for k in filters),
        back=request.full_path.rstrip("?"),
    )


def card_context(site: Site | None, comments: Sequence[Comment]) -> dict[str, Any]:
    """What cards show besides the comment: who decided, the delivery, the site's thresholds."""
    if site is None:
        return {"deciders": {}, "deliveries": {}, "limits": {}}
    model_thresholds = active_thresholds(state().settings.model_dir)[1]
    return {
        "deciders": moderation.deciders(db(), comments),
        "deliveries": delivery_badges.delivery_states(db(), site.id, [c.id for c in comments]),
        "limits": policy.effective_thresholds(site.policy or {}, model_thresholds),
    }


@blp.post("/sign-in")
def sign_in() -> ResponseReturnValue:
    if auth.sign_in(request.form.get("token", "")) is None:
        return render_template("moderate_signin.html", failed=True), 401
    return redirect(url_for(".index"), 303)


@blp.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    auth.sign_out()
    return redirect(url_for(".index"), 303)


@blp.get("/comments/<string:comment_id>")
def comment(comment_id: str) -> ResponseReturnValue:
    moderator = auth.current_moderator()
    if moderator is None:
        return redirect(url_for(".index"))
    session = db()
    detail = moderation.comment_detail(session, moderator.site_id, comment_id)
    queue_url = _back(request.args.get("queue", ""))
    return render_template(
        "moderate_comment.html",
        site=session.get(Site, moderator.site_id),
        detail=detail,
        queue_url=queue_url,
        next_url=_next_url(moderator, detail.comment, queue_url),
        **card_context(session.get(Site, moderator.site_id), [detail.comment]),
        back=request.full_path.rstrip("?"),
    )


def _next_url(moderator: Moderator, current: Comment, queue_url: str) -> str | None:
    """The page of the comment after this one in the queue the moderator came from."""
    query = dict(parse_qsl(urlsplit(queue_url).query))
    queue_filter, _ = _queue_filter({k: v for k, v in query.items() if k != "cursor"})
    following = moderation.next_in_queue(db(), moderator.site_id, queue_filter, current)
    if following is None:
        return None
    return url_for(".comment", comment_id=following.id, queue=queue_url)


def _choice() -> tuple[str, str | None]:
    """``decision`` is ``approve``, ``reject`` or ``reject:<label>``; else ``action``/``label``."""
    decision = request.form.get("decision")
    if decision:
        action, _, label = decision.partition(":")
    else:
        action, label = request.form.get("action", ""), request.form.get("label", "")
    return action, label or None


def _commit_and_send(recorded: Sequence[Recorded]) -> None:
    """Commit, then publish the webhooks once the undo window has closed."""
    for one in recorded:
        undo.hold_back(one)
    db().commit()
    ids = [r.delivery.id for r in recorded if r.delivery is not None]
    state().enqueue_delivery(ids, countdown=undo.UNDO_SECONDS)


@blp.post("/comments/<string:comment_id>/decision", endpoint="decide")
def post_decision(comment_id: str) -> ResponseReturnValue:
    moderator = _require()
    action, label = _choice()
    reason = request.form.get("reason", "").strip()[:1000] or None
    recorded = moderation.decide(
        db(),
        moderator,
        comment_id,
        action,
        reason=reason,
        label=label,
        expected_status=request.form.get("expected_status") or None,
    )
    _commit_and_send([recorded])
    decided = db().get_one(Comment, comment_id)
    if _wants_json():
        return jsonify(
            {
                "id": decided.id,
                "external_id": decided.external_id,
                "status": decided.status,
                "action": decided.action,
                "decided_by": decided.decided_by,
                "moderator": moderator.email,
                "label": label,
                "reason": (decided.reasons or [{}])[0].get("message"),
                "delivery": "holding" if recorded.delivery is not None else None,
                "decision_id": recorded.decision.id,
                "undo_seconds": undo.UNDO_SECONDS,
                "undo_url": url_for(".undo_decision", comment_id=decided.id),
                "counts": moderation.status_counts(db(), moderator.site_id),
            }
        )
    flash(f"{decided.status.capitalize()}: {decided.external_id}.", "done")
    return redirect(_back(), 303)


@blp.post("/comments/<string:comment_id>/undo")
def undo_decision(comment_id: str) -> Response:
    """Take back the moderator's decision while its webhook is still held back."""
    moderator = _require()
    comment = undo.undo(db(), moderator, comment_id, _decision_id(request.form.get("decision_id")))
    return _undone([comment])


@blp.post("/decisions/undo")
def undo_decisions() -> Response:
    """Take back a bulk decision (``decisions``: ``COMMENT_ID:DECISION_ID``), all or nothing."""
    moderator = _require()
    pairs = [item.partition(":") for item in request.form.getlist("decisions")]
    decisions = [(comment_id, _decision_id(number)) for comment_id, _, number in pairs]
    return _undone(undo.undo_many(db(), moderator, decisions))


def _decision_id(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError as exc:
        raise ValidationError("A decision is named by its number.") from exc


def _undone(comments: Sequence[Comment]) -> Response:
    """Commit the undo; each comment's status, decider and delivery state as they are now."""
    db().commit()
    site_id = comments[0].site_id
    states = delivery_badges.delivery_states(db(), site_id, [c.id for c in comments])
    items = [
        {
            "id": c.id,
            "external_id": c.external_id,
            "status": c.status,
            "decided_by": c.decided_by,
            "delivery": states.get(c.id),
        }
        for c in comments
    ]
    counts = moderation.status_counts(db(), site_id)
    return jsonify({**items[0], "items": items, "counts": counts})


@blp.post("/decisions")
def decide_selected() -> ResponseReturnValue:
    moderator = _require()
    action, label = _choice()
    ids, total = request.form.getlist("ids"), None
    if request.args.get("matching"):
        queue_filter, _ = _queue_filter(request.args.to_dict())
        ids, total = moderation.matching(db(), moderator.site_id, queue_filter)
    if not ids:
        if _wants_json():
            raise ValidationError("Select comments first (x, or the checkboxes).")
        flash("Select comments first (x, or the checkboxes).", "error")
        return redirect(_back(), 303)
    recorded = moderation.decide_many(db(), moderator, ids, action, label=label)
    _commit_and_send(recorded)
    verb = "Approved" if action == "approve" else "Rejected"
    message = f"{verb} {len(recorded)} comment{'s' if len(recorded) != 1 else ''}"
    if total is not None:
        message += f" of {total} matching" if total > len(recorded) else " matching"
    message += f" as {label}." if label else "."
    if _wants_json():
        decisions = [f"{r.decision.comment_id}:{r.decision.id}" for r in recorded]
        return jsonify(
            {
                "decided": len(recorded),
                "message": message,
                "status": STATUS_OF_ACTION[action],
                "decisions": decisions,
                "undo_url": url_for(".undo_decisions"),
                "undo_seconds": undo.UNDO_SECONDS,
                "counts": moderation.status_counts(db(), moderator.site_id),
            }
        )
    flash(message, "done")
    return redirect(_back(), 303)
