"""Legitimate comments one task borrows from the other's data sets: which, and what they teach."""

from dataclasses import replace
from pathlib import Path

import numpy as np

from classifier import CommentInput, train
from classifier.config import TrainConfig
from classifier.data import collect_datasets
from classifier.evaluation import probabilities
from classifier.model import load_model
from classifier.registry import Registry
from classifier.training import (
    BORROWED_GATE,
    _logits,
    _mixture,
    _Trainer,
    mixture_probabilities,
)

TWEETS = [
    "RT @coach: Great game tonight, proud of this team http://t.co/a1b2c3",
    "RT @news: Storm closes the bridge until Monday http://t.co/x9y8z7",
    "@fan42 @coach agreed, the second half was something else http://t.co/q1w2e3",
]


def _trainer(seed_set: Path, config: TrainConfig, borrowed=None) -> _Trainer:
    datasets = collect_datasets([seed_set], seed=config.seed)
    trainer = _Trainer(datasets, config, lambda *_: None, borrowed)
    trainer.featurize()
    return trainer


def test_spam_borrows_only_the_toxicity_sets_fine_train_rows(seed_set: Path) -> None:
    config = TrainConfig.default(borrow_legit={"spam": 7})
    trainer = _trainer(seed_set, config)
    borrowed = trainer.borrowed
    assert set(borrowed) == {"spam"}
    fine = {
        c.content
        for d in trainer.datasets
        if d.task == "toxicity"
        for c, label in d.train
        if not label
    }
    toxic = {
        c.content for d in trainer.datasets if d.task == "toxicity" for c, label in d.train if label
    }
    texts = [c.content for c in borrowed["spam"]]
    assert len(texts) == 7 and set(texts) <= fine and not set(texts) & toxic
    assert trainer.x_borrowed["spam"].shape[0] == 7


def test_nothing_is_borrowed_when_the_config_asks_for_none(seed_set: Path) -> None:
    trainer = _trainer(seed_set, TrainConfig.default(borrow_legit={}))
    assert trainer.borrowed == {} and trainer.x_borrowed == {}


def test_the_pooled_spam_head_learns_borrowed_comments_as_fine(seed_set: Path) -> None:
    """Only the pooled head sees them; the data sets' own heads stay as they were (the
    borrowed comments' own head, which only exists with them, is left out here)."""
    config = TrainConfig.default(borrow_legit={}, borrow_share=1.0, borrow_head=False)
    tweets = [CommentInput(content=t) for t in TWEETS]
    plain = _trainer(seed_set, config).heads("spam")
    lent = _trainer(seed_set, config, {"spam": tweets * 20}).heads("spam")
    x = _trainer(seed_set, config).featurizer.transform(tweets)
    before, after = _logits(x, plain), _logits(x, lent)
    assert (after[:, 0] < before[:, 0] - 0.5).all(), (before[:, 0], after[:, 0])
    np.testing.assert_allclose(after[:, 1:], before[:, 1:], rtol=1e-6)


def test_borrowing_for_spam_leaves_toxicity_as_it_was(seed_set: Path) -> None:
    plain = train([seed_set], config=TrainConfig.default(borrow_legit={})).model
    lent = train([seed_set], config=TrainConfig.default(borrow_legit={"spam": 50})).model
    assert lent.metadata["train_config"]["borrow_legit"] == {"spam": 50}
    comments = [CommentInput(content=t) for t in [*TWEETS, "You are an idiot", "Nice post"]]
    before, after = probabilities(plain, comments), probabilities(lent, comments)
    np.testing.assert_allclose(after["toxicity"], before["toxicity"], rtol=1e-6)


def test_the_mixer_learns_borrowed_comments_behind_a_gate_of_their_own(seed_set: Path) -> None:
    """With `borrow_mix` and `borrow_gate`, the spam gate has one more data set, the borrowed
    comments, and comments like them score lower than when only the pooled head saw them."""
    tweets = [CommentInput(content=t) for t in TWEETS]
    lent = {"spam": tweets * 20}
    plain = TrainConfig.default(
        borrow_legit={}, borrow_share=0.05, borrow_mix=0.0, borrow_gate=False
    )
    mixed = replace(plain, borrow_mix=0.5, borrow_gate=True)
    unseen = [
        CommentInput(content="RT @mayor: Road works on Elm Street start Monday http://t.co/m4n5b6"),
        CommentInput(content="@coach @fan42 what a finish, see you next week http://t.co/z0x9c8"),
    ]
    found = {}
    for name, config in (("plain", plain), ("mixed", mixed)):
        trainer = _trainer(seed_set, config, lent)
        _, gate, mixture, fitted_on = _mixture(trainer, "spam")
        assert fitted_on == "train out-of-fold"
        found[name] = (gate, mixture_probabilities(trainer.featurizer.transform(unseen), mixture))
    gate, mixed_scores = found["mixed"]
    assert found["plain"][0].names[-1] != BORROWED_GATE
    assert gate.names[-1] == BORROWED_GATE and len(gate.names) == len(found["plain"][0].names) + 1
    x = _trainer(seed_set, mixed).featurizer.transform(unseen)
    assert (gate.probabilities(x).argmax(axis=1) == len(gate.names) - 1).all()
    assert (mixed_scores < found["plain"][1]).all(), (found["plain"][1], mixed_scores)


def test_a_model_with_the_borrowed_gate_loads_and_explains(seed_set: Path, tmp_path: Path) -> None:
    config = TrainConfig.default(borrow_legit={"spam": 50}, borrow_mix=0.1, borrow_gate=True)
    result = train([seed_set], Registry(tmp_path), config=config)
    assert result.path is not None
    model = load_model(result.path)
    assert model.metadata["mixtures"]["spam"]["gates"][-1] == f"spam/gate/{BORROWED_GATE}"
    like = model.resemblance([CommentInput(content=TWEETS[0])])[0]["spam"]
    assert BORROWED_GATE in like


def test_too_few_borrowed_comments_to_fold_get_no_gate_of_their_own(seed_set: Path) -> None:
    """Fewer borrowed comments than folds: the pooled head learns them, the gate and the
    mixer are as without them, and training still succeeds."""
    config = TrainConfig.default(borrow_legit={"spam": 2}, borrow_mix=0.05, borrow_gate=True)
    trainer = _trainer(seed_set, config)
    assert trainer.x_borrowed["spam"].shape[0] < config.oof_folds
    _, gate, _, fitted_on = _mixture(trainer, "spam")
    assert fitted_on == "train out-of-fold" and BORROWED_GATE not in gate.names


def test_a_head_of_their_own_tells_the_borrowed_comments_from_the_bad_ones(
    seed_set: Path,
) -> None:
    """With `borrow_head`, the borrowed comments and the spam sets' bad ones train one more
    head; without it, there is none."""
    tweets = [CommentInput(content=t) for t in TWEETS]
    config = TrainConfig.default(borrow_legit={}, borrow_head=True)
    trainer = _trainer(seed_set, config, {"spam": tweets * 20})
    heads = {h.name: h for h in trainer.heads("spam")}
    assert f"spam:{BORROWED_GATE}" in heads
    head = heads[f"spam:{BORROWED_GATE}"]
    x_tweets = trainer.featurizer.transform(tweets)
    spam_set = next(d for d in trainer.datasets if d.task == "spam")
    bad = [c for c, label in spam_set.train if label == 1]
    tweet_logits = _logits(x_tweets, [head])[:, 0]
    bad_logits = _logits(trainer.featurizer.transform(bad), [head])[:, 0]
    assert (tweet_logits < 0).all() and np.median(bad_logits) > 0, (tweet_logits, bad_logits)
    plain = _trainer(seed_set, replace(config, borrow_head=False), {"spam": tweets * 20})
    assert f"spam:{BORROWED_GATE}" not in {h.name for h in plain.heads("spam")}
    result = train(
        [seed_set], config=TrainConfig.default(borrow_legit={"spam": 50}, borrow_head=True)
    )
    assert result.metadata["train_config"]["borrow_head"] is True
