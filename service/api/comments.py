"""``/v1/comments``: the platform's way in. Validate, insert once, commit, enqueue."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from service.api.auth import require_site
from service.api.inputs import Blueprint
from service.api.schemas import CommentIn, CommentOut, ErrorOut
from service.api.views import comment_view
from service.comments import comment_row, get_comment, insert_comment
from service.models import Comment
from service.state import db, state

blp = Blueprint(
    "comments",
    __name__,
    url_prefix="/v1/comments",
    description="Submit comments for moderation and read their decisions.",
)


@blp.before_request
def _authenticate() -> None:
    """Authenticate before the body is parsed: a stranger learns nothing about validation."""
    require_site()


@blp.route("")
class Comments(MethodView):
    @blp.arguments(CommentIn())
    @blp.response(202, CommentOut, description="Stored durably and queued for a decision.")
    @blp.alt_response(200, schema=CommentOut, description="Already received: the existing comment.")
    @blp.alt_response(401, schema=ErrorOut, description="Missing or invalid API key.")
    @blp.alt_response(413, schema=ErrorOut, description="Request body too large.")
    @blp.doc(security=[{"apiKey": []}])
    def post(self, data: dict[str, Any]):  # noqa: ANN201
        """Submit a comment; the decision follows by webhook."""
        site = require_site()
        app_state = state()
        settings = app_state.settings
        row = comment_row(
            site,
            data,
            identifier_key=settings.identifier_key,
            hash_pii=settings.store_pii_hashed,
        )
        with app_state.engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as connection:
            comment_id, created = insert_comment(connection, row)
        if not created:
            return comment_view(db().get(Comment, comment_id)), 200
        app_state.enqueue_scoring([comment_id])
        return {
            "id": comment_id,
            "external_id": row["external_id"],
            "status": "pending",
            "received_at": row["received_at"],
            "decision": None,
        }


@blp.route("/<string:comment_id>")
class CommentById(MethodView):
    @blp.response(200, CommentOut)
    @blp.alt_response(404, schema=ErrorOut, description="No such comment for this site.")
    @blp.doc(security=[{"apiKey": []}])
    def get(self, comment_id: str):  # noqa: ANN201
        """A comment with its status and, once decided, the decision."""
        site = require_site()
        return comment_view(get_comment(db(), site, comment_id))
