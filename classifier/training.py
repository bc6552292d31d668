"""Training: shared features, per-data-set and pooled heads, a gated mixer per task, thresholds.

The data sets disagree on what "toxic" means (profanity is toxic in some, not in others) and
spam looks different in an SMS, under a video and under a blog post, so each data set gets its
own head next to one pooled head, and a gate (naive Bayes over the data sets, or a logistic
regression over them given enough rows; linear in the features either way) tells which data sets
a comment resembles. A logistic mixer learns, for each data set, how to weigh the heads; a
comment's score is the gate-weighted blend of those per-data-set mixes.
Every mix is linear, so each folds into one weight vector (an "expert"): scoring costs one sparse
product with a few columns, whatever the number of heads.

The spam task also borrows the toxicity sets' legitimate train comments for its pooled head
(`TrainConfig.borrow_legit`): without them, a tweet with a mention or a link looked like the
YouTube spam it resembles most. Its mixer learns from them too, behind a gate data set of their
own (`borrow_mix`, `borrow_gate`): the data sets' own heads keep their reading of their own
comments, and comments that read like the borrowed ones lean on the heads that know them.

Where the task's training data is small (spam), the mixer is fitted on out-of-fold logits of the
train splits and the dev splits only measure; where it is large (toxicity) refitting every head
per fold costs minutes, so the mixer is fitted on the dev splits, as a stacker usually is.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold

from .config import BORROWED_GATE, TrainConfig
from .data import TASKS, Dataset, collect_datasets
from .evaluation import probabilities
from .features import Featurizer
from .metrics import binary_metrics
from .model import Model, blend, code_versions, softmax
from .packing import pack, prune, unpack
from .registry import Registry, describe_data
from .thresholds import approve_threshold, decision_shares, reject_threshold, tradeoff
from .types import CommentInput

__all__ = ["TrainResult", "train"]

Progress = Callable[[str, int, int], None]


@dataclass
class TrainResult:
    """A trained model, in memory; `version` and `path` are set once it is registered."""

    model: Model
    metadata: dict[str, Any]
    seconds: float
    version: str | None = None
    path: Path | None = None
    dev_metrics: dict[str, dict[str, dict[str, float | None]]] = field(default_factory=dict)
    datasets: list[Dataset] = field(default_factory=list, repr=False)


@dataclass
class _Head:
    name: str
    weights: np.ndarray
    bias: float


@dataclass
class _Gate:
    """One column per data set: naive Bayes log-likelihoods (divided by the temperature; the
    data sets weigh the same, so no prior and a zero bias) or a logistic gate's logits."""

    names: list[str]
    weights: np.ndarray  # n_features x data sets
    bias: np.ndarray  # data sets

    def logits(self, x: sp.csr_matrix) -> np.ndarray:
        logits: np.ndarray = np.asarray(x @ self.weights) + self.bias
        return logits

    def probabilities(self, x: sp.csr_matrix) -> np.ndarray:
        return softmax(self.logits(x))


@dataclass
class Mixture:
    """One expert head per gate data set; the task's logit is their gate-weighted sum."""

    experts: list[_Head]
    gate: _Gate


def _fit_lr(
    x: sp.csr_matrix,
    y: np.ndarray,
    weights: np.ndarray | None = None,
    c: float = 4.0,
    seed: int = 0,
) -> _Head:
    lr = LogisticRegression(C=c, solver="liblinear", max_iter=200, random_state=seed)
    lr.fit(x, y, sample_weight=weights)
    return _Head("", lr.coef_[0].astype(np.float32), float(lr.intercept_[0]))


def _balanced_weights(sizes: Sequence[int]) -> np.ndarray:
    """Per-row weights so that data sets count by sqrt of their size, averaging 1 per row."""
    per_set = np.sqrt(np.asarray(sizes, dtype=float))
    rows = np.concatenate([np.full(n, s / n) for n, s in zip(sizes, per_set, strict=True)])
    weights: np.ndarray = rows * len(rows) / rows.sum()
    return weights


def _fit_nb_lr(x: sp.csr_matrix, y: np.ndarray, c: float, seed: int = 0) -> _Head:
    """Logistic regression on features scaled by naive Bayes log-count ratios (NB-LR);
    the scaling folds into the weights, so the head stays linear in the features."""
    present = (x > 0).astype(np.float32)
    pos = np.asarray(present[y == 1].sum(axis=0)).ravel() + 1.0
    neg = np.asarray(present[y == 0].sum(axis=0)).ravel() + 1.0
    ratio = np.log((pos / pos.sum()) / (neg / neg.sum())).astype(np.float32)
    head = _fit_lr(x.multiply(ratio).tocsr(), y, c=c, seed=seed)
    head.weights = (head.weights * ratio).astype(np.float32)
    return head


def _equal_weights(sizes: Sequence[int]) -> np.ndarray:
    rows = np.concatenate([np.full(n, 1.0 / n) for n in sizes])
    weights: np.ndarray = rows * len(rows) / rows.sum()
    return weights


Rows = dict[str, np.ndarray]  # data set name -> indices into its train split


@dataclass
class _MixingRows:
    """What the mixer learns on: head logits, gate weights and labels of each data set's rows,
    where they come from, and the borrowed comments' logits and gate weights (all fine)."""

    z: np.ndarray
    g: np.ndarray
    y: np.ndarray
    sizes: list[int]
    sets: list[Dataset]
    origin: str
    lent: tuple[np.ndarray, np.ndarray] | None = None


BLOCKS = ("words", "characters", "metadata")  # the featurizer's column blocks, in order


def borrowed_comments(
    datasets: Sequence[Dataset], config: TrainConfig
) -> dict[str, list[CommentInput]]:
    """Per task, up to `borrow_legit[task]` train rows of each of the other task's data sets
    that their labels call fine: the task learns them as legitimate (a tweet that is not
    abuse is no spam either). Drawn with `config.seed`, so the same data gives the same rows."""
    found: dict[str, list[CommentInput]] = {}
    rng = np.random.default_rng(config.seed)
    for task, per_set in config.borrow_legit.items():
        for d in datasets:
            if d.task == task:
                continue
            fine = [c for c, label in d.train if label == 0]
            chosen = rng.choice(len(fine), size=min(per_set, len(fine)), replace=False)
            found.setdefault(task, []).extend(fine[i] for i in sorted(chosen))
    return found


class _Trainer:
    def __init__(
        self,
        datasets: list[Dataset],
        config: TrainConfig,
        progress: Progress,
        borrowed: Mapping[str, Sequence[CommentInput]] | None = None,
    ):
        self.datasets = datasets
        self.config = config
        self.seed = config.seed
        chosen = borrowed_comments(datasets, config) if borrowed is None else borrowed
        self.borrowed = {task: list(comments) for task, comments in chosen.items() if comments}
        self.x_borrowed: dict[str, sp.csr_matrix] = {}
        self.progress = progress
        self.featurizer = Featurizer(config.features, cache_size=10_000_000)
        self.rows_seen = np.zeros(0, dtype=np.int64)
        self.x_train: dict[tuple[str, str], sp.csr_matrix] = {}
        self.x_dev: dict[tuple[str, str], sp.csr_matrix] = {}
        self.y_train = {(d.task, d.name): _label_array(d.train) for d in datasets}
        self.y_dev = {(d.task, d.name): _label_array(d.dev) for d in datasets}

    def featurize(self) -> None:
        total = len(self.datasets) * 2
        counts_train, counts_dev = [], []
        for i, ds in enumerate(self.datasets):
            self.progress(f"features: {ds.name}", i, total)
            counts_train.append(self.featurizer.counts([c for c, _ in ds.train]))
        for i, ds in enumerate(self.datasets):
            self.progress(f"features: {ds.name} (dev)", len(self.datasets) + i, total)
            counts_dev.append(self.featurizer.counts([c for c, _ in ds.dev]))
        stacked = sp.vstack(counts_train, format="csr")
        self.featurizer.fit(stacked)
        self.rows_seen = np.bincount(stacked.indices, minlength=stacked.shape[1])
        for ds, tr, dv in zip(self.datasets, counts_train, counts_dev, strict=True):
            scale = self.column_scale(ds.task)
            self.x_train[ds.task, ds.name] = _scaled(self.featurizer.weigh(tr), scale)
            self.x_dev[ds.task, ds.name] = _scaled(self.featurizer.weigh(dv), scale)
        for task, comments in self.borrowed.items():
            x = self.featurizer.transform(comments)
            self.x_borrowed[task] = _scaled(x, self.column_scale(task))

    def column_scale(self, task: str) -> np.ndarray | None:
        """What a task's features are multiplied by before its heads and gate learn on them;
        None for none. The learned weights are multiplied by it too (`_fit_task`), so the model
        scores the features as the featurizer gives them."""
        wanted = self.config.block_scale.get(task, {})
        unknown = set(wanted) - set(BLOCKS)
        if unknown:
            raise ValueError(f"block_scale: unknown blocks {sorted(unknown)}; known: {BLOCKS}")
        if all(value == 1.0 for value in wanted.values()):
            return None
        features = self.config.features
        sizes = (1 << features.word_bits, 1 << features.char_bits, 1 << features.meta_bits)
        return np.repeat([wanted.get(b, 1.0) for b in BLOCKS], sizes).astype(np.float32)

    def _train_part(
        self, task: str, d: Dataset, rows: Rows | None
    ) -> tuple[sp.csr_matrix, np.ndarray]:
        x, y = self.x_train[task, d.name], self.y_train[task, d.name]
        if rows is None:
            return x, y
        return x[rows[d.name]], y[rows[d.name]]

    def heads(
        self,
        task: str,
        rows: Rows | None = None,
        quiet: bool = False,
        lent: np.ndarray | None = None,
    ) -> list[_Head]:
        """The pooled head and one head per data set (two for spam), on all or some train rows
        (and all or the `lent` rows of the borrowed comments)."""
        sets = [d for d in self.datasets if d.task == task]
        parts = [self._train_part(task, d, rows) for d in sets]
        x = sp.vstack([p[0] for p in parts], format="csr")
        y = np.concatenate([p[1] for p in parts])
        if len(set(y)) < 2:
            raise ValueError(f"{task}: training data needs both labels")
        sizes = [len(p[1]) for p in parts]
        # Data-set intercepts absorb the differing base rates and are dropped afterwards.
        onehot = sp.csr_matrix(np.repeat(np.eye(len(sets), dtype=np.float32), sizes, axis=0))
        weights = _balanced_weights(sizes)
        elsewhere = self._borrowed_head(task, x, y, lent)
        if task in self.x_borrowed:
            x, y, onehot, weights = self._with_borrowed(task, x, y, onehot, weights, lent)
        head = _fit_lr(
            sp.hstack([x, onehot], format="csr"),
            y,
            weights,
            c=self.config.head_c,
            seed=self.seed,
        )
        head.weights, head.bias = head.weights[: x.shape[1]], 0.0
        head.name = f"{task}:pooled"
        heads = [head, *elsewhere]
        for d, (xd, labels) in zip(sets, parts, strict=True):
            if self._own_head(self.y_train[task, d.name], len(sets)):
                if not quiet:
                    self.progress(f"{task} head: {d.name}", 0, 0)
                c = self.config.own_head_c.get(task, self.config.head_c)
                head = _fit_lr(xd, labels, c=c, seed=self.seed)
                head.name = f"{task}:{d.name}"
                heads.append(head)
                if task in self.config.nb_tasks or self.config.rule(d.name).nb_head:
                    head = _fit_nb_lr(xd, labels, c=self.config.head_c, seed=self.seed)
                    head.name = f"{task}:{d.name}:nb"
                    heads.append(head)
        return heads

    def _borrowed_head(
        self, task: str, x: sp.csr_matrix, y: np.ndarray, lent: np.ndarray | None
    ) -> list[_Head]:
        """With `borrow_head`: a head that tells the borrowed comments (all, or the `lent`
        ones) from every data set's bad comments, for the mixer to lean on where the gate
        finds a comment written elsewhere."""
        if not self.config.borrow_head or task not in self.x_borrowed:
            return []
        borrowed = self.x_borrowed[task] if lent is None else self.x_borrowed[task][lent]
        bad = x[y == 1]
        sizes = [borrowed.shape[0], bad.shape[0]]
        head = _fit_lr(
            sp.vstack([borrowed, bad], format="csr"),
            np.repeat([0, 1], sizes),
            _equal_weights(sizes),
            c=self.config.head_c,
            seed=self.seed,
        )
        head.name = f"{task}:{BORROWED_GATE}"
        return [head]

    def _with_borrowed(
        self,
        task: str,
        x: sp.csr_matrix,
        y: np.ndarray,
        onehot: sp.csr_matrix,
        weights: np.ndarray,
        lent: np.ndarray | None = None,
    ) -> tuple[sp.csr_matrix, np.ndarray, sp.csr_matrix, np.ndarray]:
        """The pooled head's rows plus the borrowed legitimate comments. These get no data-set
        intercept, so the features must say they are fine, and weigh `borrow_share` of the
        task's own rows together. The data sets' own heads do not see them: there they cost
        ranking inside the set (cross-validation in `bench/README.md`)."""
        borrowed = self.x_borrowed[task]
        if lent is not None:
            borrowed = borrowed[lent]
        n = borrowed.shape[0]
        share = self.config.borrow_share * weights.sum() / n
        return (
            sp.vstack([x, borrowed], format="csr"),
            np.concatenate([y, np.zeros(n, dtype=int)]),
            sp.vstack(
                [onehot, sp.csr_matrix((n, onehot.shape[1]), dtype=np.float32)], format="csr"
            ),
            np.concatenate([weights, np.full(n, share)]),
        )

    def gate(self, task: str, rows: Rows | None = None, lent: np.ndarray | None = None) -> _Gate:
        """Which of the task's data sets a comment resembles, each data set weighing the same
        (the borrowed comments one more, with `borrow_gate`)."""
        sets = [d for d in self.datasets if d.task == task]
        parts = [self._train_part(task, d, rows)[0] for d in sets]
        names = [d.name for d in sets]
        if self._gates_borrowed(task):
            borrowed = self.x_borrowed[task]
            parts.append(borrowed if lent is None else borrowed[lent])
            names.append(BORROWED_GATE)
        seen = np.zeros(parts[0].shape[1], dtype=np.int64)
        for p in parts:
            seen += np.bincount(p.indices, minlength=len(seen))
        steering = np.flatnonzero(seen >= self.config.gate_min_rows)
        rows_in_all = sum(p.shape[0] for p in parts)
        if len(parts) > 1 and len(steering) and rows_in_all >= self.config.logistic_gate_min_rows:
            weights = np.zeros((len(seen), len(parts)))
            weights[steering], bias = self._logistic_gate([p[:, steering] for p in parts])
        else:
            weights, bias = self._naive_bayes_gate(parts)
            weights[seen < self.config.gate_min_rows] = 0.0
        return _Gate(names, weights.astype(np.float32), bias.astype(np.float32))

    def _logistic_gate(self, parts: list[sp.csr_matrix]) -> tuple[np.ndarray, np.ndarray]:
        """Multinomial logistic regression on the features that may steer: a third of the columns
        on the public sets, fewer parameters for the slowest fit of training."""
        sizes = [p.shape[0] for p in parts]
        which = np.repeat(np.arange(len(parts)), sizes)
        lr = LogisticRegression(C=self.config.logistic_gate_c, max_iter=300)
        lr.fit(sp.vstack(parts, format="csr"), which, sample_weight=_equal_weights(sizes))
        coef, intercept = lr.coef_, lr.intercept_
        if len(parts) == 2:  # scikit-learn fits two classes as one logit: split it evenly
            coef, intercept = np.vstack([-coef / 2, coef / 2]), np.r_[-intercept, intercept] / 2
        return coef.T, intercept

    def _naive_bayes_gate(self, parts: list[sp.csr_matrix]) -> tuple[np.ndarray, np.ndarray]:
        """Multinomial naive Bayes, centred per feature (softmax ignores a shift shared by
        every data set), so features that no data set prefers weigh nothing."""
        total = sum(p.shape[0] for p in parts)
        mass = np.vstack(
            [np.asarray(p.sum(axis=0)).ravel() * (total / len(parts) / p.shape[0]) for p in parts]
        )
        n_features = mass.shape[1]
        alpha = self.config.gate_alpha
        log_theta = np.log(mass + alpha) - np.log(
            mass.sum(axis=1, keepdims=True) + alpha * n_features
        )
        log_theta -= log_theta.mean(axis=0, keepdims=True)
        return log_theta.T / self.config.gate_temperature, np.zeros(len(parts))

    def mixing_rows(self, task: str, heads: list[_Head], gate: _Gate) -> _MixingRows:
        """The rows the mixer learns on: out-of-fold train rows for a small task, else dev."""
        sets = [d for d in self.datasets if d.task == task]
        if self._out_of_fold(task, sets):
            return self._out_of_fold_rows(task, sets, len(heads), len(gate.names))
        sets = [d for d in sets if d.dev]
        y = np.concatenate([self.y_dev[task, d.name] for d in sets] or [np.zeros(0, int)])
        if set(y.tolist()) != {0, 1}:
            raise ValueError(
                f"{task}: too few labeled comments to calibrate the model. Give each label at "
                f"least {self.config.oof_folds} training rows, or dev rows of both labels (an "
                "X_dev.csv file, or at least 4 of each label in a file without a _train/_dev "
                "suffix)"
            )
        x = sp.vstack([self.x_dev[task, d.name] for d in sets], format="csr")
        sizes = [len(d.dev) for d in sets]
        return _MixingRows(_logits(x, heads), gate.probabilities(x), y, sizes, sets, "dev")

    def _out_of_fold(self, task: str, sets: list[Dataset]) -> bool:
        small = sum(len(d.train) for d in sets) <= self.config.oof_max_rows
        return small and any(self._foldable(self.y_train[task, d.name]) for d in sets)

    def _out_of_fold_rows(
        self, task: str, sets: list[Dataset], n_heads: int, n_gate: int
    ) -> _MixingRows:
        """Every head and the gate refitted per fold. A data set too small to split (a few
        moderator labels) trains in every fold and gives the mixer no rows."""
        folds_wanted = self.config.oof_folds
        folded = [d for d in sets if self._foldable(self.y_train[task, d.name])]
        labels = {d.name: self.y_train[task, d.name] for d in folded}
        splitter = StratifiedKFold(folds_wanted, shuffle=True, random_state=self.seed)
        folds = {n: list(splitter.split(np.zeros(len(y)), y)) for n, y in labels.items()}
        z = {d.name: np.zeros((len(d.train), n_heads)) for d in folded}
        g = {d.name: np.zeros((len(d.train), n_gate)) for d in folded}
        lent = self._lent_folds(task)
        n_lent = sum(len(held) for _, held in lent)
        z_lent, g_lent = np.zeros((n_lent, n_heads)), np.zeros((n_lent, n_gate))
        for k in range(folds_wanted):
            self.progress(f"{task}: out-of-fold heads", k, folds_wanted)
            fit_rows = {d.name: np.arange(len(d.train)) for d in sets}
            fit_rows.update({n: f[k][0] for n, f in folds.items()})
            lent_rows = lent[k][0] if lent else None
            heads = self.heads(task, fit_rows, quiet=True, lent=lent_rows)
            gate = self.gate(task, fit_rows, lent_rows)
            for d in folded:
                held = folds[d.name][k][1]
                x = self.x_train[task, d.name][held]
                z[d.name][held] = _logits(x, heads)
                g[d.name][held] = gate.probabilities(x)
            if lent:
                held = lent[k][1]
                x = self.x_borrowed[task][held]
                z_lent[held], g_lent[held] = _logits(x, heads), gate.probabilities(x)
        return _MixingRows(
            np.vstack([z[d.name] for d in folded]),
            np.vstack([g[d.name] for d in folded]),
            np.concatenate([labels[d.name] for d in folded]),
            [len(d.train) for d in folded],
            folded,
            "train out-of-fold",
            (z_lent, g_lent) if lent else None,
        )

    def _mixes_borrowed(self, task: str) -> bool:
        """Whether the mixer learns from the borrowed comments: only out of fold, like the
        task's own rows, and given enough of them to fold."""
        if self.config.borrow_mix <= 0 or task not in self.x_borrowed:
            return False
        sets = [d for d in self.datasets if d.task == task]
        enough = self.x_borrowed[task].shape[0] >= self.config.oof_folds
        return enough and self._out_of_fold(task, sets)

    def _gates_borrowed(self, task: str) -> bool:
        """A gate data set of their own only where the mixer learns what it means: otherwise
        it would take comments from the others with nothing learned for them."""
        return self.config.borrow_gate and self._mixes_borrowed(task)

    def _lent_folds(self, task: str) -> list[tuple[np.ndarray, np.ndarray]]:
        """Folds of the borrowed comments, when the mixer is to see them."""
        if not self._mixes_borrowed(task):
            return []
        n = self.x_borrowed[task].shape[0]
        splitter = KFold(self.config.oof_folds, shuffle=True, random_state=self.seed)
        return list(splitter.split(np.zeros(n)))

    def mix(
        self,
        heads: list[_Head],
        gate: _Gate,
        rows: _MixingRows,
        boost: np.ndarray,
    ) -> Mixture:
        """Fit the gated logistic mixer and fold it into one expert head per gate data set.

        Inputs: the head logits (shared weights), the head logits times each gate weight (a
        data set's own adjustment) and the gate weights (a data set's own intercept)."""
        z, g, y, sizes = rows.z, rows.g, rows.y, rows.sizes
        if len(set(y)) < 2:
            raise ValueError("mixing data needs both labels")
        n_heads, n_sets = z.shape[1], g.shape[1]
        features = _mixer_inputs(z, g)
        # Data-set intercepts again: the mix is chosen for ranking within each data set.
        onehot = np.repeat(np.eye(len(sizes)), sizes, axis=0)
        weights = _equal_weights(sizes) * boost
        if rows.lent is not None:
            # Borrowed comments take the mean intercept, the one the experts keep.
            zl, gl = rows.lent
            n = len(zl)
            features = np.vstack([features, _mixer_inputs(zl, gl)])
            onehot = np.vstack([onehot, np.full((n, len(sizes)), 1.0 / len(sizes))])
            y = np.concatenate([y, np.zeros(n, dtype=y.dtype)])
            share = self.config.borrow_mix * weights.sum() / n
            weights = np.concatenate([weights, np.full(n, share)])
        lr = LogisticRegression(C=self.config.mix_c, max_iter=5000, fit_intercept=False)
        lr.fit(np.hstack([features, onehot]), y, sample_weight=weights)
        coef = lr.coef_[0]
        shared = coef[:n_heads]
        offsets = coef[features.shape[1] :]
        w = np.stack([h.weights for h in heads], axis=1)
        b = np.array([h.bias for h in heads])
        experts = []
        for d in range(n_sets):
            a = shared + coef[n_heads * (1 + d) : n_heads * (2 + d)]
            bias = float(a @ b + coef[n_heads * (1 + n_sets) + d] + offsets.mean())
            experts.append(_Head(gate.names[d], (w @ a).astype(np.float32), bias))
        return Mixture(experts, gate)

    def dev_scores(self, task: str, mixture: Mixture) -> dict[str, np.ndarray]:
        return {
            d.name: mixture_probabilities(self.x_dev[task, d.name], mixture)
            for d in self.datasets
            if d.task == task and d.dev
        }

    def _foldable(self, labels: np.ndarray) -> bool:
        positives = int(labels.sum())
        return min(positives, len(labels) - positives) >= self.config.oof_folds

    def _own_head(self, labels: np.ndarray, n_sets: int) -> bool:
        enough = len(labels) >= self.config.min_head_rows
        return n_sets > 1 and enough and 0 < int(labels.sum()) < len(labels)

    def calibrate(self, head: _Head, sets: list[Dataset]) -> _Head:
        """Scale and shift a head so that its logit is calibrated on the dev rows of `sets`
        (Platt scaling, with data-set intercepts so that only the ranking inside each counts)."""
        z = np.concatenate([self.x_dev["toxicity", d.name] @ head.weights for d in sets])
        z += head.bias
        y = np.concatenate([self.y_dev["toxicity", d.name] for d in sets])
        if len(set(y.tolist())) < 2:
            raise ValueError("dev data needs both labels to calibrate")
        sizes = [len(d.dev) for d in sets]
        onehot = np.repeat(np.eye(len(sizes)), sizes, axis=0)
        lr = LogisticRegression(C=self.config.calibrate_c, max_iter=2000, fit_intercept=False)
        lr.fit(np.hstack([z[:, None], onehot]), y, sample_weight=_equal_weights(sizes))
        scale, offsets = lr.coef_[0][0], lr.coef_[0][1:]
        weights = (scale * head.weights).astype(np.float32)
        return _Head(head.name, weights, float(scale * head.bias + offsets.mean()))


def _mixer_inputs(z: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The head logits, the head logits times each gate weight, and the gate weights."""
    return np.hstack([z, *(z * g[:, [d]] for d in range(g.shape[1])), g])


def _scaled(x: sp.csr_matrix, scale: np.ndarray | None) -> sp.csr_matrix:
    return x if scale is None else x.multiply(scale).tocsr()


def _label_array(rows: Sequence[tuple[CommentInput, int]]) -> np.ndarray:
    return np.array([label for _, label in rows], dtype=int)


def _logits(x: sp.csr_matrix, heads: list[_Head]) -> np.ndarray:
    w = np.stack([h.weights for h in heads], axis=1)
    logits: np.ndarray = np.asarray(x @ w) + np.array([h.bias for h in heads], dtype=np.float32)
    return logits


def mixture_probabilities(x: sp.csr_matrix, mixture: Mixture) -> np.ndarray:
    logits, _ = blend(_logits(x, mixture.experts), mixture.gate.logits(x))
    probs: np.ndarray = 1.0 / (1.0 + np.exp(-logits))
    return probs


def _attribute_heads(trainer: _Trainer, heads: list[_Head]) -> dict[str, _Head]:
    """Each attribute: the mean of its data sets' heads, calibrated on their dev rows."""
    found = {}
    for attribute, names in trainer.config.attribute_sets().items():
        members = [h for h in heads if h.name.split(":")[1] in names]
        sets = [d for d in trainer.datasets if d.task == "toxicity" and d.name in names and d.dev]
        if not members or not sets:
            continue
        mean = _Head(
            attribute,
            np.mean([h.weights for h in members], axis=0),
            float(np.mean([h.bias for h in members])),
        )
        found[attribute] = trainer.calibrate(mean, sets)
    return found


def _mixture(trainer: _Trainer, task: str) -> tuple[list[_Head], _Gate, Mixture, str]:
    """A task's heads and gate, and the mixer over them with where it was fitted."""
    trainer.progress(f"{task}: heads", 0, 0)
    heads = trainer.heads(task)
    gate = trainer.gate(task)
    rows = trainer.mixing_rows(task, heads, gate)
    trainer.progress(f"{task}: mixer", 0, 0)
    boost = np.repeat([trainer.config.rule(d.name).mix_weight for d in rows.sets], rows.sizes)
    return heads, gate, trainer.mix(heads, gate, rows, boost), rows.origin


def _fit_task(trainer: _Trainer, task: str, columns: dict[str, _Head]) -> dict[str, Any]:
    """Heads, gate and mixer of one task, added to `columns`; returns the task's mixture plan."""
    heads, gate, mixture, fitted_on = _mixture(trainer, task)
    plan = {
        "experts": [f"{task}/expert/{h.name}" for h in mixture.experts],
        "gates": [f"{task}/gate/{n}" for n in gate.names],
        "fitted_on": fitted_on,
    }
    added = {name: head for name, head in zip(plan["experts"], mixture.experts, strict=True)}
    for i, name in enumerate(plan["gates"]):
        added[name] = _Head(name, gate.weights[:, i], float(gate.bias[i]))
    if task == "toxicity":
        added.update(_attribute_heads(trainer, heads))
    scale = trainer.column_scale(task)
    for name, head in added.items():
        weights = head.weights if scale is None else (head.weights * scale).astype(np.float32)
        columns[name] = _Head(head.name, weights, head.bias)
    return plan


def fit_mixture(
    datasets: list[Dataset],
    task: str,
    config: TrainConfig,
    others: Mapping[str, Sequence[CommentInput]] | None = None,
    borrowed: Sequence[CommentInput] | None = None,
) -> dict[str, np.ndarray]:
    """One task's heads, gate and mixer from the train rows of `datasets`, unpacked, and its
    probabilities on their dev rows: what cross-validation compares (`bench/crossval.py`).

    `others`: more comments to score, by name (another task's, say: a tweet that the spam
    score holds is a cost the spam sets alone do not show). `borrowed`: legitimate comments
    of the other task to learn from; `datasets` holds this task's only, so there is nothing
    else to borrow from."""
    trainer = _Trainer(
        [d for d in datasets if d.task == task], config, lambda *_: None, {task: borrowed or []}
    )
    trainer.featurize()
    mixture = _mixture(trainer, task)[2]
    scores = trainer.dev_scores(task, mixture)
    for name, comments in (others or {}).items():
        x = _scaled(trainer.featurizer.transform(comments), trainer.column_scale(task))
        scores[name] = mixture_probabilities(x, mixture)
    return scores


def dev_scores(
    model: Model, datasets: Sequence[Dataset]
) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """Every task's probabilities on each data set's dev rows, with the set's labels."""
    found = {}
    for d in datasets:
        if not d.dev:
            continue
        comments = [c for c, _ in d.dev]
        found[d.task, d.name] = {"labels": _label_array(d.dev), **probabilities(model, comments)}
    return found


def judge(model: Model, datasets: Sequence[Dataset], config: TrainConfig) -> dict[str, Any]:
    """Dev metrics, default thresholds, their trade-off curve and the decisions they make.

    `approve_below` follows the legitimate comments of the task's own data sets. `reject_at`
    follows those of every data set (a tweet that the toxicity labels call fine is not spam
    for sure either), so that a reject stays near certain wherever a comment comes from. Data
    sets with fewer than `threshold_min_rows` legitimate dev rows do not set thresholds (a
    handful of rows would decide them alone); the metrics cover every data set."""
    scored = dev_scores(model, datasets)
    counted = {
        key: s for key, s in scored.items() if (s["labels"] == 0).sum() >= config.threshold_min_rows
    } or scored
    dev_metrics: dict[str, dict[str, dict[str, float | None]]] = {}
    thresholds: dict[str, dict[str, float]] = {}
    curves: dict[str, list[dict[str, Any]]] = {}
    for task in TASKS:
        sets = {n: (s["labels"], s[task]) for (t, n), s in scored.items() if t == task}
        dev_metrics[task] = {n: binary_metrics(y, p) for n, (y, p) in sets.items()}
        own = {n: (s["labels"], s[task]) for (t, n), s in counted.items() if t == task} or sets
        approve = approve_threshold([p[y == 0] for y, p in own.values()], config.approve_legit)
        everywhere = [s[task][s["labels"] == 0] for s in counted.values()]
        reject = max(reject_threshold(everywhere, config.reject_legit), approve)
        thresholds[task] = {"approve_below": round(approve, 6), "reject_at": round(reject, 6)}
        curves[task] = tradeoff(own)
    decisions: dict[str, dict[str, Any]] = {task: {} for task in TASKS}
    for (task, name), s in scored.items():
        decisions[task][name] = {
            "both_scores": decision_shares(s["labels"], {t: s[t] for t in TASKS}, thresholds),
            "own_score": decision_shares(s["labels"], {task: s[task]}, thresholds),
        }
    return {
        "dev_metrics": dev_metrics,
        "thresholds": thresholds,
        "tradeoff": curves,
        "dev_decisions": decisions,
    }


def _packed_model(
    metadata: Mapping[str, Any],
    idf: np.ndarray | None,
    weights: np.ndarray,
    bias: np.ndarray,
    names: list[str],
    min_rows: int,
    rows_seen: np.ndarray | None,
) -> tuple[Model, dict[str, np.ndarray]]:
    """Prune and pack the weights: the model scores with exactly the weights that are saved."""
    if idf is None:
        raise ValueError("the featurizer has no idf to pack: fit it on the training rows first")
    if rows_seen is not None:
        weights = prune(weights, rows_seen, min_rows)
    arrays = pack(idf, weights, bias)
    metadata = {**metadata, "columns": names, "version": "unregistered", "thresholds": {}}
    return Model(metadata, *unpack(arrays)), arrays


def register(
    registry: Registry, model: Model, arrays: Mapping[str, np.ndarray]
) -> tuple[str, Path, dict[str, Any]]:
    return registry.register(arrays, {k: v for k, v in model.metadata.items() if k != "version"})


def train(
    data_paths: Sequence[str | Path],
    registry: Registry | None = None,
    *,
    progress: Progress | None = None,
    seed: int | None = None,
    config: TrainConfig | None = None,
) -> TrainResult:
    """Train spam and toxicity models from labeled files. With a registry the model is saved as
    a new version (not active); without one it is only returned, in memory."""
    started = time.perf_counter()
    config = config or TrainConfig.default()
    if seed is not None:
        config = replace(config, seed=seed)
    report = progress or (lambda *_: None)
    report("reading data", 0, 0)
    datasets = collect_datasets(data_paths, seed=config.seed)
    for task in TASKS:
        if not any(d.task == task for d in datasets):
            raise ValueError(f"no {task} training data in {', '.join(map(str, data_paths))}")
    trainer = _Trainer(datasets, config, report)
    trainer.featurize()
    columns: dict[str, _Head] = {}
    mixtures = {task: _fit_task(trainer, task, columns) for task in TASKS}
    report("packing", 0, 0)
    names = list(columns)
    weights = np.stack([columns[n].weights for n in names], axis=1).astype(np.float32)
    bias = np.array([columns[n].bias for n in names], dtype=np.float32)
    metadata = {
        "outputs": [*TASKS, *(n for n in columns if "/" not in n)],
        "mixtures": mixtures,
        "features": asdict(config.features),
        "code_versions": code_versions(),
        **describe_data(datasets),
        "train_config": config.as_metadata(),
        "seed": config.seed,
    }
    model, arrays = _packed_model(
        metadata,
        trainer.featurizer.idf,
        weights,
        bias,
        names,
        config.min_feature_rows,
        trainer.rows_seen,
    )
    report("measuring on dev", 0, 0)
    metadata = {**model.metadata, **judge(model, datasets, config)}
    metadata["training_seconds"] = round(time.perf_counter() - started, 1)
    model = Model(metadata, model.idf, model.weights, model.bias)
    seconds = time.perf_counter() - started
    result = TrainResult(model, metadata, seconds, dev_metrics=metadata["dev_metrics"])
    result.datasets = datasets
    if registry is not None:
        result.version, result.path, result.metadata = register(registry, model, arrays)
        result.model = Model(result.metadata, model.idf, model.weights, model.bias)
    return result
