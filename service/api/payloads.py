"""Turning stored objects into response dictionaries (shared by several blueprints)."""

from __future__ import annotations

from typing import Any

from service.models import Comment


def decision_payload(comment: Comment) -> dict[str, Any] | None:
    if comment.action is None:
        return None
    return {
        "action": comment.action,
        "scores": comment.scores or {},
        "reasons": comment.reasons or [],
        "model_version": comment.model_version,
        "decided_by": comment.decided_by,
        "decided_at": comment.decided_at,
    }


def comment_payload(comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.id,
        "external_id": comment.external_id,
        "status": comment.status,
        "received_at": comment.received_at,
        "decision": decision_payload(comment),
        "revisions": comment.revisions or 0,
        "edited_at": comment.edited_at,
    }
