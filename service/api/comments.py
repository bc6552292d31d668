"""``/v1/comments``: the platform's way in. Validate, insert once, commit, enqueue; an edit
(``PATCH``/``PUT``) keeps the earlier text and is decided again the same way."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from service.api.auth import require_site
from service.api.inputs import Blueprint
from service.api.schemas import CommentEditIn, CommentIn, CommentOut, ErrorOut
from service.comments import comment_row, get_comment, insert_comment
from service.decisions.edits import revise
from service.errors import ConflictError
from service.models import Comment, utcnow
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
    def post(self, data: dict[str, Any]) -> dict[str, Any] | tuple[Comment, int]:
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
            return db().get_one(Comment, comment_id), 200
        app_state.enqueue_scoring([comment_id])
        return row  # the columns just stored, as CommentOut reads them


@blp.route("/<string:comment_id>")
class CommentById(MethodView):
    @blp.response(200, CommentOut)
    @blp.alt_response(404, schema=ErrorOut, description="No such comment for this site.")
    @blp.doc(security=[{"apiKey": []}])
    def get(self, comment_id: str) -> Comment:
        """A comment with its status and, once decided, the decision."""
        site = require_site()
        return get_comment(db(), site, comment_id)

    @blp.arguments(CommentEditIn())
    @blp.response(202, CommentOut, description="The new text is kept and queued for a decision.")
    @blp.alt_response(200, schema=CommentOut, description="The same text: nothing changed.")
    @blp.alt_response(404, schema=ErrorOut, description="No such comment for this site.")
    @blp.doc(security=[{"apiKey": []}])
    def patch(self, data: dict[str, Any], comment_id: str) -> tuple[Comment, int]:
        """Edit a comment's text: the earlier one is kept as a revision and the comment is
        decided again; a webhook follows only if the action changes."""
        return _edit(comment_id, data["content"])

    @blp.arguments(CommentIn())
    @blp.response(202, CommentOut, description="The new text is kept and queued for a decision.")
    @blp.alt_response(200, schema=CommentOut, description="The same text: nothing changed.")
    @blp.alt_response(404, schema=ErrorOut, description="No such comment for this site.")
    @blp.alt_response(409, schema=ErrorOut, description="external_id is another comment's.")
    @blp.doc(security=[{"apiKey": []}])
    def put(self, data: dict[str, Any], comment_id: str) -> tuple[Comment, int]:
        """The comment sent again in full, with its edited text: as ``PATCH`` with its
        ``content``. The ``external_id`` must be the comment's; the other fields stay as first
        received."""
        site = require_site()
        comment = get_comment(db(), site, comment_id)
        if data["external_id"] != comment.external_id:
            raise ConflictError(
                "external_id differs from this comment's; a new comment is a POST.",
                {"external_id": comment.external_id},
            )
        return _edit(comment_id, data["content"])


def _edit(comment_id: str, content: str) -> tuple[Comment, int]:
    """Keep the new text and queue its decision after the commit, as a new comment's is (the
    sweep picks it up if publishing fails)."""
    site = require_site()
    session = db()
    comment = get_comment(session, site, comment_id)
    changed = revise(session, comment, content, utcnow())
    session.commit()
    if not changed:
        return comment, 200
    state().enqueue_scoring([comment.id])
    return comment, 202
