"""`reject_at` also counts the legitimate train comments a task never learned from."""

from pathlib import Path

import numpy as np

from classifier import train
from classifier.config import TrainConfig
from classifier.data import collect_datasets
from classifier.evaluation import probabilities
from classifier.thresholds import reject_threshold
from classifier.training import unseen_legit


def test_the_unseen_rows_are_the_other_tasks_less_what_was_borrowed(seed_set: Path) -> None:
    config = TrainConfig.default(borrow_legit={"spam": 7})
    result = train([seed_set], config=config)
    datasets = collect_datasets([seed_set], seed=config.seed)
    fine = {d.task: [c for c, label in d.train if label == 0] for d in datasets}
    borrowed = {"spam": fine["toxicity"][:7]}
    unseen = unseen_legit(result.model, datasets, borrowed)
    assert set(unseen) == {("spam", "seed"), ("toxicity", "seed")}
    assert len(unseen["spam", "seed"]) == len(fine["toxicity"]) - 7
    assert len(unseen["toxicity", "seed"]) == len(fine["spam"])
    scores = probabilities(result.model, fine["toxicity"][7:])["spam"]
    np.testing.assert_allclose(unseen["spam", "seed"], scores)


def test_reject_at_is_chosen_on_dev_and_unseen_train_comments(seed_set: Path) -> None:
    config = TrainConfig.default(borrow_legit={"spam": 7})
    result = train([seed_set], config=config)
    metadata = result.metadata
    datasets = {d.task: d for d in collect_datasets([seed_set], seed=config.seed)}
    fine_train = {t: [c for c, label in d.train if label == 0] for t, d in datasets.items()}
    fine_dev = {t: [c for c, label in d.dev if label == 0] for t, d in datasets.items()}
    rows = metadata["threshold_rows"]
    assert rows["spam"]["reject_at_unseen_train"] == len(fine_train["toxicity"]) - 7
    assert rows["toxicity"]["reject_at_unseen_train"] == len(fine_train["spam"])
    dev_rows = len(fine_dev["spam"]) + len(fine_dev["toxicity"])
    for task in ("spam", "toxicity"):
        assert rows[task]["reject_at"] == dev_rows + rows[task]["reject_at_unseen_train"]
        assert rows[task]["approve_below"] == len(fine_dev[task])
    # The toxicity task learned nothing from the spam set's train rows: they set its reject_at
    # together with both sets' dev rows.
    model = result.model
    other = "spam"
    everywhere = [
        np.concatenate(
            [
                probabilities(model, fine_dev[other])["toxicity"],
                probabilities(model, fine_train[other])["toxicity"],
            ]
        ),
        probabilities(model, fine_dev["toxicity"])["toxicity"],
    ]
    expected = max(
        reject_threshold(everywhere, config.reject_legit),
        metadata["thresholds"]["toxicity"]["approve_below"],
    )
    assert metadata["thresholds"]["toxicity"]["reject_at"] == round(expected, 6)
