"""A site's policy at the edge: the schema that validates it (API and CLI) and its document.

The stored policy holds only what an admin set; everything else takes the defaults of
``service.decisions.policy.DEFAULTS``, and thresholds not set follow the active model's. ``null``
for a setting puts it back to its default. The document shown by the API and the CLI is the stored
policy over the defaults, plus the read-only ``site_id``, ``effective_thresholds`` and
``model_version``, which are ignored when a document is sent back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates,
    validates_schema,
)

from classifier import Registry, squash_text
from service.decisions import policy
from service.decisions.reputation import HISTORY_LIMIT
from service.errors import ValidationError as InvalidInputError

READ_ONLY = ("site_id", "effective_thresholds", "model_version")
MAX_TERMS = 2000
LANGUAGE_TAG = validate.Regexp(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$", error="Not a language tag.")


def _score(**kwargs: Any) -> fields.Float:
    return fields.Float(validate=validate.Range(0, 1), allow_none=True, **kwargs)


class ThresholdIn(Schema):
    approve_below = _score(metadata={"description": "Scores below this are approved."})
    reject_at = _score(metadata={"description": "Scores at or above this are rejected."})

    @validates_schema
    def _ordered(self, data: Mapping[str, Any], **_: Any) -> None:
        low, high = data.get("approve_below"), data.get("reject_at")
        if low is not None and high is not None and low > high:
            raise ValidationError("Must not be above reject_at.", "approve_below")


class ThresholdsIn(Schema):
    spam = fields.Nested(ThresholdIn, allow_none=True)
    toxicity = fields.Nested(ThresholdIn, allow_none=True)


def _count(low: int, high: int, description: str) -> fields.Integer:
    return fields.Integer(
        validate=validate.Range(low, high), allow_none=True, metadata={"description": description}
    )


def _seconds(high: float, description: str) -> fields.Float:
    return fields.Float(
        validate=validate.Range(0, high, min_inclusive=False),
        allow_none=True,
        metadata={"description": description},
    )


class ReputationIn(Schema):
    enabled = fields.Boolean(allow_none=True)
    trusted_after = _count(1, HISTORY_LIMIT, "Approved comments (and no rejection) to be trusted.")
    trusted_max_score = _score(
        metadata={"description": "A trusted author is approved below this score (null: reject_at)."}
    )
    rejections_to_hold = _count(1, HISTORY_LIMIT, "Recent rejections that hold the next comment.")
    rejection_window_days = _seconds(3650, "How long a rejection counts as recent, in days.")


class BurstIn(Schema):
    enabled = fields.Boolean(allow_none=True)
    max_comments = _count(1, HISTORY_LIMIT, "Comments within the window that hold the next one.")
    window_seconds = _seconds(86400, "The burst window.")


class FloodIn(Schema):
    enabled = fields.Boolean(allow_none=True)
    copies = _count(1, 50, "Earlier copies within the window that make a repeat_post.")
    window_seconds = _seconds(30 * 86400, "The flood window.")
    action = fields.String(validate=validate.OneOf(["hold", "reject"]), allow_none=True)
    min_chars = _count(1, 10000, "Shorter texts (letters and digits) are never a flood.")
    near_duplicates = fields.Boolean(allow_none=True)


def _terms(description: str) -> fields.List:
    return fields.List(
        fields.String(validate=validate.Length(1, 200)),
        validate=validate.Length(max=MAX_TERMS),
        allow_none=True,
        metadata={"description": description},
    )


class PolicyIn(Schema):
    """A site's policy; every setting is optional and ``null`` restores its default."""

    mode = fields.String(
        validate=validate.OneOf(policy.MODES),
        allow_none=True,
        metadata={
            "description": "'trial': comments are decided and kept, nothing is acted on "
            "(webhooks say trial, Akismet answers false, Perspective never refuses); "
            "`commentgate sites report` shows what would have happened."
        },
    )
    trial_webhooks = fields.String(
        validate=validate.OneOf(policy.TRIAL_WEBHOOKS),
        allow_none=True,
        metadata={
            "description": "In trial mode: 'send' webhooks marked \"trial\": true, or 'none'."
        },
    )
    thresholds = fields.Nested(ThresholdsIn, allow_none=True)
    max_links = _count(0, 1000, "More links than this hold the comment.")
    blocked_terms = _terms("Terms that reject (normalized, whole words; 'term*' for a prefix).")
    suspect_terms = _terms("Terms that hold.")
    honeypot_field = fields.String(
        validate=validate.Length(1, 100),
        allow_none=True,
        metadata={"description": "A hidden form field (in metadata) that rejects when filled."},
    )
    min_submit_seconds = _seconds(3600, "Less time between form render and submit holds.")
    languages = fields.List(
        fields.String(validate=LANGUAGE_TAG),
        allow_none=True,
        metadata={"description": "Accepted languages; others are held. Empty: all."},
    )
    reputation = fields.Nested(ReputationIn, allow_none=True)
    akismet_discard = fields.Boolean(
        allow_none=True,
        metadata={
            "description": "Akismet clients hear 'discard' (delete unseen) for certain spam: "
            "rejected for the spam score or a filled honeypot alone. Off: their spam folder."
        },
    )
    perspective_languages = fields.String(
        validate=validate.OneOf(["score", "reject"]),
        allow_none=True,
        metadata={
            "description": "Perspective clients, text in a language the model was not trained "
            "on: 'score' it anyway (marked in detectedLanguages) or 'reject' it with a 400."
        },
    )
    perspective_feedback = fields.String(
        validate=validate.OneOf(["decision", "toxicity"]),
        allow_none=True,
        metadata={
            "description": "Perspective suggestscore (Coral's approve/reject): kept as a "
            "moderation 'decision', or as a 'toxicity' label to train on."
        },
    )
    burst = fields.Nested(BurstIn, allow_none=True)
    flood = fields.Nested(FloodIn, allow_none=True)

    @pre_load
    def _drop_read_only(self, data: Any, **_: Any) -> Any:
        if isinstance(data, Mapping):
            return {k: v for k, v in data.items() if k not in READ_ONLY}
        return data

    @validates("blocked_terms", "suspect_terms")
    def _matchable(self, value: list[str] | None, data_key: str) -> None:
        bad = [term for term in value or [] if not squash_text(term.rstrip("*"))]
        if bad:
            raise ValidationError(f"Terms need a letter or digit: {bad[:5]}.")


class PolicyOut(PolicyIn):
    site_id = fields.String()
    effective_thresholds = fields.Dict(
        metadata={"description": "The thresholds that apply now: the site's over the model's."}
    )
    model_version = fields.String(allow_none=True)


def overrides(data: Mapping[str, Any]) -> dict[str, Any]:
    """What is stored: the validated settings without the ``null`` ones (defaults)."""
    result: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            value = overrides(value)
            if not value:
                continue
        if value is not None:
            result[key] = value
    return result


def patched(stored: Mapping[str, Any], loaded: Mapping[str, Any]) -> dict[str, Any]:
    """The overrides to store after a merge patch; the result is checked as a whole.

    Stored keys the schema does not know (written by hand, or by an older version) are dropped
    rather than making every later change fail.
    """
    known = PolicyIn().fields
    current = {key: value for key, value in stored.items() if key in known}
    return overrides(load_policy(policy.merge(current, loaded)))


def load_policy(raw: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return PolicyIn().load(raw)
    except ValidationError as exc:
        raise InvalidInputError(
            f"The policy is invalid: {json.dumps(exc.messages)}", exc.messages
        ) from exc


def patch_from_assignments(assignments: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs of the command line as a validated patch; dotted keys nest."""
    patch: dict[str, Any] = {}
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        path = [part.strip() for part in key.split(".")]
        if not sep or not all(path):
            raise InvalidInputError(f"Expected KEY=VALUE, got {assignment!r}.")
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        if isinstance(value, str) and isinstance(_field(path), fields.List):
            value = [item.strip() for item in value.split(",") if item.strip()]
        target = patch
        for part in path[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise InvalidInputError(f"{key!r} is not inside a group of settings.")
        target[path[-1]] = value
    return load_policy(patch)


def _field(path: Sequence[str]) -> fields.Field | None:
    schema: Schema | None = PolicyIn()
    found: fields.Field | None = None
    for part in path:
        found = schema.fields.get(part) if schema is not None else None
        schema = found.schema if isinstance(found, fields.Nested) else None
    return found


def active_thresholds(model_dir: Path) -> tuple[str | None, dict[str, Any]]:
    """The active model's version and thresholds, read from its metadata (no model load)."""
    registry = Registry(model_dir)
    version = registry.active_version()
    if version is None:
        return None, {}
    return version, dict(registry.show(version).get("thresholds") or {})


def policy_document(site_id: str, stored: Mapping[str, Any], model_dir: Path) -> dict[str, Any]:
    """The policy as the command line prints it: ``policy_data`` dumped by ``PolicyOut``."""
    return PolicyOut().dump(policy_data(site_id, stored, model_dir))


def policy_data(site_id: str, stored: Mapping[str, Any], model_dir: Path) -> dict[str, Any]:
    """The policy as shown: stored settings over the defaults, and what applies now (plain data
    for ``PolicyOut``)."""
    version, model_thresholds = active_thresholds(model_dir)
    document = policy.resolve(stored)
    document["thresholds"] = dict(stored.get("thresholds") or {})
    document.update(
        site_id=site_id,
        effective_thresholds=policy.effective_thresholds(stored, model_thresholds),
        model_version=version,
    )
    return document
