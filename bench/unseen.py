"""The default thresholds on the train comments a task never learned from.

A dev split is small where it matters: 0.2% of Gab's legitimate dev comments is seven
comments, of YouTube's none. But each task also leaves whole train splits unread: the spam
task learns from the spam data sets and from a sample of the toxicity sets' fine comments
(`TrainConfig.borrow_legit`), so the rest of those comments are as new to it as dev rows;
the toxicity task never reads the spam sets. Judged by the task's own score at the model's
thresholds, the table gives the share of those legitimate comments approved, held and rejected,
beside the same on the dev split, and the `reject_at` that the training rule (at most
`reject_legit` of every data set's legitimate comments) would choose if it counted them too.

    python -m bench.unseen --data ../shared/data [--model classifier/default_model]
"""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from classifier import load_model
from classifier.config import TrainConfig
from classifier.data import TASKS, collect_datasets
from classifier.evaluation import probabilities
from classifier.thresholds import decision_shares, reject_threshold
from classifier.training import borrowed_comments, dev_scores

SHIPPED = Path(__file__).resolve().parents[1] / "classifier" / "default_model"


def _shares(scores: np.ndarray, task: str, thresholds: dict) -> str:
    shares = decision_shares(np.zeros(len(scores)), {task: scores}, thresholds)["legit"]
    return " | ".join(f"{100 * shares[a]:.2f}%" for a in ("approved", "held", "rejected"))


@click.command()
@click.option("--data", type=click.Path(exists=True, path_type=Path), required=True)
@click.option(
    "--model", "model_path", type=click.Path(exists=True, path_type=Path), default=SHIPPED
)
def main(data: Path, model_path: Path) -> None:
    model = load_model(model_path)
    config = TrainConfig(
        **{
            k: v
            for k, v in model.metadata["train_config"].items()
            if k in ("seed", "borrow_legit", "reject_legit", "threshold_min_rows")
        }
    )
    thresholds = model.metadata["thresholds"]
    datasets = collect_datasets([data], seed=config.seed)
    learned = {t: set(c) for t, c in borrowed_comments(datasets, config).items()}
    dev = dev_scores(model, datasets)
    print(f"model {model.metadata.get('version')}; thresholds {thresholds}")
    print(
        "| score | data set | legitimate comments | approved | held | rejected | on dev: approved "
        "| held | rejected |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    everywhere: dict[str, list[np.ndarray]] = {t: [] for t in TASKS}
    for d in datasets:
        task = next(t for t in TASKS if t != d.task)
        fine = [c for c, label in d.train if label == 0 and c not in learned.get(task, ())]
        scores = probabilities(model, fine)[task] if fine else np.zeros(0)
        s = dev[d.task, d.name]
        legit = s["labels"] == 0
        if legit.sum() >= config.threshold_min_rows:
            everywhere[d.task].append(s[d.task][legit])
            everywhere[task].append(np.concatenate([s[task][legit], scores]))
        if fine:
            print(
                f"| {task} | {d.name} | {len(fine):,} | {_shares(scores, task, thresholds)} "
                f"| {_shares(s[task][legit], task, thresholds)} |"
            )
    for task in TASKS:
        chosen = reject_threshold(everywhere[task], config.reject_legit)
        print(
            f"{task}: reject_at {thresholds[task]['reject_at']}; counting these comments "
            f"too, the same rule would choose {max(chosen, thresholds[task]['approve_below']):.6f}"
        )


if __name__ == "__main__":
    main()
