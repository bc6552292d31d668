"""Side-by-side quality on every dev split: our model vs the baselines, as a Markdown table.

Baselines are trained on the same train splits: a pooled TF-IDF (word 1-2 + char_wb 2-5) logistic
regression per task, a multinomial naive Bayes for spam, and the `alt-profanity-check` peer for
toxicity (a benchmark-only dependency; its column reads n/a when it is not installed).

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
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import make_pipeline, make_union

from classifier import Registry, load_model, train
from classifier.data import collect_datasets
from classifier.evaluation import task_probabilities


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


def profanity_peer():
    try:
        from profanity_check import predict_prob
    except ImportError:
        return None
    return predict_prob


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
    results: dict = {"model_version": model.version, "rows": []}
    for task in ("spam", "toxicity"):
        sets = [d for d in datasets if d.task == task]
        texts = [c.content for d in sets for c, _ in d.train]
        labels = [label for d in sets for _, label in d.train]
        started = time.perf_counter()
        tfidf = tfidf_baseline().fit(texts, labels)
        timings[f"tfidf_{task}_train_s"] = round(time.perf_counter() - started, 1)
        nb = nb_baseline().fit(texts, labels) if task == "spam" else None
        for d in sets:
            comments = [c for c, _ in d.dev]
            dev_texts = [c.content for c in comments]
            y = np.array([label for _, label in d.dev])
            row = {"task": task, "dataset": d.name, "n": len(y), "positives": int(y.sum())}
            row["ours"] = _metrics(y, task_probabilities(model, task, comments))
            row["tfidf_lr"] = _metrics(y, tfidf.predict_proba(dev_texts)[:, 1])
            if task == "spam":
                row["peer"] = _metrics(y, nb.predict_proba(dev_texts)[:, 1])
            elif peer is not None:
                row["peer"] = _metrics(y, peer(dev_texts))
            results["rows"].append(row)
    results["timings"] = timings
    return results


def markdown(results: dict) -> str:
    lines = [
        "| task | data set | dev n | ours ROC AUC | ours AP | TF-IDF+LR ROC AUC | TF-IDF+LR AP "
        "| peer | peer ROC AUC | peer AP |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for row in results["rows"]:
        peer_name = "multinomial NB" if row["task"] == "spam" else "alt-profanity-check"
        peer = row.get("peer", {"roc_auc": "n/a", "ap": "n/a"})
        best = max(row["tfidf_lr"]["roc_auc"], peer["roc_auc"] if row.get("peer") else 0)
        ours = row["ours"]["roc_auc"]
        mark = f"**{ours:.4f}**" if ours > best else f"{ours:.4f}"
        lines.append(
            f"| {row['task']} | {row['dataset']} | {row['n']} | {mark} | {row['ours']['ap']:.4f} "
            f"| {row['tfidf_lr']['roc_auc']:.4f} | {row['tfidf_lr']['ap']:.4f} | {peer_name} "
            f"| {peer['roc_auc']} | {peer['ap']} |"
        )
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
    help="A model version folder; default: train one on the data's train splits.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the raw results here.",
)
def main(data: Path, model_path: Path | None, json_path: Path | None) -> None:
    """Print the quality table (bold: ours beats every baseline on that data set)."""
    results = run(data, model_path)
    machine = platform.processor() or platform.machine()
    click.echo(f"{date.today()} · {machine} · model {results['model_version']}")
    click.echo(markdown(results))
    click.echo(f"timings: {json.dumps(results['timings'])}")
    if json_path:
        json_path.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
