"""Does the moderators' feedback loop help? Before/after ROC AUC on a site the model never saw.

For each task one public data set plays the "new site": the model is trained on the other public
data sets of that task (plus the project's seed set), then N of the new site's training comments
are added as moderator labels, exactly as ``commentgate feedback export`` writes them
(``training_data/feedback/*.csv`` with ``text,label,task``), and the model is trained again. Both
models are scored on the new site's dev split, which no training run sees.

    .venv/bin/python -m bench.learning [--data ../shared/data] [--n 50 200 1000] [--repeats 3]

The data are read where they are (never copied into the repository); each N is drawn at random
(``--repeats`` draws, mean and range reported) from the new site's train split.
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
from dataclasses import dataclass
from pathlib import Path

from classifier import Registry, evaluate, train
from classifier.data import parse_label, read_rows
from classifier.evaluation import read_labeled

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SEED = REPO / "training_data" / "seed"
NEW_SITES = {"spam": "datacamp_blog_spam", "toxicity": "impermium_insults"}


@dataclass(frozen=True)
class Case:
    task: str
    new_site: str
    data: Path

    def base_files(self) -> list[Path]:
        """The task's public data sets except the new site, and the seed set (both tasks)."""
        folder = self.data / self.task
        files = sorted(p for p in folder.glob("*.csv") if not p.name.startswith(self.new_site))
        return [*files, SEED]

    @property
    def train_file(self) -> Path:
        return self.data / self.task / f"{self.new_site}_train.csv"

    @property
    def dev_file(self) -> Path:
        return self.data / self.task / f"{self.new_site}_dev.csv"


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


def auc_on_dev(case: Case, paths: list[Path], root: Path, seed: int) -> float:
    registry = Registry(root / "models")
    result = train(paths, registry, seed=seed)
    model = registry.load(result.version)
    comments, labels = read_labeled(case.dev_file)
    return float(evaluate(model, case.task, comments, labels)["roc_auc"])


def run_case(case: Case, sizes: list[int], repeats: int) -> list[dict]:
    pool = [r for r in read_rows(case.train_file) if str(r.get("text", "")).strip()]
    results = []
    with tempfile.TemporaryDirectory(prefix="commentgate-learning-") as scratch:
        root = Path(scratch)
        started = time.perf_counter()
        before = auc_on_dev(case, case.base_files(), root / "base", seed=0)
        base_seconds = time.perf_counter() - started
        print(f"{case.task}/{case.new_site}: before {before:.4f} ({base_seconds:.0f} s)")
        for n in sizes:
            if n > len(pool):
                print(f"  N={n}: only {len(pool)} training rows, skipped")
                continue
            draws = 1 if n == len(pool) else repeats
            aucs, positives = [], []
            for draw in range(draws):
                sample = random.Random(draw).sample(pool, n)
                positives.append(sum(parse_label(r.get("label")) == 1 for r in sample))
                folder = write_feedback(root / f"n{n}-{draw}", case.task, sample)
                aucs.append(auc_on_dev(case, [*case.base_files(), folder], folder, seed=draw))
            row = {
                "task": case.task,
                "new_site": case.new_site,
                "n": n,
                "positives": round(statistics.mean(positives), 1),
                "before": round(before, 4),
                "after": round(statistics.mean(aucs), 4),
                "after_min": round(min(aucs), 4),
                "after_max": round(max(aucs), 4),
                "draws": draws,
            }
            results.append(row)
            spread = f"[{row['after_min']:.4f}, {row['after_max']:.4f}]"
            print(f"  N={n}: after {row['after']:.4f} {spread}")
    return results


def table(rows: list[dict]) -> str:
    lines = [
        "| task | new site (dev rows) | N labels (positives) | AUC before | AUC after (mean) "
        "| range of draws | draws |",
        "| --- | --- | ---: | ---: | ---: | --- | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['task']} | {r['new_site']} ({r['dev_rows']}) | {r['n']} ({r['positives']:g}) "
            f"| {r['before']:.4f} "
            f"| {r['after']:.4f} | {r['after_min']:.4f}–{r['after_max']:.4f} | {r['draws']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help="The public data sets.")
    parser.add_argument("--task", choices=["spam", "toxicity", "both"], default="both")
    parser.add_argument("--n", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--repeats", type=int, default=3, help="Random draws per N.")
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    args = parser.parse_args()
    tasks = ["spam", "toxicity"] if args.task == "both" else [args.task]
    rows = []
    for task in tasks:
        case = Case(task, NEW_SITES[task], args.data)
        sizes = sorted(set(args.n))
        pool_size = len(read_rows(case.train_file))
        if pool_size < max(sizes):
            sizes = sorted({n for n in sizes if n < pool_size} | {pool_size})
        dev_rows = len(read_rows(case.dev_file))
        for row in run_case(case, sizes, args.repeats):
            rows.append({**row, "dev_rows": dev_rows})
    print()
    machine = f"{platform.platform()} · {os.cpu_count()} CPUs · Python {platform.python_version()}"
    print(f"{time.strftime('%Y-%m-%d')} · {machine}")
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
