"""The decision step: model scores and a site's rules become approve, hold or reject, with reasons.

Pure functions, no I/O: the queue worker, the synchronous compatibility endpoints and re-scoring
all call :func:`decide`, so every path decides the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SEVERITY = {"approve": 0, "hold": 1, "reject": 2}
DEFAULT_MAX_LINKS = 2
FALLBACK_THRESHOLDS = {
    "spam": {"approve_below": 0.5, "reject_at": 0.95},
    "toxicity": {"approve_below": 0.5, "reject_at": 0.95},
}
LINK_PATTERN = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)


@dataclass(frozen=True)
class Facts:
    """What the policy looks at besides the scores."""

    content: str
    author_name: str | None = None
    author_email: str | None = None
    author_url: str | None = None
    author_ip: str | None = None
    language: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelOutput:
    scores: Mapping[str, float]
    terms: Mapping[str, Sequence[str]]
    version: str | None
    thresholds: Mapping[str, Mapping[str, float]]


@dataclass(frozen=True)
class Verdict:
    action: str
    decided_by: str
    reasons: list[dict[str, Any]]


def effective_thresholds(
    site_policy: Mapping[str, Any], model_thresholds: Mapping[str, Mapping[str, float]]
) -> dict[str, dict[str, float]]:
    """Site overrides win over the thresholds the model was calibrated with."""
    result: dict[str, dict[str, float]] = {}
    overrides = site_policy.get("thresholds") or {}
    for task, fallback in FALLBACK_THRESHOLDS.items():
        merged = dict(fallback)
        merged.update(model_thresholds.get(task) or {})
        merged.update(overrides.get(task) or {})
        result[task] = merged
    return result


def count_links(text: str) -> int:
    return len(LINK_PATTERN.findall(text))


def decide(facts: Facts, model: ModelOutput, site_policy: Mapping[str, Any]) -> Verdict:
    """Apply thresholds and rules; the most severe action wins, every fired rule is a reason."""
    reasons: list[dict[str, Any]] = []
    outcomes: list[tuple[str, str]] = []
    thresholds = effective_thresholds(site_policy, model.thresholds)
    for task in ("spam", "toxicity"):
        score = float(model.scores.get(task, 0.0))
        limits = thresholds[task]
        if score >= limits["reject_at"]:
            action, limit = "reject", limits["reject_at"]
        elif score >= limits["approve_below"]:
            action, limit = "hold", limits["approve_below"]
        else:
            continue
        outcomes.append((action, "model"))
        reasons.append(
            {
                "code": f"{task}_score",
                "message": f"The {task} score {score:.2f} reached the {action} threshold "
                f"{limit:.2f}.",
                "score": round(score, 4),
                "threshold": limit,
                "action": action,
            }
        )
        terms = list(model.terms.get(task) or [])
        if terms:
            reasons.append(
                {
                    "code": "model_terms",
                    "message": f"Terms that raised the {task} score: {', '.join(terms)}.",
                    "task": task,
                    "terms": terms,
                }
            )
    max_links = int(site_policy.get("max_links", DEFAULT_MAX_LINKS))
    links = count_links(facts.content)
    if links > max_links:
        outcomes.append(("hold", "rule"))
        reasons.append(
            {
                "code": "too_many_links",
                "message": f"The comment has {links} links; the site allows {max_links}.",
                "count": links,
                "max": max_links,
                "action": "hold",
            }
        )
    if not outcomes:
        return Verdict("approve", "model", reasons)
    action, decided_by = max(outcomes, key=lambda item: SEVERITY[item[0]])
    return Verdict(action, decided_by, reasons)
