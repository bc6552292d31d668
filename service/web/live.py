"""What keeps the queue page current without reloads: the next cards as the moderator goes, and
the state of the cards on screen (decided elsewhere, delivered or not) with live counts."""

from __future__ import annotations

from flask import Response, jsonify, render_template, request, url_for
from sqlalchemy import select

from service import delivery_badges, moderation
from service.errors import ValidationError
from service.models import Comment, Site
from service.state import db
from service.web.views import _queue_filter, _require, blp, card_context


@blp.get("/cards")
def cards() -> Response:
    """The queue's next cards (``cursor``) under the same filters, as HTML, and the URL after."""
    moderator = _require()
    queue_filter, filters = _queue_filter(request.args.to_dict())
    if not queue_filter.cursor:
        raise ValidationError("cursor is required.")
    page = moderation.queue(db(), moderator.site_id, queue_filter)
    site = db().get(Site, moderator.site_id)
    html = render_template(
        "moderate_cards.html",
        page=page,
        current=queue_filter,
        back=url_for(".index", **filters),
        **card_context(site, page.items),
    )
    more = url_for(".cards", cursor=page.next, **filters) if page.next else ""
    return jsonify({"html": html, "more": more})


@blp.get("/state")
def cards_state() -> Response:
    """For the cards on screen (``ids``): status and delivery; for the site: counts, failing;
    under the page's filters, if any, how many comments match them (``matching``)."""
    moderator = _require()
    ids = request.args.getlist("ids")[: moderation.MAX_PAGE]
    session = db()
    filters = {k: v for k, v in request.args.items() if k != "ids"}
    matching = None
    if any(k not in ("status", "sort") for k in filters):
        queue_filter, _ = _queue_filter(filters)
        matching = moderation.count_matching(session, moderator.site_id, queue_filter)
    statuses = dict(
        session.execute(
            select(Comment.id, Comment.status).where(
                Comment.id.in_(ids), Comment.site_id == moderator.site_id
            )
        ).all()
    )
    site = delivery_badges.SiteDeliveries.of(session.get(Site, moderator.site_id))
    return jsonify(
        {
            "statuses": statuses,
            "deliveries": delivery_badges.delivery_states(session, moderator.site_id, ids),
            "counts": moderation.status_counts(session, moderator.site_id),
            "failing": site.failing,
            "matching": matching,
        }
    )
