"""The author panel in a queue card: the author's recent comments and standing, and the
actions on them. The card loads it when opened, so a page of cards costs nothing until then."""

from __future__ import annotations

from datetime import timedelta

from flask import flash, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue

from service import authors
from service.errors import ValidationError
from service.models import utcnow
from service.state import db
from service.web.views import _back, _commit_and_send, _require, _wants_json, blp

SHOWN = 5
SUSPEND_HOURS = 24
DONE = {
    "trusted": "Trusted",
    "premoderated": "Premoderated",
    "suspended": f"Suspended for {SUSPEND_HOURS} h",
    "banned": "Banned",
    "none": "Standing cleared",
}
STANDING_LABELS = {
    "trusted": "Trusted",
    "premoderated": "Premoderated",
    "suspended": "Suspended",
    "banned": "Banned",
}


def _who(view: authors.AuthorView) -> str:
    return view.comment.author_name or "Anonymous"


@blp.get("/comments/<string:comment_id>/author")
def author_panel(comment_id: str) -> str:
    moderator = _require()
    view = authors.author_of(db(), moderator.site_id, comment_id)
    return render_template(
        "moderate_author.html",
        view=view,
        who=_who(view),
        shown=view.history.comments[:SHOWN],
        back=_back(request.args.get("back", "")),
        labels=STANDING_LABELS,
    )


@blp.post("/comments/<string:comment_id>/author")
def author_standing(comment_id: str) -> ResponseReturnValue:
    """Set the standing; a suspension from the page lasts ``SUSPEND_HOURS``."""
    moderator = _require()
    standing = request.form.get("standing", "")
    if standing not in DONE:
        raise ValidationError(f"Unknown standing {standing!r}.")
    until = utcnow() + timedelta(hours=SUSPEND_HOURS) if standing == "suspended" else None
    reason = request.form.get("reason", "").strip()[:1000] or None
    view = authors.set_standing(db(), moderator, comment_id, standing, until=until, reason=reason)
    db().commit()
    message = f"{DONE[standing]}: {_who(view)}."
    if _wants_json():
        return jsonify({"standing": standing, "message": message})
    flash(message, "done")
    return redirect(_back(), 303)


@blp.post("/comments/<string:comment_id>/author/reject-held")
def author_reject_held(comment_id: str) -> ResponseReturnValue:
    moderator = _require()
    recorded = authors.reject_held(db(), moderator, comment_id)
    _commit_and_send(recorded)
    message = f"Rejected {len(recorded)} held comment(s) by this author."
    if _wants_json():
        return jsonify({"decided": len(recorded), "message": message})
    flash(message, "done")
    return redirect(_back(), 303)
