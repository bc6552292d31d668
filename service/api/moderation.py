"""``/v1/moderation``: the review queue for moderators (``Authorization: Bearer <token>``)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import RAISE

from service import moderation
from service.api.inputs import Blueprint
from service.api.moderation_schemas import (
    AuditArgs,
    AuditOut,
    BulkDecisionIn,
    BulkDecisionOut,
    CommentDetailOut,
    DecisionIn,
    QueueArgs,
    QueueItemOut,
    QueueOut,
)
from service.api.moderator_auth import require_moderator
from service.api.schemas import ErrorOut
from service.decisions.pipeline import Recorded
from service.errors import NotFoundError
from service.models import Comment, Moderator, Site
from service.state import db, state

blp = Blueprint(
    "moderation",
    __name__,
    url_prefix="/v1/moderation",
    description="Review held comments, decide them, and read the audit log (moderator token).",
)
SECURITY: list[dict[str, list[str]]] = [{"moderatorToken": []}]


@blp.before_request
def _authenticate() -> None:
    require_moderator()


def _check_site(moderator: Moderator, wanted: str | None) -> None:
    """``site`` may only name the moderator's own site; any other is unknown to them."""
    if wanted is None:
        return
    site = db().get(Site, moderator.site_id)
    if site is None or wanted not in (site.id, site.name):
        raise NotFoundError("Site not found.")


def commit_and_send(recorded: list[Recorded]) -> None:
    """Commit the decisions, then publish their webhooks (never before the commit)."""
    db().commit()
    state().enqueue_delivery([r.delivery.id for r in recorded if r.delivery is not None])


def decided(recorded: list[Recorded]) -> dict[str, Any]:
    """What ``BulkDecisionOut`` dumps: how many were decided and the comments as decided."""
    comments = [db().get(Comment, r.decision.comment_id) for r in recorded]
    return {"decided": len(recorded), "items": comments}


@blp.route("/queue")
class Queue(MethodView):
    @blp.arguments(QueueArgs, location="query", unknown=RAISE)
    @blp.response(200, QueueOut)
    @blp.alt_response(401, schema=ErrorOut, description="Missing, invalid or revoked token.")
    @blp.alt_response(404, schema=ErrorOut, description="`site` is not the moderator's site.")
    @blp.doc(security=SECURITY)
    def get(self, args: dict[str, Any]) -> moderation.Page:
        """The site's comments by status (held by default), filtered, sorted, a page at a time.

        Pass the `next` cursor of a page as `cursor` to get the following one; pages are
        stable under new comments arriving.
        """
        moderator = require_moderator()
        _check_site(moderator, args.pop("site", None))
        return moderation.queue(db(), moderator.site_id, moderation.QueueFilter(**args))


@blp.route("/comments/<string:comment_id>")
class CommentDetail(MethodView):
    @blp.response(200, CommentDetailOut)
    @blp.alt_response(404, schema=ErrorOut, description="No such comment on the site.")
    @blp.doc(security=SECURITY)
    def get(self, comment_id: str) -> moderation.CommentDetail:
        """One comment: scores, reasons, driving terms, the author's history, past decisions."""
        moderator = require_moderator()
        return moderation.comment_detail(db(), moderator.site_id, comment_id)


@blp.route("/comments/<string:comment_id>/decision")
class CommentDecision(MethodView):
    @blp.arguments(DecisionIn)
    @blp.response(200, QueueItemOut, description="The comment as decided.")
    @blp.alt_response(404, schema=ErrorOut, description="No such comment on the site.")
    @blp.alt_response(
        409,
        schema=ErrorOut,
        description="The comment changed meanwhile, or is not in `expected_status`.",
    )
    @blp.doc(security=SECURITY)
    def post(self, data: dict[str, Any], comment_id: str) -> Comment | None:
        """Approve or reject; the platform gets a new `comment.decided` webhook.

        The optional `label` (`spam`, `ham`, `toxic`, `ok`) is kept as training data.
        """
        moderator = require_moderator()
        recorded = moderation.decide(
            db(),
            moderator,
            comment_id,
            data["action"],
            reason=data.get("reason"),
            label=data.get("label"),
            expected_status=data.get("expected_status"),
        )
        commit_and_send([recorded])
        return db().get(Comment, comment_id)


@blp.route("/decisions")
class BulkDecisions(MethodView):
    @blp.arguments(BulkDecisionIn)
    @blp.response(200, BulkDecisionOut)
    @blp.alt_response(404, schema=ErrorOut, description="Some ids are unknown: nothing decided.")
    @blp.alt_response(
        409,
        schema=ErrorOut,
        description="A comment changed meanwhile, or is not in `expected_status`.",
    )
    @blp.doc(security=SECURITY)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Decide up to 500 comments at once, all or nothing; one audit entry per comment."""
        moderator = require_moderator()
        recorded = moderation.decide_many(
            db(),
            moderator,
            data["ids"],
            data["action"],
            reason=data.get("reason"),
            label=data.get("label"),
            expected_status=data.get("expected_status"),
        )
        commit_and_send(recorded)
        return decided(recorded)


@blp.route("/audit")
class Audit(MethodView):
    @blp.arguments(AuditArgs, location="query", unknown=RAISE)
    @blp.response(200, AuditOut)
    @blp.doc(security=SECURITY)
    def get(self, args: dict[str, Any]) -> moderation.AuditPage:
        """The site's audit log, newest first: who decided what, when."""
        moderator = require_moderator()
        return moderation.audit_log(
            db(),
            moderator.site_id,
            comment_id=args.get("comment"),
            limit=args["limit"],
            cursor=args.get("cursor"),
        )
