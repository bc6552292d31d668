"""``/v1/sites/{site_id}/policy``: a site's moderation policy, for the site's admin moderators.

A moderator token of another site gets 404 (sites do not learn of each other), a plain
moderator of this site 403. A change applies to the next comment decided, in every process,
because the decision step reads the policy with the site each time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import request
from flask.views import MethodView

from service.api.inputs import Blueprint
from service.api.moderator_auth import require_moderator
from service.api.policy_schemas import PolicyIn, PolicyOut, overrides, patched, policy_data
from service.api.schemas import ErrorOut
from service.api.threshold_schemas import SiteThresholdsOut, ThresholdTargetIn, ThresholdTargetOut
from service.errors import NotFoundError
from service.models import Site
from service.sites import set_policy
from service.state import db, state
from service.thresholds import active_model_metadata, set_target, site_thresholds

blp = Blueprint(
    "sites",
    __name__,
    url_prefix="/v1/sites",
    description="A site's moderation policy: thresholds, rules and reputation (admin token).",
)
SECURITY: list[dict[str, list[str]]] = [{"moderatorToken": []}]


@blp.before_request
def _authorize() -> None:
    """Before the body is read: 401 without a token, 404 for another site, 403 for non-admins."""
    moderator = require_moderator()
    site_id = (request.view_args or {}).get("site_id")
    if site_id != moderator.site_id:
        raise NotFoundError("Site not found.")
    require_moderator(role="admin")


def _site(site_id: str) -> Site:
    site = db().get(Site, site_id)
    if site is None:
        raise NotFoundError("Site not found.")
    return site


def _document(site: Site) -> dict[str, Any]:
    return policy_data(site.id, site.policy or {}, state().settings.model_dir)


def _save(site: Site, stored: dict[str, Any]) -> dict[str, Any]:
    set_policy(db(), site, stored, moderator_id=require_moderator().id)
    db().commit()
    return _document(site)


def _admin_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """The error answers every method shares, for the OpenAPI document."""
    errors = (
        (401, "Missing or invalid moderator token."),
        (403, "Not an admin of this site."),
        (404, "No such site for this token."),
    )
    for status, description in errors:
        view = blp.alt_response(status, schema=ErrorOut, description=description)(view)
    return blp.doc(security=SECURITY)(view)


def _writes(view: Callable[..., Any]) -> Callable[..., Any]:
    view = blp.alt_response(422, schema=ErrorOut, description="Unknown or invalid settings.")(view)
    return blp.arguments(PolicyIn)(blp.response(200, PolicyOut)(_admin_only(view)))


@blp.route("/<string:site_id>/policy")
class SitePolicy(MethodView):
    @blp.response(200, PolicyOut)
    @_admin_only
    def get(self, site_id: str) -> dict[str, Any]:
        """The site's policy: its settings over the defaults, and the thresholds in force."""
        return _document(_site(site_id))

    @_writes
    def put(self, data: dict[str, Any], site_id: str) -> dict[str, Any]:
        """Replace the policy: settings left out return to their defaults."""
        return _save(_site(site_id), overrides(data))

    @_writes
    def patch(self, data: dict[str, Any], site_id: str) -> dict[str, Any]:
        """Change some settings (JSON merge patch: objects merge, ``null`` restores a default)."""
        site = _site(site_id)
        return _save(site, patched(site.policy or {}, data))


@blp.route("/<string:site_id>/policy/thresholds")
class SitePolicyThresholds(MethodView):
    @blp.response(200, SiteThresholdsOut)
    @_admin_only
    def get(self, site_id: str) -> dict[str, Any]:
        """The trade-off: legitimate comments approved against bad ones let through.

        Per task, the thresholds in force and curves of targets (shares of legitimate comments
        approved without review) with their thresholds and the share of bad comments each
        lets through: from the site's own labeled comments once there are enough, and from
        the active model's dev data.
        """
        metadata = active_model_metadata(state().settings.model_dir)
        return site_thresholds(db(), _site(site_id), metadata).as_dict()

    @blp.arguments(ThresholdTargetIn)
    @blp.response(200, ThresholdTargetOut)
    @blp.alt_response(409, schema=ErrorOut, description="No trade-off curve for the task yet.")
    @blp.alt_response(422, schema=ErrorOut, description="Unknown task or share out of range.")
    @_admin_only
    def put(self, data: dict[str, Any], site_id: str) -> dict[str, Any]:
        """Set a target share of legitimate comments to approve without review.

        The task's approve_below becomes the threshold that achieves it on the site's own
        curve when it has one, else on the model's (reject_at is raised to it if lower).
        """
        metadata = active_model_metadata(state().settings.model_dir)
        target = set_target(
            db(),
            _site(site_id),
            metadata,
            data["task"],
            data["approve_legit"],
            moderator_id=require_moderator().id,
        )
        db().commit()
        return target.as_dict()
