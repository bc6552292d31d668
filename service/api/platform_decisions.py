"""``POST /v1/comments/{id}/decision``: a decision made in the platform's own admin.

A blog platform holds the site API key, not a moderator token, yet its moderators decide comments
too (WordPress's Approve, Spam and Trash). This records such a decision as a moderator's, so the
comment's status, its training label and the audit log agree with the platform, and sends the
`comment.decided` webhook a CommentGate moderator's decision sends.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import fields, validate

from service import moderation
from service.api.auth import require_site
from service.api.inputs import Blueprint
from service.api.moderation import commit_and_send
from service.api.moderation_schemas import DecisionIn
from service.api.schemas import CommentOut, ErrorOut
from service.models import Comment
from service.state import db

blp = Blueprint(
    "platform_decisions",
    __name__,
    url_prefix="/v1/comments",
    description="Decisions made by moderators on the platform itself (site API key).",
)


class PlatformDecisionIn(DecisionIn):
    moderator = fields.String(
        allow_none=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Who decided on the platform (a login name), for the audit log."},
    )


@blp.before_request
def _authenticate() -> None:
    require_site()


@blp.route("/<string:comment_id>/decision")
class PlatformDecision(MethodView):
    @blp.arguments(PlatformDecisionIn)
    @blp.response(200, CommentOut, description="The comment as decided.")
    @blp.alt_response(401, schema=ErrorOut, description="Missing or invalid API key.")
    @blp.alt_response(404, schema=ErrorOut, description="No such comment for this site.")
    @blp.alt_response(
        409,
        schema=ErrorOut,
        description="The comment changed meanwhile, or is not in `expected_status`.",
    )
    @blp.doc(security=[{"apiKey": []}])
    def post(self, data: dict[str, Any], comment_id: str) -> Comment:
        """Approve or reject as the platform's moderator; recorded like a CommentGate moderator's
        decision (`decided_by: moderator`, label kept for training, audit entry), and the
        platform gets a `comment.decided` webhook.
        """
        site = require_site()
        recorded = moderation.decide_for_platform(
            db(),
            site.id,
            comment_id,
            data["action"],
            moderator=data.get("moderator"),
            reason=data.get("reason"),
            label=data.get("label"),
            expected_status=data.get("expected_status"),
        )
        commit_and_send([recorded])
        return moderation.get_site_comment(db(), site.id, comment_id)
