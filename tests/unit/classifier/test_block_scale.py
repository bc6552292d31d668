"""A task's feature blocks weighed apart: learned on scaled features, carried by the weights."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from classifier import CommentInput, train
from classifier.config import DatasetRule, TrainConfig, read_manifest
from classifier.data import collect_datasets
from classifier.evaluation import probabilities
from classifier.training import _fit_lr, _mixture, _Trainer, fit_mixture

from .test_mixture import MAPS, PLAYERS, TOPICS, _write_gaming_and_forum


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


def test_a_data_sets_own_block_scale_reaches_only_its_own_heads(
    seed_set: Path, tmp_path: Path
) -> None:
    """The pooled head and the other data sets' heads read every comment as before; the data
    set's own head learns on its scaled features and scores the unscaled ones the same way."""
    _write_gaming_and_forum(tmp_path / "toxicity", PLAYERS[:5], MAPS[:4], TOPICS[:4])
    datasets = collect_datasets([seed_set, tmp_path / "toxicity"], seed=0)
    plain = TrainConfig.default(borrow_legit={})
    rules = {**plain.datasets, "gaming": DatasetRule(block_scale={"words": 3.0})}
    scaled = replace(plain, datasets=rules)
    heads = {}
    for config in (plain, scaled):
        trainer = _Trainer(datasets, config, lambda *_: None)
        trainer.featurize()
        heads[config is scaled] = {h.name: h for h in trainer.heads("toxicity")}
    before, after = heads[False], heads[True]
    others = {"toxicity:pooled", "toxicity:forum", "toxicity:seed"}
    assert set(before) == set(after) == others | {"toxicity:gaming"}
    for name in others:
        np.testing.assert_array_equal(after[name].weights, before[name].weights)
    assert not np.allclose(after["toxicity:gaming"].weights, before["toxicity:gaming"].weights)

    x = trainer.x_train["toxicity", "gaming"]
    scale = trainer.own_scale("gaming")
    assert scale is not None
    y = trainer.y_train["toxicity", "gaming"]
    direct = _fit_lr(x.multiply(scale).tocsr(), y, c=config.own_head_c.get("toxicity", 4.0))
    own = after["toxicity:gaming"]
    np.testing.assert_allclose(
        x @ own.weights + own.bias,
        x.multiply(scale).tocsr() @ direct.weights + direct.bias,
        rtol=1e-4,
        atol=1e-4,
    )


def test_a_manifest_carries_a_data_sets_block_scale(tmp_path: Path) -> None:
    manifest = tmp_path / "rules.json"
    manifest.write_text('{"blog": {"mix_weight": 2.0, "block_scale": {"words": 2.5}}}')
    rules = read_manifest(manifest)
    assert rules["blog"] == DatasetRule(mix_weight=2.0, block_scale={"words": 2.5})
