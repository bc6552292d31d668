"""Small helpers the page's templates use to show times, scores, reasons and marked terms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from markupsafe import Markup

from service.delivery_badges import LABELS as DELIVERY_LABELS
from service.delivery_badges import SiteDeliveries
from service.highlights import comment_highlights
from service.models import Comment, utcnow
from service.moderation import cursor_after
from service.web.highlight import render, safe_href

REASON_LABELS = {
    "moderator": "Moderator",
    "spam_score": "Spam score",
    "toxicity_score": "Toxicity score",
    "model_terms": "Model terms",
    "too_many_links": "Links",
    "blocked_term": "Blocked term",
    "suspect_term": "Suspect term",
    "repeat_post": "Repeat post",
    "author_history": "Author history",
    "author_banned": "Author banned",
    "author_suspended": "Author suspended",
    "author_premoderated": "Author premoderated",
    "author_trusted": "Author trusted",
    "honeypot": "Honeypot",
    "too_fast": "Too fast",
    "language": "Language",
    "below_thresholds": "Below thresholds",
    "model_error": "Model error",
    "processing_error": "Processing error",
}
STATUS_VERBS = {
    "approved": "Approved",
    "held": "Held",
    "rejected": "Rejected",
    "pending": "Pending",
}


def ago(when: datetime | None) -> str:
    if when is None:
        return ""
    seconds = max(0, int((utcnow() - when).total_seconds()))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def score(comment_or_scores: Comment | dict[str, Any] | None, task: str) -> float | None:
    scores = (
        comment_or_scores.scores if isinstance(comment_or_scores, Comment) else comment_or_scores
    )
    value = (scores or {}).get(task)
    return float(value) if isinstance(value, int | float) else None


def bar_class(value: float | None, limits: dict[str, float] | None = None) -> str:
    """A width class in 5% steps and a level against the site's thresholds (the model's own
    when unknown): the bars need no inline style (strict CSP)."""
    if value is None:
        return "w0 none"
    width = max(0, min(100, round(value * 20) * 5))
    hold = (limits or {}).get("approve_below", 0.5)
    reject = (limits or {}).get("reject_at", 0.8)
    level = "high" if value >= reject else "mid" if value >= hold else "low"
    return f"w{width} {level}"


def tick_class(threshold: float) -> str:
    """A threshold's place on a bar, in whole percent."""
    return f"at{max(0, min(100, round(threshold * 100)))}"


def marked(comment: Comment) -> Markup:
    """The comment's text as its readers saw it, with the words that drove the decision marked."""
    return render(comment.content, comment_highlights(comment.content, comment.reasons))


def reason_label(reason: Any) -> str:
    code = reason.get("code", "") if isinstance(reason, dict) else ""
    return REASON_LABELS.get(code, code.replace("_", " ").capitalize() or "Reason")


HELPERS = {
    "ago": ago,
    "score": score,
    "bar_class": bar_class,
    "tick_class": tick_class,
    "safe_href": safe_href,
    "marked": marked,
    "reason_label": reason_label,
    "status_verbs": STATUS_VERBS,
    "reason_labels": REASON_LABELS,
    "cursor_after": cursor_after,
    "delivery_labels": DELIVERY_LABELS,
    "site_deliveries": SiteDeliveries.of,
}
