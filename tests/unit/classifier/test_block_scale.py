"""A task's feature blocks weighed apart: learned on scaled features, carried by the weights."""

from pathlib import Path

import numpy as np
import pytest

from classifier import CommentInput, train
from classifier.config import TrainConfig
from classifier.data import collect_datasets
from classifier.evaluation import probabilities
from classifier.training import _mixture, _Trainer, fit_mixture


def test_the_saved_weights_score_as_the_trainer_scored_on_scaled_features(seed_set: Path) -> None:
    config = TrainConfig.default(block_scale={"spam": {"words": 2.5}}, min_feature_rows=0)
    model = train([seed_set], config=config).model
    assert model.metadata["train_config"]["block_scale"] == {"spam": {"words": 2.5}}

    trainer = _Trainer(collect_datasets([seed_set], seed=config.seed), config, lambda *_: None)
    trainer.featurize()
    expected = trainer.dev_scores("spam", _mixture(trainer, "spam")[2])
    assert expected
    for dataset in trainer.datasets:
        if dataset.task == "spam" and dataset.dev:
            scored = probabilities(model, [comment for comment, _ in dataset.dev])["spam"]
            np.testing.assert_allclose(scored, expected[dataset.name], atol=0.01)


def test_a_block_scale_for_one_task_leaves_the_other_as_it_was(seed_set: Path) -> None:
    plain = train([seed_set], config=TrainConfig.default(block_scale={})).model
    config = TrainConfig.default(block_scale={"spam": {"words": 2.5}})
    scaled = train([seed_set], config=config).model
    texts = ["Buy cheap pills at www.example.ru now", "You are an idiot", "Nice post, thanks"]
    comments = [CommentInput(content=text) for text in texts]
    before, after = probabilities(plain, comments), probabilities(scaled, comments)
    np.testing.assert_allclose(after["toxicity"], before["toxicity"], rtol=1e-6)
    assert not np.allclose(after["spam"], before["spam"], rtol=1e-3)


def test_an_unknown_block_is_refused_by_name(seed_set: Path) -> None:
    config = TrainConfig.default(block_scale={"spam": {"wrods": 2.0}})
    with pytest.raises(ValueError, match=r"unknown blocks \['wrods'\]"):
        train([seed_set], config=config)


def test_comments_from_elsewhere_are_scored_as_the_tasks_own_dev_rows(seed_set: Path) -> None:
    """`fit_mixture`'s other comments go through the same features and scale as its dev rows."""
    config = TrainConfig.default(block_scale={"spam": {"words": 2.5}})
    datasets = collect_datasets([seed_set], seed=config.seed)
    spam = next(d for d in datasets if d.task == "spam" and d.dev)
    others = {"again": [comment for comment, _ in spam.dev]}
    scores = fit_mixture(datasets, "spam", config, others)
    np.testing.assert_allclose(scores["again"], scores[spam.name], rtol=1e-5)
