"""Does the moderators' feedback loop help? Before/after ROC AUC, on the site and everywhere else.

For each task one public data set plays the site. N of its training comments become moderator
labels, exactly as ``commentgate feedback export`` writes them (``training_data/feedback/*.csv``
with ``text,label,task``), and the model is built on with them as ``commentgate train`` without
``--data`` does (``classifier.tuning.tune``). Both models are scored on the site's dev split and
on every other data set's dev split, so a gain on the site and a loss elsewhere both show.

The base is the shipped model (what a new installation runs). It has seen the site's train
split among the public data; ``--leave-out`` trains a base without the site's data set first
(minutes), which is what a site whose comments the public data lacks gets.

    .venv/bin/python -m bench.learning [--data ../shared/data] [--n 50 200 all] [--repeats 3]
                                       [--leave-out]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from classifier import Model, load_model, train
from classifier.config import TrainConfig
from classifier.data import Dataset, collect_datasets, parse_label, read_rows
from classifier.evaluation import task_probabilities
from classifier.metrics import binary_metrics
from classifier.shipped import SHIPPED_MODEL
from classifier.tuning import tune

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
SEED = REPO / "training_data" / "seed"
SITES = {"spam": "datacamp_blog_spam", "toxicity": "impermium_insults"}


def write_feedback(folder: Path, task: str, rows: list[dict]) -> Path:
    """Moderator labels in the export's format, in a ``feedback/`` folder as training expects."""
    path = folder / "feedback" / "moderator_labels.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text", "label", "task", "source"])
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {"text": row["text"], "label": row["label"], "task": task, "source": "moderator"}
            )
    return folder


def aucs(model: Model, task: str, dev: list[Dataset]) -> dict[str, float]:
    """ROC AUC of the task's score on each data set's dev split."""
    out = {}
    for d in dev:
        labels = [label for _, label in d.dev]
        probs = task_probabilities(model, task, [c for c, _ in d.dev])
        out[d.name] = float(binary_metrics(labels, probs)["roc_auc"])
    return out


def leave_out_base(data: Path, site: str) -> Model:
    """A model trained on every public data set but the site's (and the seed set)."""
    files = [
        p
        for folder in (data / "spam", data / "toxicity")
        for p in sorted(folder.glob("*.csv"))
        if not p.name.startswith(site)
    ]
    return train([*files, SEED], config=TrainConfig.default()).model


def run_task(data: Path, task: str, sizes: list[str], repeats: int, leave_out: bool) -> list[dict]:
    site = SITES[task]
    dev = [d for d in collect_datasets([data / task]) if d.dev]
    pool = [r for r in read_rows(data / task / f"{site}_train.csv") if str(r["text"]).strip()]
    rows = []
    with tempfile.TemporaryDirectory(prefix="commentgate-learning-") as scratch:
        root = Path(scratch)
        base = leave_out_base(data, site) if leave_out else load_model(SHIPPED_MODEL)
        before = aucs(base, task, dev)
        print(f"{task}: site {site}, base {'without it' if leave_out else base.version}")
        for size in sizes:
            n = len(pool) if size == "all" else int(size)
            draws = 1 if n >= len(pool) else repeats
            results, seconds = [], []
            for draw in range(draws):
                sample = random.Random(draw).sample(pool, min(n, len(pool)))
                folder = write_feedback(root / f"n{n}-{draw}", task, sample)
                started = time.perf_counter()
                config = replace(TrainConfig.default(), seed=draw)
                tuned = tune(base, [folder], config=config).model
                seconds.append(time.perf_counter() - started)
                results.append(aucs(tuned, task, dev))
            after = {name: statistics.mean(r[name] for r in results) for name in before}
            others = [name for name in before if name != site]
            rows.append(
                {
                    "task": task,
                    "site": site,
                    "base": "leave-out" if leave_out else "shipped",
                    "n": n,
                    "positives": sum(parse_label(r["label"]) == 1 for r in sample),
                    "draws": draws,
                    "site_before": round(before[site], 4),
                    "site_after": round(after[site], 4),
                    "site_after_range": [
                        round(min(r[site] for r in results), 4),
                        round(max(r[site] for r in results), 4),
                    ],
                    "others_before": round(float(np.mean([before[o] for o in others])), 4),
                    "others_after": round(float(np.mean([after[o] for o in others])), 4),
                    "worst_other_change": round(min(after[o] - before[o] for o in others), 4),
                    "retrain_seconds": round(statistics.mean(seconds), 1),
                }
            )
            r = rows[-1]
            print(
                f"  N={n}: site {r['site_before']:.4f} -> {r['site_after']:.4f}, others "
                f"{r['others_before']:.4f} -> {r['others_after']:.4f} "
                f"(worst {r['worst_other_change']:+.4f}), {r['retrain_seconds']:.1f} s"
            )
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| task | site | base | N labels (bad) | site AUC before → after (range) "
        "| other sets' mean AUC before → after | worst change elsewhere | retraining |",
        "| --- | --- | --- | ---: | --- | --- | ---: | ---: |",
    ]
    for r in rows:
        low, high = r["site_after_range"]
        lines.append(
            f"| {r['task']} | {r['site']} | {r['base']} | {r['n']} ({r['positives']}) "
            f"| {r['site_before']:.4f} → {r['site_after']:.4f} ({low:.4f}–{high:.4f}) "
            f"| {r['others_before']:.4f} → {r['others_after']:.4f} "
            f"| {r['worst_other_change']:+.4f} | {r['retrain_seconds']:.1f} s |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="The public data sets.")
    parser.add_argument("--task", choices=["spam", "toxicity", "both"], default="both")
    parser.add_argument("--n", nargs="+", default=["50", "200", "all"])
    parser.add_argument("--repeats", type=int, default=3, help="Random draws per N.")
    parser.add_argument("--leave-out", action="store_true", help="Base without the site's set.")
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    args = parser.parse_args()
    tasks = ["spam", "toxicity"] if args.task == "both" else [args.task]
    rows = [r for t in tasks for r in run_task(args.data, t, args.n, args.repeats, args.leave_out)]
    machine = f"{platform.platform()} · {os.cpu_count()} CPUs · Python {platform.python_version()}"
    print(f"\n{time.strftime('%Y-%m-%d')} · {machine}")
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
