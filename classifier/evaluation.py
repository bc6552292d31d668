"""Measuring a model on labeled comments."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .data import TASKS, parse_label, read_rows
from .metrics import binary_metrics
from .model import Model
from .types import CommentInput

__all__ = ["evaluate", "probabilities", "read_labeled", "task_probabilities"]


def read_labeled(path: str | Path) -> tuple[list[CommentInput], list[int]]:
    """Comments and labels of a CSV/JSONL file with at least `text,label`."""
    comments, labels = [], []
    for row in read_rows(Path(path)):
        label = parse_label(row.get("label", ""))
        text = str(row.get("text") or row.get("content") or "")
        if label is None or not text.strip():
            continue
        comments.append(
            CommentInput(
                text,
                author_name=row.get("author_name") or None,
                author_email=row.get("author_email") or None,
                author_url=row.get("author_url") or None,
            )
        )
        labels.append(label)
    if not comments:
        raise ValueError(f"{path}: no rows with text and a 0/1 label")
    return comments, labels


def task_probabilities(
    model: Model, task: str, comments: Sequence[CommentInput], batch: int = 512
) -> npt.NDArray[np.float64]:
    """The calibrated probability of `task` for every comment (no explanations: fast)."""
    return probabilities(model, comments, batch)[task]


def probabilities(
    model: Model, comments: Sequence[CommentInput], batch: int = 512
) -> dict[str, npt.NDArray[np.float64]]:
    """Every task's probability for every comment, from one pass over the comments."""
    parts = [model.logits(comments[i : i + batch]) for i in range(0, len(comments), batch)]
    logits = np.vstack(parts) if parts else np.zeros((0, len(model.outputs)))
    return {task: 1.0 / (1.0 + np.exp(-logits[:, model.outputs.index(task)])) for task in TASKS}


def evaluate(
    model: Model, task: str, comments: Sequence[CommentInput], labels: Sequence[int]
) -> dict[str, Any]:
    """ROC AUC, average precision, and precision/recall/F1 at 0.5 (the calibrated midpoint),
    plus the same at the model's reject threshold."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}")
    probs = task_probabilities(model, task, comments)
    threshold = float(model.thresholds.get(task, {}).get("reject_at", 0.5))
    result: dict[str, Any] = {"task": task, "model_version": model.version}
    result.update(binary_metrics(labels, probs, threshold=0.5))
    result["at_reject_threshold"] = binary_metrics(labels, probs, threshold=threshold)
    result["thresholds"] = model.thresholds.get(task)
    return result
