"""Reading labeled comments (CSV or JSONL) and grouping them into data sets.

A file's task comes from its `task` column, else from a `spam/` or `toxicity/` folder in its path,
else from its name. `X_train.csv` trains and `X_dev.csv` measures; a file with neither suffix
trains, and a small stratified split of it is held out for measuring.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .model import file_sha256 as _sha256
from .types import CommentInput

__all__ = [
    "Dataset",
    "DataFile",
    "TASKS",
    "collect_datasets",
    "read_rows",
    "default_training_paths",
]

TASKS = ("spam", "toxicity")
_SUFFIXES = (".csv", ".jsonl", ".json")
_POSITIVE = {"1", "true", "yes", "spam", "toxic", "offensive", "abusive", "hate"}
_NEGATIVE = {"0", "false", "no", "ham", "ok", "clean", "not", "none"}
_TASK_ALIASES = {"spam": "spam", "toxicity": "toxicity", "toxic": "toxicity"}
DEV_FRACTION = 0.15


@dataclass
class DataFile:
    path: Path
    sha256: str
    rows: int
    role: str  # train | dev


@dataclass
class Dataset:
    task: str
    name: str
    train: list[tuple[CommentInput, int]] = field(default_factory=list)
    dev: list[tuple[CommentInput, int]] = field(default_factory=list)
    files: list[DataFile] = field(default_factory=list)


def default_training_paths(training_data: Path) -> list[Path]:
    """The project's seed set and moderators' exported labels."""
    return [Path(training_data)] if Path(training_data).exists() else []


def parse_label(value: object) -> int | None:
    text = str(value).strip().lower()
    if text in _POSITIVE:
        return 1
    if text in _NEGATIVE:
        return 0
    try:
        return int(float(text) >= 0.5)
    except ValueError:
        return None


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of one CSV or JSONL file as dicts."""
    if path.suffix in (".jsonl", ".json"):
        with path.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _file_task(path: Path) -> str | None:
    for part in reversed(path.parts[:-1]):
        if part.lower() in _TASK_ALIASES:
            return _TASK_ALIASES[part.lower()]
    stem = path.stem.lower()
    return next((task for alias, task in _TASK_ALIASES.items() if alias in stem), None)


def _role_and_name(path: Path) -> tuple[str, str]:
    stem = path.stem
    for role in ("train", "dev"):
        if stem.endswith(f"_{role}"):
            return role, stem[: -len(role) - 1]
    parent = path.parent.name
    if parent.lower() in _TASK_ALIASES or not parent:
        return "other", stem
    return "other", parent


def _files(paths: Iterable[str | Path]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.suffix in _SUFFIXES and p.is_file())
            )
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"no such data file or folder: {path}")
    return [p for p in found if p.stem.lower() != "readme" and not p.name.startswith(".")]


def _comment(row: Mapping[str, Any]) -> CommentInput:
    def opt(key: str) -> str | None:
        value = row.get(key)
        return str(value) if value not in (None, "") else None

    return CommentInput(
        content=str(row.get("text") or row.get("content") or ""),
        author_name=opt("author_name"),
        author_email=opt("author_email"),
        author_url=opt("author_url"),
        language=opt("language"),
    )


def _hold_out(
    rows: list[tuple[CommentInput, int]], seed: int
) -> tuple[list[tuple[CommentInput, int]], list[tuple[CommentInput, int]]]:
    """A stratified split: about DEV_FRACTION of each label for dev."""
    rng = random.Random(seed)
    train: list[tuple[CommentInput, int]] = []
    dev: list[tuple[CommentInput, int]] = []
    for label in (0, 1):
        group = [r for r in rows if r[1] == label]
        rng.shuffle(group)
        k = round(len(group) * DEV_FRACTION) if len(group) >= 4 else 0
        dev.extend(group[:k])
        train.extend(group[k:])
    return train, dev


def collect_datasets(paths: Sequence[str | Path], seed: int = 0) -> list[Dataset]:
    """Every data set under `paths`, with its train and dev rows and its files' hashes."""
    datasets: dict[tuple[str, str], Dataset] = {}
    others: dict[tuple[str, str], list[tuple[CommentInput, int]]] = {}
    for path in _files(paths):
        role, name = _role_and_name(path)
        rows = read_rows(path)
        file_task = _file_task(path)
        used = 0
        for row in rows:
            task = _TASK_ALIASES.get(str(row.get("task") or "").strip().lower(), file_task)
            label = parse_label(row.get("label", ""))
            comment = _comment(row)
            if task is None or label is None or not comment.content.strip():
                continue
            used += 1
            dataset = datasets.setdefault((task, name), Dataset(task, name))
            if role == "other":
                others.setdefault((task, name), []).append((comment, label))
            else:
                getattr(dataset, role).append((comment, label))
        file = DataFile(path, _sha256(path), used, "dev" if role == "dev" else "train")
        for (_task, ds_name), dataset in datasets.items():
            if ds_name == name and file not in dataset.files:
                dataset.files.append(file)
    for key, labeled in others.items():
        train, dev = _hold_out(labeled, seed)
        datasets[key].train.extend(train)
        datasets[key].dev.extend(dev)
    return [d for d in datasets.values() if d.train]
