"""Cross-validation on the spam train splits: how design choices are made without the dev rows.

Each spam data set's train split is cut into five stratified folds. In each round the trainer
learns the spam task from four folds of every set and scores the fifth; the TF-IDF + logistic
regression baseline of `bench.quality` is trained per data set on the same folds. The table gives
the mean ROC AUC over the folds and its spread. Dev splits are not read.

What a site then gets is judged the same way: `approve_below` and `reject_at` are chosen from
the out-of-fold scores as training chooses them, and the table gives the share of each spam
set's legitimate and bad comments approved and rejected, and the share of fine comments from
the toxicity sets' train splits (which the spam task never learns from) that the spam score
alone approves and rejects. The comments the
spam task borrows from the toxicity sets as legitimate (`TrainConfig.borrow_legit`) are drawn
from the rest of those train splits.

    python -m bench.crossval --data ../shared/data [--set features.meta_scale=0.5 ...]
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import click
import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from classifier.config import DEFAULT_MANIFEST, TrainConfig
from classifier.data import Dataset, collect_datasets
from classifier.thresholds import approve_threshold, decision_shares, reject_threshold
from classifier.training import fit_mixture
from classifier.types import CommentInput

from .quality import tfidf_baseline

FOLDS = 5
SEED = 42


def _folds(sets: list[Dataset]) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    splitter = StratifiedKFold(FOLDS, shuffle=True, random_state=SEED)
    return [
        list(splitter.split(np.zeros(len(d.train)), [label for _, label in d.train])) for d in sets
    ]


def ours(
    sets: list[Dataset],
    folds,
    config: TrainConfig,
    others: dict[str, list[CommentInput]] | None = None,
    borrowed: list[CommentInput] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, list[np.ndarray]]]:
    """Out-of-fold spam probabilities of the trainer's mixture, per data set; and each fold's
    probabilities for the comments of `others`, which no fold trains on."""
    scores = {d.name: np.zeros(len(d.train)) for d in sets}
    outside: dict[str, list[np.ndarray]] = {name: [] for name in others or {}}
    for k in range(FOLDS):
        parts = [
            Dataset(d.task, d.name, [d.train[i] for i in f[k][0]], [d.train[i] for i in f[k][1]])
            for d, f in zip(sets, folds, strict=True)
        ]
        held = fit_mixture(parts, "spam", config, others, borrowed)
        for d, f in zip(sets, folds, strict=True):
            scores[d.name][f[k][1]] = held[d.name]
        for name in outside:
            outside[name].append(held[name])
    return scores, outside


def legitimate_elsewhere(
    data: Path, per_set: int, borrow: int
) -> tuple[dict[str, list[CommentInput]], list[CommentInput]]:
    """Up to `per_set` comments of each toxicity data set's train split that it calls fine, which
    the spam task never learns from (a site's readers write such comments too); and up to
    `borrow` others per set, which it learns from as legitimate when borrowing is tried."""
    found, borrowed = {}, []
    rng = np.random.default_rng(SEED)
    for d in collect_datasets([data / "toxicity"]):
        fine = [comment for comment, label in d.train if label == 0]
        order = rng.permutation(len(fine))
        if per_set:
            found[d.name] = [fine[i] for i in sorted(order[:per_set])]
        borrowed += [fine[i] for i in sorted(order[per_set : per_set + borrow])]
    return found, borrowed


def decisions(
    sets: list[Dataset],
    scores: dict[str, np.ndarray],
    outside: dict[str, list[np.ndarray]],
    config: TrainConfig,
) -> tuple[float, float, list[str]]:
    """`approve_below` and `reject_at` chosen as training chooses them, from the out-of-fold
    scores of the spam sets' legitimate comments (and, for `reject_at`, of the other sets' fine
    comments); then the share approved and rejected of each set's legitimate and bad comments,
    and of the other sets' fine comments (by the spam score alone, every fold's scores)."""
    labels = {d.name: np.array([label for _, label in d.train]) for d in sets}
    legit = [scores[name][labels[name] == 0] for name in labels]
    approve = approve_threshold(legit, config.approve_legit)
    fine = {name: np.concatenate(per_fold) for name, per_fold in outside.items()}
    reject = max(reject_threshold(legit + list(fine.values()), config.reject_legit), approve)
    thresholds = {"spam": {"approve_below": approve, "reject_at": reject}}
    lines = []
    for name, y in labels.items():
        shares = decision_shares(y, {"spam": scores[name]}, thresholds)
        ok, bad = shares["legit"], shares["bad"]
        lines.append(
            f"| {name} | {ok['approved']:.1%} | {ok['rejected']:.1%} | {bad['approved']:.1%} "
            f"| {bad['rejected']:.1%} | |"
        )
    for name, s in fine.items():
        ok = decision_shares(np.zeros(len(s)), {"spam": s}, thresholds)["legit"]
        n = len(outside[name][0])
        lines.append(
            f"| {name} (fine comments) | {ok['approved']:.1%} | {ok['rejected']:.1%} | | | {n} |"
        )
    return approve, reject, lines


def baseline(sets: list[Dataset], folds) -> dict[str, np.ndarray]:
    """Out-of-fold probabilities of a TF-IDF + LR model trained on each data set alone."""
    scores = {}
    for d, f in zip(sets, folds, strict=True):
        texts = np.array([c.content for c, _ in d.train], dtype=object)
        labels = np.array([label for _, label in d.train])
        found = np.zeros(len(labels))
        for fit_rows, held in f:
            model = tfidf_baseline().fit(texts[fit_rows], labels[fit_rows])
            found[held] = model.predict_proba(texts[held])[:, 1]
        scores[d.name] = found
    return scores


def fold_aucs(sets: list[Dataset], folds, scores) -> dict[str, list[float]]:
    """Each data set's ROC AUC fold by fold: two designs are compared fold against fold, since
    the folds differ from each other more than the designs do."""
    out = {}
    for d, f in zip(sets, folds, strict=True):
        labels = np.array([label for _, label in d.train])
        out[d.name] = [float(roc_auc_score(labels[held], scores[d.name][held])) for _, held in f]
    return out


def _changed(config: TrainConfig, settings: tuple[str, ...]) -> TrainConfig:
    """`name=value` overrides (JSON values); `features.x` changes the feature settings."""
    for setting in settings:
        name, _, value = setting.partition("=")
        parsed = json.loads(value)
        if name.startswith("features."):
            features = replace(config.features, **{name.split(".", 1)[1]: parsed})
            config = replace(config, features=features)
        else:
            config = replace(config, **{name: parsed})
    return config


@click.command()
@click.option("--data", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--set", "settings", multiple=True, help="A TrainConfig change, name=JSON value.")
@click.option(
    "--elsewhere",
    type=int,
    default=1000,
    show_default=True,
    help="Fine comments per toxicity data set that the spam score is also judged on (0: none).",
)
@click.option(
    "--borrow",
    type=int,
    default=None,
    help="Other fine comments per toxicity data set that the spam task learns from "
    "(default: the TrainConfig's borrow_legit; 0: none).",
)
@click.option(
    "--manifest",
    type=click.Path(exists=True, path_type=Path),
    default=DEFAULT_MANIFEST,
    help="The data set rules to train with (default: the shipped datasets.json).",
)
def main(
    data: Path, settings: tuple[str, ...], elsewhere: int, borrow: int | None, manifest: Path
) -> None:
    """Print mean ± spread of the fold ROC AUCs, ours beside the baseline, and what the
    default `approve_below` then approves."""
    sets = [d for d in collect_datasets([data / "spam"]) if d.task == "spam"]
    folds = _folds(sets)
    config = _changed(TrainConfig.default(manifest), settings)
    if borrow is None:
        borrow = config.borrow_legit.get("spam", 0)
    others, borrowed = legitimate_elsewhere(data, elsewhere, borrow)
    started = time.perf_counter()
    base = fold_aucs(sets, folds, baseline(sets, folds))
    mid = time.perf_counter()
    scores, outside = ours(sets, folds, config, others, borrowed)
    mine = fold_aucs(sets, folds, scores)
    done = time.perf_counter()
    click.echo(f"settings: {', '.join(settings) or 'the shipped TrainConfig'}")
    if manifest != DEFAULT_MANIFEST:
        click.echo(f"data set rules: {manifest.name}")
    click.echo("| data set | ours | TF-IDF + LR | ours − baseline |\n| --- | ---: | ---: | ---: |")
    for name in base:
        m, ms, b, bs = (
            np.mean(mine[name]),
            np.std(mine[name]),
            np.mean(base[name]),
            np.std(base[name]),
        )
        click.echo(f"| {name} | {m:.4f} ± {ms:.4f} | {b:.4f} ± {bs:.4f} | {m - b:+.4f} |")
    click.echo("\nours, fold by fold:")
    for name, per in mine.items():
        click.echo(f"{name}: {' '.join(f'{a:.4f}' for a in per)}")
    approve, reject, lines = decisions(sets, scores, outside, config)
    click.echo(f"\napprove_below {approve:.6f}, reject_at {reject:.6f} (out of fold)")
    click.echo(
        "| data set | legitimate approved | legitimate rejected | bad approved | bad rejected "
        "| comments |"
    )
    click.echo("| --- | ---: | ---: | ---: | ---: | ---: |")
    click.echo("\n".join(lines))
    click.echo(f"seconds: baseline {mid - started:.0f}, ours {done - mid:.0f}")


if __name__ == "__main__":
    main()
