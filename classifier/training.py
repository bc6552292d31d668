"""Training: shared features, per-data-set and pooled heads, a stacker per task, thresholds.

The data sets disagree on what "toxic" means (profanity is toxic in some, not in others), so
each data set gets its own head next to one pooled head, and a small logistic stacker fitted on
the dev splits (each data set counting equally) mixes the heads into one score per task. Heads
and stacker are linear, so each task's score folds into a single weight vector: scoring costs one
sparse product whatever the number of data sets.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from .data import TASKS, Dataset, collect_datasets
from .features import FeatureConfig, Featurizer
from .metrics import binary_metrics, calibrate_thresholds
from .registry import Registry

__all__ = ["TrainResult", "train", "ATTRIBUTES"]

# Perspective-like sub-attributes: which data sets' heads define each one (by name prefix).
ATTRIBUTES = {
    "insult": ("impermium",),
    "identity_attack": ("stormfront", "fox_news", "ethos", "gab"),
    "profanity": ("davidson", "olid"),
}
MIN_HEAD_ROWS = 40
# Tasks that also get a naive-Bayes-scaled head per data set (measured: helps spam, not toxicity).
NB_TASKS = ("spam",)
# Stacker weight of a data set's dev rows (by name prefix), chosen on dev so that no public data
# set falls behind the baselines; unlisted data sets count 1.
STACK_WEIGHTS = {"davidson": 2.0, "olid": 2.0, "stormfront": 2.0, "datacamp": 2.0}
HEAD_C = 4.0
STACK_C = 1.0

Progress = Callable[[str, int, int], None]


@dataclass
class TrainResult:
    version: str
    path: Path
    metadata: dict
    seconds: float
    dev_metrics: dict = field(default_factory=dict)
    datasets: list[Dataset] = field(default_factory=list, repr=False)


@dataclass
class _Head:
    name: str
    weights: np.ndarray
    bias: float


def _fit_lr(
    x: sp.csr_matrix, y: np.ndarray, weights=None, c: float = HEAD_C, seed: int = 0
) -> _Head:
    lr = LogisticRegression(C=c, solver="liblinear", max_iter=200, random_state=seed)
    lr.fit(x, y, sample_weight=weights)
    return _Head("", lr.coef_[0].astype(np.float32), float(lr.intercept_[0]))


def _balanced_weights(sizes: Sequence[int]) -> np.ndarray:
    """Per-row weights so that data sets count by sqrt of their size, averaging 1 per row."""
    per_set = np.sqrt(np.asarray(sizes, dtype=float))
    rows = np.concatenate([np.full(n, s / n) for n, s in zip(sizes, per_set, strict=True)])
    return rows * len(rows) / rows.sum()


def _fit_nb_lr(x: sp.csr_matrix, y: np.ndarray, seed: int = 0) -> _Head:
    """Logistic regression on features scaled by naive Bayes log-count ratios (NB-LR);
    the scaling folds into the weights, so the head stays linear in the features."""
    present = (x > 0).astype(np.float32)
    pos = np.asarray(present[y == 1].sum(axis=0)).ravel() + 1.0
    neg = np.asarray(present[y == 0].sum(axis=0)).ravel() + 1.0
    ratio = np.log((pos / pos.sum()) / (neg / neg.sum())).astype(np.float32)
    head = _fit_lr(x.multiply(ratio).tocsr(), y, seed=seed)
    head.weights = (head.weights * ratio).astype(np.float32)
    return head


def _equal_weights(sizes: Sequence[int]) -> np.ndarray:
    rows = np.concatenate([np.full(n, 1.0 / n) for n in sizes])
    return rows * len(rows) / rows.sum()


class _Trainer:
    def __init__(
        self, datasets: list[Dataset], config: FeatureConfig, seed: int, progress: Progress
    ):
        self.datasets = datasets
        self.seed = seed
        self.progress = progress
        self.featurizer = Featurizer(config, cache_size=10_000_000)
        self.x_train: dict[tuple[str, str], sp.csr_matrix] = {}
        self.x_dev: dict[tuple[str, str], sp.csr_matrix] = {}

    def featurize(self) -> None:
        total = len(self.datasets) * 2
        counts_train, counts_dev = [], []
        for i, ds in enumerate(self.datasets):
            self.progress(f"features: {ds.name}", i, total)
            counts_train.append(self.featurizer.counts([c for c, _ in ds.train]))
        for i, ds in enumerate(self.datasets):
            self.progress(f"features: {ds.name} (dev)", len(self.datasets) + i, total)
            counts_dev.append(self.featurizer.counts([c for c, _ in ds.dev]))
        self.featurizer.fit(sp.vstack(counts_train, format="csr"))
        for ds, tr, dv in zip(self.datasets, counts_train, counts_dev, strict=True):
            self.x_train[ds.task, ds.name] = self.featurizer.weigh(tr)
            self.x_dev[ds.task, ds.name] = self.featurizer.weigh(dv)

    def heads(self, task: str) -> list[_Head]:
        sets = [d for d in self.datasets if d.task == task]
        heads = []
        x = sp.vstack([self.x_train[task, d.name] for d in sets], format="csr")
        y = np.concatenate([[label for _, label in d.train] for d in sets])
        if len(set(y)) < 2:
            raise ValueError(f"{task}: training data needs both labels")
        sizes = [len(d.train) for d in sets]
        # Data-set intercepts absorb the differing base rates and are dropped afterwards.
        onehot = sp.csr_matrix(np.repeat(np.eye(len(sets), dtype=np.float32), sizes, axis=0))
        head = _fit_lr(
            sp.hstack([x, onehot], format="csr"), y, _balanced_weights(sizes), seed=self.seed
        )
        head.weights, head.bias = head.weights[: x.shape[1]], 0.0
        head.name = f"{task}:pooled"
        heads.append(head)
        for d in sets:
            labels = np.array([label for _, label in d.train])
            if len(sets) > 1 and len(labels) >= MIN_HEAD_ROWS and 0 < labels.sum() < len(labels):
                self.progress(f"{task} head: {d.name}", 0, 0)
                head = _fit_lr(self.x_train[task, d.name], labels, seed=self.seed)
                head.name = f"{task}:{d.name}"
                heads.append(head)
                if task in NB_TASKS:
                    head = _fit_nb_lr(self.x_train[task, d.name], labels, seed=self.seed)
                    head.name = f"{task}:{d.name}:nb"
                    heads.append(head)
        return heads

    def dev_logits(self, task: str, heads: list[_Head]) -> tuple[np.ndarray, np.ndarray, list[int]]:
        sets = [d for d in self.datasets if d.task == task and d.dev]
        w = np.stack([h.weights for h in heads], axis=1)
        b = np.array([h.bias for h in heads], dtype=np.float32)
        z = np.vstack([np.asarray(self.x_dev[task, d.name] @ w) + b for d in sets])
        y = np.concatenate([[label for _, label in d.dev] for d in sets])
        return z, y, [len(d.dev) for d in sets]

    def combine(self, heads: list[_Head], names: Sequence[str], z, y, sizes, boost=1.0) -> _Head:
        """Fit a logistic stacker on dev logits and fold it into one linear head."""
        cols = [i for i, h in enumerate(heads) if h.name in names]
        if len(set(y)) < 2:
            raise ValueError("dev data needs both labels to calibrate")
        # Data-set intercepts again: the mix is chosen for ranking within each data set.
        onehot = np.repeat(np.eye(len(sizes)), sizes, axis=0)
        lr = LogisticRegression(C=STACK_C, max_iter=2000, fit_intercept=False)
        lr.fit(np.hstack([z[:, cols], onehot]), y, sample_weight=_equal_weights(sizes) * boost)
        coef, offsets = lr.coef_[0][: len(cols)], lr.coef_[0][len(cols) :]
        weights = sum(c * heads[i].weights for c, i in zip(coef, cols, strict=True))
        bias = sum(c * heads[i].bias for c, i in zip(coef, cols, strict=True))
        bias = float(bias + offsets.mean())
        return _Head("", np.asarray(weights, dtype=np.float32), bias)

    def dev_scores(self, task: str, head: _Head) -> dict[str, np.ndarray]:
        return {
            d.name: 1.0 / (1.0 + np.exp(-(self.x_dev[task, d.name] @ head.weights + head.bias)))
            for d in self.datasets
            if d.task == task and d.dev
        }


def _attribute_heads(trainer: _Trainer, heads: list[_Head]) -> dict[str, _Head]:
    found = {}
    for attribute, prefixes in ATTRIBUTES.items():
        members = [h for h in heads if h.name.split(":", 1)[1].startswith(prefixes)]
        if not members:
            continue
        sets = [
            d
            for d in trainer.datasets
            if d.task == "toxicity" and d.name.startswith(prefixes) and d.dev
        ]
        mean = _Head(
            "",
            np.mean([h.weights for h in members], axis=0),
            float(np.mean([h.bias for h in members])),
        )
        z = np.concatenate(
            [trainer.x_dev["toxicity", d.name] @ mean.weights + mean.bias for d in sets]
        )
        y = np.concatenate([[label for _, label in d.dev] for d in sets])
        found[attribute] = trainer.combine([mean], [""], z[:, None], y, [len(d.dev) for d in sets])
    return found


def train(
    data_paths: Sequence[str | Path],
    registry: Registry,
    *,
    progress: Progress | None = None,
    seed: int = 0,
    config: FeatureConfig | None = None,
) -> TrainResult:
    """Train spam and toxicity models from labeled files and register a new version (not active)."""
    started = time.perf_counter()
    report = progress or (lambda *_: None)
    report("reading data", 0, 0)
    datasets = collect_datasets(data_paths, seed=seed)
    for task in TASKS:
        if not any(d.task == task for d in datasets):
            raise ValueError(f"no {task} training data in {', '.join(map(str, data_paths))}")
    trainer = _Trainer(datasets, config or FeatureConfig(), seed, report)
    trainer.featurize()
    outputs: dict[str, _Head] = {}
    dev_metrics: dict[str, dict] = {}
    thresholds: dict[str, dict] = {}
    for task in TASKS:
        report(f"{task}: heads", 0, 0)
        heads = trainer.heads(task)
        z, y, sizes = trainer.dev_logits(task, heads)
        report(f"{task}: stacker", 0, 0)
        boost = np.concatenate(
            [
                np.full(
                    len(d.dev),
                    next((w for p, w in STACK_WEIGHTS.items() if d.name.startswith(p)), 1.0),
                )
                for d in datasets
                if d.task == task and d.dev
            ]
        )
        outputs[task] = trainer.combine(heads, [h.name for h in heads], z, y, sizes, boost)
        scores = trainer.dev_scores(task, outputs[task])
        dev_metrics[task] = {
            name: binary_metrics(_labels(datasets, task, name), s) for name, s in scores.items()
        }
        thresholds[task] = calibrate_thresholds(
            np.concatenate([_labels(datasets, task, n) for n in scores]),
            np.concatenate(list(scores.values())),
            _equal_weights([len(s) for s in scores.values()]),
        )
        if task == "toxicity":
            outputs.update(_attribute_heads(trainer, heads))
    report("saving", 0, 0)
    version, path, metadata = registry.register(
        idf=trainer.featurizer.idf,
        outputs={name: (h.weights, h.bias) for name, h in outputs.items()},
        features=trainer.featurizer.config,
        datasets=datasets,
        dev_metrics=dev_metrics,
        thresholds=thresholds,
        seed=seed,
        training_seconds=round(time.perf_counter() - started, 1),
    )
    return TrainResult(
        version, path, metadata, time.perf_counter() - started, dev_metrics, datasets
    )


def _labels(datasets: list[Dataset], task: str, name: str) -> np.ndarray:
    ds = next(d for d in datasets if d.task == task and d.name == name)
    return np.array([label for _, label in ds.dev])
