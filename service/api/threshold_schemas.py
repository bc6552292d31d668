"""Schemas of ``/v1/sites/{site_id}/policy/thresholds``: the trade-off out, a target in."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.thresholds import TASKS


def _share(description: str) -> fields.Float:
    return fields.Float(allow_none=True, metadata={"description": description})


class ThresholdTargetIn(Schema):
    """Approve this share of the task's legitimate comments without review."""

    task = fields.String(required=True, validate=validate.OneOf(TASKS))
    approve_legit = fields.Float(
        required=True,
        validate=validate.Range(0, 1, min_inclusive=False, max_inclusive=False),
        metadata={"description": "The share of legitimate comments to approve: 0 < share < 1."},
    )


class SetSharesOut(Schema):
    legit_approved = _share("Share of this set's legitimate comments approved.")
    bad_approved = _share("Share of this set's bad comments approved.")


class TradeoffPointOut(Schema):
    target = fields.Float(metadata={"description": "Share of legitimate comments to approve."})
    approve_below = fields.Float(metadata={"description": "The threshold that achieves it."})
    legit_approved = _share("Legitimate comments approved (mean over the data sets).")
    legit_approved_min = _share("Legitimate comments approved on the worst data set.")
    bad_approved = _share("Bad comments approved (mean over the data sets).")
    bad_approved_max = _share("Bad comments approved on the worst data set.")
    per_set = fields.Dict(keys=fields.String(), values=fields.Nested(SetSharesOut))


class LabelCountOut(Schema):
    legit = fields.Integer()
    bad = fields.Integer()


class ThresholdPairOut(Schema):
    approve_below = fields.Float()
    reject_at = fields.Float()


class CurveOut(Schema):
    source = fields.String(
        metadata={"enum": ["site", "model"], "description": "The site's comments or the model's."}
    )
    model_version = fields.String(allow_none=True)
    labels = fields.Nested(LabelCountOut, metadata={"description": "The labels it rests on."})
    nearest = fields.Integer(
        allow_none=True, metadata={"description": "The point nearest the current threshold."}
    )
    points = fields.List(fields.Nested(TradeoffPointOut))


class TaskThresholdsOut(Schema):
    current = fields.Nested(ThresholdPairOut, metadata={"description": "The thresholds in force."})
    source = fields.String(
        allow_none=True,
        metadata={"description": "The curve a target is set from: site, model or none yet."},
    )
    site_labels = fields.Nested(LabelCountOut, metadata={"description": "The site's labels."})
    curves = fields.List(fields.Nested(CurveOut))


class SiteThresholdsOut(Schema):
    site_id = fields.String()
    site = fields.String()
    model_version = fields.String(allow_none=True)
    min_site_labels = fields.Nested(
        LabelCountOut, metadata={"description": "Labels a site needs for a curve of its own."}
    )
    tasks = fields.Dict(keys=fields.String(), values=fields.Nested(TaskThresholdsOut))


class ThresholdTargetOut(Schema):
    task = fields.String()
    approve_legit = fields.Float()
    source = fields.String(metadata={"enum": ["site", "model"]})
    labels = fields.Nested(LabelCountOut, metadata={"description": "The labels it rests on."})
    point = fields.Nested(TradeoffPointOut, metadata={"description": "The point chosen."})
    thresholds = fields.Nested(ThresholdPairOut, metadata={"description": "The task's now."})
    previous = fields.Nested(ThresholdPairOut, metadata={"description": "The task's before."})
