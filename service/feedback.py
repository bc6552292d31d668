"""Human labels as training data: what a moderator's decision teaches, and exporting it.

A moderator decision becomes labeled rows ``(task, label)``, label 1 meaning spam (task ``spam``)
or toxic (task ``toxicity``):

| decision | rows |
| --- | --- |
| label ``spam`` | ``(spam, 1)`` |
| label ``ham`` | ``(spam, 0)`` |
| label ``toxic`` | ``(toxicity, 1)`` |
| label ``ok`` | ``(spam, 0)``, ``(toxicity, 0)`` |
| approve, no label | ``(spam, 0)``, ``(toxicity, 0)``: an approved comment is neither |
| reject, no label | ``(task, 1)`` for the task the model scored higher (``spam`` if unscored) |
| hold (back to the queue) | none: the comment is undecided again, and its earlier label is gone |

A label says what the text is and wins over the action (a site may approve a toxic comment, or
reject a harmless one as off-topic). The export writes CSV or JSONL files with the columns
``text,label,task,site,source,created_at`` that ``commentgate train`` reads.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import LabeledExample, Site

COLUMNS = ("text", "label", "task", "site", "source", "created_at")
FORMATS = ("csv", "jsonl")
LABEL_ROWS: dict[str, tuple[tuple[str, int], ...]] = {
    "spam": (("spam", 1),),
    "ham": (("spam", 0),),
    "toxic": (("toxicity", 1),),
    "ok": (("spam", 0), ("toxicity", 0)),
}


def label_rows(
    action: str, label: str | None, scores: Mapping[str, Any] | None
) -> tuple[tuple[str, int], ...]:
    """The ``(task, label)`` rows a moderator decision teaches (see the module's table)."""
    if label is not None:
        return LABEL_ROWS[label]
    if action == "hold":
        return ()
    if action == "approve":
        return LABEL_ROWS["ok"]
    scores = scores or {}
    spam = float(scores.get("spam") or 0.0)
    toxicity = float(scores.get("toxicity") or 0.0)
    return (("toxicity", 1),) if toxicity > spam else (("spam", 1),)


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: str
    rows: int
    by_task: dict[str, dict[str, int]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "format": self.format,
            "rows": self.rows,
            "tasks": self.by_task,
        }


def examples(
    session: Session, *, since: datetime | None = None, site: Site | None = None
) -> Iterator[dict[str, Any]]:
    """Labeled examples oldest first. A site's comment (or text) labeled twice for a task keeps
    its latest label; another site's label of the same text is a row of its own, with its site."""
    query = select(LabeledExample, Site.name).outerjoin(Site, Site.id == LabeledExample.site_id)
    if since is not None:
        query = query.where(LabeledExample.created_at >= since)
    if site is not None:
        query = query.where(LabeledExample.site_id == site.id)
    latest: dict[tuple[str | None, str, str], dict[str, Any]] = {}
    for example, site_name in session.execute(
        query.order_by(LabeledExample.created_at, LabeledExample.id)
    ):
        identity = (example.site_id, example.subject, example.task)
        latest.pop(identity, None)
        latest[identity] = {
            "text": example.text,
            "label": example.label,
            "task": example.task,
            "site": site_name or "",
            "source": example.source,
            "created_at": example.created_at.isoformat().replace("+00:00", "Z"),
        }
    yield from latest.values()


def default_file_name(fmt: str, since: datetime | None) -> str:
    stem = "moderator_labels" if since is None else f"moderator_labels_since_{since:%Y%m%d}"
    return f"{stem}.{fmt}"


def export(
    session: Session,
    out: Path,
    *,
    fmt: str | None = None,
    since: datetime | None = None,
    site: Site | None = None,
) -> ExportResult:
    """Write the labels to ``out`` (a file, or a folder for the default file name), atomically.

    Without ``since`` the default file holds every label and is replaced on each export, so
    exporting twice never duplicates a row in the training data.
    """
    if out.suffix.lower().lstrip(".") in FORMATS:
        fmt = fmt or out.suffix.lower().lstrip(".")
        path = out
    else:
        fmt = fmt or "csv"
        path = out / default_file_name(fmt, since)
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    rows = list(examples(session, since=since, site=site))
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".export-", suffix="." + fmt)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            if fmt == "csv":
                writer = csv.DictWriter(stream, fieldnames=COLUMNS)
                writer.writeheader()
                writer.writerows(rows)
            else:
                for row in rows:
                    stream.write(json.dumps(row, ensure_ascii=False) + "\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    by_task: dict[str, dict[str, int]] = {}
    for row in rows:
        counts = by_task.setdefault(row["task"], {"positive": 0, "negative": 0})
        counts["positive" if row["label"] == 1 else "negative"] += 1
    return ExportResult(path, fmt, len(rows), by_task)
