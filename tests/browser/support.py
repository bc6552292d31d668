"""Helpers for driving the moderator page in Debian's Chromium through Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from service.decisions.policy import Facts, ModelOutput, judge
from service.models import Comment, Decision, new_id, utcnow
from service.security import hash_identifier

# The seeded comments' e-mail hashes only need to match one another.
KEY = b"demo"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    return CHROMIUM if shutil.which(CHROMIUM) else None


def launch(playwright: Any):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def score_reasons(spam: float, toxicity: float, terms: dict[str, list[str]]) -> list[dict]:
    """Reasons shaped as the policy writes them, for comments stored directly."""
    reasons: list[dict[str, Any]] = []
    for task, value in (("spam", spam), ("toxicity", toxicity)):
        if value < 0.5:
            continue
        reasons.append(
            {
                "code": f"{task}_score",
                "message": f"The {task} score {value:.2f} reached the hold threshold 0.50.",
                "score": value,
                "threshold": 0.5,
                "action": "hold",
            }
        )
        if terms.get(task):
            reasons.append(
                {
                    "code": "model_terms",
                    "message": f"Terms that raised the {task} score: {', '.join(terms[task])}.",
                    "task": task,
                    "terms": terms[task],
                }
            )
    return reasons


def policy_reasons(
    content: str, site_policy: dict[str, Any], scores: dict[str, float], terms: dict[str, list]
) -> list[dict[str, Any]]:
    """The reasons the real policy gives a comment with these scores and model terms."""
    model = ModelOutput(scores=scores, terms=terms, version="demo", thresholds={})
    return judge(Facts(content=content), model, site_policy).reasons


def store_held(session: Session, site_id: str, rows: Sequence[dict[str, Any]]) -> list[str]:
    """Held comments with scores and reasons, newest last, without going through a model."""
    ids = []
    now = utcnow()
    for index, row in enumerate(rows):
        spam, toxicity = row.get("spam", 0.0), row.get("toxicity", 0.0)
        received = now - timedelta(minutes=row.get("minutes_ago", len(rows) - index))
        comment = Comment(
            id=new_id(),
            site_id=site_id,
            external_id=row["external_id"],
            status="held",
            content=row["content"],
            post_id=row.get("post_id", "17"),
            post_title=row.get("post_title"),
            post_url=row.get("post_url"),
            author_name=row.get("author"),
            author_email=row.get("email"),
            author_email_hash=hash_identifier(row["email"], KEY) if row.get("email") else None,
            author_ip=row.get("ip"),
            received_at=received,
            decided_at=received + timedelta(seconds=1),
            action="hold",
            decided_by="model",
            scores={"spam": spam, "toxicity": toxicity},
            reasons=row.get("reasons") or score_reasons(spam, toxicity, row.get("terms", {})),
            model_version="20240601-demo",
        )
        session.add(comment)
        session.add(
            Decision(
                comment_id=comment.id,
                action="hold",
                scores=comment.scores,
                reasons=comment.reasons,
                model_version=comment.model_version,
                decided_by="model",
                decided_at=received + timedelta(seconds=1),
            )
        )
        ids.append(comment.id)
    return ids
