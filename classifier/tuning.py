"""Building on a trained model with a site's own labels, without the corpora it was trained on.

A site has a few hundred labeled comments at most; trained alone they make a toy. Instead the
base model's logit is kept as an offset and a correction is learned on the site's labels: an
L2-regularised weight per feature, which stays zero for every feature that the site's comments
do not contain, so the domains the site says nothing about keep their scores. Every output of
the base is a gate-weighted blend of experts whose gate weights sum to one, so the correction
folds into each expert and the tuned model has the base's shape, format and speed. Retraining
always starts again from the base the active model was built on, so labels are never counted
twice.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import minimize

from .config import TrainConfig
from .data import TASKS, Dataset, collect_datasets
from .metrics import binary_metrics
from .model import Model, output_plans
from .packing import pack, unpack
from .registry import Registry, describe_data
from .training import Progress, TrainResult, dev_scores, register
from .types import CommentInput

__all__ = ["tune", "Correction"]

# What a tuned model keeps of its base's metadata (the base's data sets are what it learned
# first; `tuned_on` lists the site's).
_BASE_METADATA = (
    "outputs",
    "mixtures",
    "features",
    "code_versions",
    "columns",
    "datasets",
    "data_files",
)


class Correction:
    """`base_logit + x @ weights`, the weights fitted by L2-penalised logistic regression with
    the base logit as an offset. Neither the base logit's scale nor a shared intercept is
    learned: either one moves every comment's score, and a site's labels would then reshape
    the domains they say nothing about (a learned scale fell to zero on a site the base model
    had not seen, and the public sets' ranking with it; bench/README.md has the figures)."""

    def __init__(self, weights: npt.NDArray[np.float32]) -> None:
        self.weights = weights

    @classmethod
    def fit(
        cls,
        x: sp.csr_matrix,
        base: npt.NDArray[np.float64],
        y: npt.NDArray[np.int_],
        c: float,
    ) -> Correction:
        sign = np.where(y == 1, 1.0, -1.0)

        def loss(w: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
            margin = sign * (base + x @ w)
            slope = -sign * np.exp(-np.logaddexp(0.0, margin))  # d loss / d logit
            value = np.logaddexp(0.0, -margin).sum() + (w @ w) / (2 * c)
            return float(value), x.T @ slope + w / c

        found = minimize(
            loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 500}
        )
        return cls(found.x.astype(np.float32))


def _labeled(
    sets: Sequence[Dataset], split: str
) -> tuple[list[CommentInput], npt.NDArray[np.int_]]:
    rows = [r for d in sets for r in getattr(d, split)]
    return [c for c, _ in rows], np.array([label for _, label in rows], dtype=int)


def tune(
    base: Model,
    data_paths: Sequence[str | Path],
    registry: Registry | None = None,
    *,
    config: TrainConfig | None = None,
    progress: Progress | None = None,
) -> TrainResult:
    """A model that is `base` corrected by the labeled comments under `data_paths`. Tasks
    without both labels there keep the base's weights."""
    started = time.perf_counter()
    config = config or TrainConfig.default()
    report = progress or (lambda *_: None)
    report("reading data", 0, 0)
    datasets = collect_datasets(data_paths, seed=config.seed)
    weights, bias = base.weights.copy(), base.bias.copy()
    plans = output_plans(base.metadata)
    tuned: dict[str, dict[str, int]] = {}
    for task in TASKS:
        comments, y = _labeled([d for d in datasets if d.task == task], "train")
        if len(set(y.tolist())) < 2:
            continue
        report(f"{task}: correcting the base model", 0, 0)
        j = base.outputs.index(task)
        x = base.featurizer.transform(comments)
        correction = Correction.fit(x, base.logits(comments)[:, j], y, config.tune_c)
        for column in plans[j][0]:
            weights[:, column] += correction.weights
        tuned[task] = {"rows": len(y), "bad": int(y.sum())}
    if not tuned:
        raise ValueError(
            "no labeled comments of both kinds to build on the model with: export moderators' "
            "labels with `commentgate feedback export`, or pass --data"
        )
    arrays = pack(base.idf, weights, bias)
    metadata = {k: base.metadata[k] for k in _BASE_METADATA if k in base.metadata}
    base_of_base = base.metadata.get("base_model")
    metadata.update(
        base_model=base_of_base or base.version,
        tuned=tuned,
        tuned_on=describe_data(datasets),
        train_config={**config.as_metadata(), "method": "correction of the base model"},
        thresholds=base.thresholds,
        tradeoff=base.metadata.get("tradeoff", {}),
        base_dev_metrics=base.metadata.get("dev_metrics", {}),
        version="unregistered",
    )
    model = Model(metadata, *unpack(arrays))
    report("measuring on dev", 0, 0)
    scored = dev_scores(model, datasets)
    before = dev_scores(base, datasets)
    metadata["dev_metrics"] = {
        task: {
            n: {**binary_metrics(s["labels"], s[task]), "base": _auc(before[t, n], task)}
            for (t, n), s in scored.items()
            if t == task and len(set(s["labels"].tolist())) == 2
        }
        for task in TASKS
    }
    metadata["training_seconds"] = round(time.perf_counter() - started, 1)
    model = Model(metadata, model.idf, model.weights, model.bias)
    result = TrainResult(model, metadata, time.perf_counter() - started)
    result.dev_metrics, result.datasets = metadata["dev_metrics"], datasets
    if registry is not None:
        result.version, result.path, result.metadata = register(registry, model, arrays)
        result.model = Model(result.metadata, model.idf, model.weights, model.bias)
    return result


def _auc(scored: Mapping[str, npt.NDArray[Any]], task: str) -> float | None:
    return binary_metrics(scored["labels"], scored[task])["roc_auc"]
