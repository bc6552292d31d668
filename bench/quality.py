"""Side-by-side quality on every dev split: our model vs the baselines, as a Markdown table.

Baselines are trained on the same train splits: a pooled TF-IDF (word 1-2 + char_wb 2-5) logistic
regression per task, a multinomial naive Bayes for spam, and the `alt-profanity-check` peer for
toxicity (a benchmark-only dependency; its column reads n/a when it is not installed). The peer
ships a model trained on all of Davidson et al.'s tweets, dev and test rows included, so its
figures on that set are in-sample; the "peer recipe" column trains the peer's published recipe
on the same pooled train splits as the other baselines, and on each data set's own train split.

    python -m bench.quality --data ../shared/data [--model PATH] [--json FILE]
"""

from __future__ import annotations

import json
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

import click
import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import make_pipeline, make_union
from sklearn.svm import LinearSVC

from classifier import Registry, load_model, train
from classifier.data import collect_datasets
from classifier.evaluation import probabilities
from classifier.thresholds import decision_shares


def tfidf_baseline():
    return make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True),
        ),
        LogisticRegression(C=4.0, max_iter=1000),
    )


def nb_baseline():
    return make_pipeline(CountVectorizer(ngram_range=(1, 2), min_df=1), MultinomialNB(alpha=0.1))


def peer_recipe():
    """`profanity-check`'s training script (``profanity_check/data/train_model.py``): TF-IDF word
    unigrams without English stop words, a class-balanced linear SVM, calibrated."""
    svm = LinearSVC(class_weight="balanced", dual=False, tol=1e-2, max_iter=100_000)
    return make_pipeline(
        TfidfVectorizer(stop_words="english", min_df=0.0001), CalibratedClassifierCV(svm)
    )


def profanity_peer():
    try:
        from profanity_check import predict_prob
    except ImportError:
        return None
    return predict_prob


PEER_COLUMNS = ("peer", "peer_recipe", "peer_recipe_own")


def _metrics(labels, probs) -> dict:
    return {
        "roc_auc": round(float(roc_auc_score(labels, probs)), 4),
        "ap": round(float(average_precision_score(labels, probs)), 4),
    }


def run(data: Path, model_path: Path | None) -> dict:
    datasets = [d for d in collect_datasets([data]) if d.dev]
    timings = {}
    started = time.perf_counter()
    if model_path is None:
        tmp = tempfile.mkdtemp(prefix="quality-")
        result = train([data], Registry(tmp))
        model_path = result.path
        timings["ours_train_s"] = round(time.perf_counter() - started, 1)
    model = load_model(model_path)
    peer = profanity_peer()
    results: dict = {"model_version": model.version, "thresholds": model.thresholds, "rows": []}
    for task in ("spam", "toxicity"):
        sets = [d for d in datasets if d.task == task]
        texts = [c.content for d in sets for c, _ in d.train]
        labels = [label for d in sets for _, label in d.train]
        started = time.perf_counter()
        tfidf = tfidf_baseline().fit(texts, labels)
        timings[f"tfidf_{task}_train_s"] = round(time.perf_counter() - started, 1)
        nb = nb_baseline().fit(texts, labels) if task == "spam" else None
        recipe = peer_recipe().fit(texts, labels) if task == "toxicity" else None
        for d in sets:
            comments = [c for c, _ in d.dev]
            dev_texts = [c.content for c in comments]
            y = np.array([label for _, label in d.dev])
            row = {"task": task, "dataset": d.name, "n": len(y), "positives": int(y.sum())}
            scores = probabilities(model, comments)
            row["ours"] = _metrics(y, scores[task])
            row["decisions"] = {
                "own_score": decision_shares(y, {task: scores[task]}, model.thresholds),
                "both_scores": decision_shares(y, scores, model.thresholds),
            }
            row["tfidf_lr"] = _metrics(y, tfidf.predict_proba(dev_texts)[:, 1])
            if task == "spam":
                row["peer"] = _metrics(y, nb.predict_proba(dev_texts)[:, 1])
            else:
                if peer is not None:
                    row["peer"] = _metrics(y, peer(dev_texts))
                own = peer_recipe().fit([c.content for c, _ in d.train], [v for _, v in d.train])
                row["peer_recipe"] = _metrics(y, recipe.predict_proba(dev_texts)[:, 1])
                row["peer_recipe_own"] = _metrics(y, own.predict_proba(dev_texts)[:, 1])
            results["rows"].append(row)
    results["timings"] = timings
    return results


def markdown(results: dict) -> str:
    lines = [
        "| task | data set | dev n | ours ROC AUC | ours AP | TF-IDF+LR ROC AUC | TF-IDF+LR AP "
        "| peer | peer ROC AUC | peer AP | peer recipe ROC AUC: pooled / own split |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for row in results["rows"]:
        peer_name = "multinomial NB" if row["task"] == "spam" else "alt-profanity-check"
        peer = row.get("peer", {"roc_auc": "n/a", "ap": "n/a"})
        others = [row[k]["roc_auc"] for k in ("tfidf_lr", *PEER_COLUMNS) if k in row]
        best = max(others)
        ours = row["ours"]["roc_auc"]
        mark = f"**{ours:.4f}**" if ours > best else f"{ours:.4f}"
        recipe = (
            f"{row['peer_recipe']['roc_auc']:.4f} / {row['peer_recipe_own']['roc_auc']:.4f}"
            if "peer_recipe" in row
            else "–"
        )
        lines.append(
            f"| {row['task']} | {row['dataset']} | {row['n']} | {mark} | {row['ours']['ap']:.4f} "
            f"| {row['tfidf_lr']['roc_auc']:.4f} | {row['tfidf_lr']['ap']:.4f} | {peer_name} "
            f"| {peer['roc_auc']} | {peer['ap']} | {recipe} |"
        )
    return "\n".join(lines)


def decision_table(results: dict, which: str) -> str:
    """What the model alone decides at its default thresholds, per data set."""
    lines = [
        "| data set | legitimate approved | held | rejected | bad approved | held | rejected |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in results["rows"]:
        shares = row["decisions"][which]
        cells = [
            f"{100 * shares[kind][action]:.1f}%" if kind in shares else "–"
            for kind in ("legit", "bad")
            for action in ("approved", "held", "rejected")
        ]
        lines.append(f"| {row['dataset']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@click.command()
@click.option(
    "--data", type=click.Path(exists=True, path_type=Path), default=Path("../shared/data")
)
@click.option(
    "--model",
    "model_path",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="A model version folder (the shipped one: classifier/default_model); default: train "
    "one on the data's train splits.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the raw results here.",
)
def main(data: Path, model_path: Path | None, json_path: Path | None) -> None:
    """Print the quality table (bold: ours beats every other column on that data set)."""
    results = run(data, model_path)
    machine = platform.processor() or platform.machine()
    click.echo(f"{date.today()} · {machine} · model {results['model_version']}")
    click.echo(markdown(results))
    click.echo(f"\ndecisions at the default thresholds {json.dumps(results['thresholds'])}")
    click.echo("by the data set's own score (spam for spam sets, toxicity for the others):\n")
    click.echo(decision_table(results, "own_score"))
    click.echo("\nwith both scores counting, as in the service:\n")
    click.echo(decision_table(results, "both_scores"))
    click.echo(f"timings: {json.dumps(results['timings'])}")
    if json_path:
        json_path.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
