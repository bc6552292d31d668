"""``/v1/moderation/comments/{id}/author``: the comment's author, their standing, and acting on
them. Moderators may act (as they may decide comments); every change is audited."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from service import authors
from service.api.moderation import SECURITY, blp, commit_and_send, decided
from service.api.moderation_schemas import (
    AuthorPanelOut,
    BulkDecisionOut,
    RejectHeldIn,
    StandingIn,
)
from service.api.moderator_auth import require_moderator
from service.api.schemas import ErrorOut
from service.state import db


@blp.route("/comments/<string:comment_id>/author")
class CommentAuthor(MethodView):
    @blp.response(200, AuthorPanelOut)
    @blp.alt_response(404, schema=ErrorOut, description="No such comment on the site.")
    @blp.doc(security=SECURITY)
    def get(self, comment_id: str) -> authors.AuthorView:
        """The comment's author: standing in force and recent comments on the site."""
        moderator = require_moderator()
        return authors.author_of(db(), moderator.site_id, comment_id)

    @blp.arguments(StandingIn)
    @blp.response(200, AuthorPanelOut)
    @blp.alt_response(404, schema=ErrorOut, description="No such comment on the site.")
    @blp.alt_response(
        422,
        schema=ErrorOut,
        description="A suspension without a future `until`, or an author with no e-mail or IP.",
    )
    @blp.alt_response(
        409, schema=ErrorOut, description="A colleague set this author's standing at once."
    )
    @blp.doc(security=SECURITY)
    def post(self, data: dict[str, Any], comment_id: str) -> authors.AuthorView:
        """Set the author's standing on the site; it decides their next comments.

        The author is known as their history knows them: by e-mail, else by IP.
        """
        moderator = require_moderator()
        view = authors.set_standing(
            db(),
            moderator,
            comment_id,
            data["standing"],
            until=data.get("until"),
            reason=data.get("reason"),
        )
        db().commit()
        return view


@blp.route("/comments/<string:comment_id>/author/reject-held")
class RejectHeld(MethodView):
    @blp.arguments(RejectHeldIn)
    @blp.response(200, BulkDecisionOut)
    @blp.alt_response(404, schema=ErrorOut, description="No such comment on the site.")
    @blp.alt_response(422, schema=ErrorOut, description="An author with no e-mail or IP.")
    @blp.doc(security=SECURITY)
    def post(self, data: dict[str, Any], comment_id: str) -> dict[str, Any]:
        """Reject every held comment of this author on the site (up to 500); each is audited
        and sent to the platform by webhook, as any moderator decision."""
        moderator = require_moderator()
        recorded = authors.reject_held(db(), moderator, comment_id, reason=data.get("reason"))
        commit_and_send(recorded)
        return decided(recorded)
