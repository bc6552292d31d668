"""The model card in the repository is the shipped model's, as `models card --shipped` writes it."""

from pathlib import Path

from click.testing import CliRunner

from classifier import train
from classifier.card import model_card
from classifier.cli import models
from classifier.config import TrainConfig

ROOT = Path(__file__).resolve().parents[3]


def test_the_committed_card_is_the_shipped_models() -> None:
    """`make model` writes both; a model rebuilt without its card (or the reverse) fails here."""
    result = CliRunner().invoke(models, ["card", "--shipped"])
    assert result.exit_code == 0, result.output
    assert (ROOT / "MODEL_CARD.md").read_text(encoding="utf-8") == result.output


def test_the_card_says_what_a_task_borrows_and_only_then() -> None:
    metadata = {"train_config": {"borrow_legit": {"spam": 1000}}}
    assert "The spam task also learns from up to 1,000 train comments" in model_card(metadata)
    assert "also learns from" not in model_card({"train_config": {"borrow_legit": {}}})
    assert "Only its pooled head sees them." in model_card(metadata)
    gated = {"borrow_legit": {"spam": 1000}, "borrow_mix": 0.05, "borrow_gate": True}
    mixture = {"gates": ["spam/gate/seed", "spam/gate/borrowed"], "fitted_on": "train out-of-fold"}
    card = model_card({"train_config": gated, "mixtures": {"spam": mixture}})
    assert "its mixer does too, out of fold, weighing them 5% of its rows" in card
    assert "its gate counts them as one more data set" in card


def test_the_card_tells_what_the_model_did_with_them_not_what_was_asked(seed_set: Path) -> None:
    """Too few borrowed comments to fold: training gives them no gate and no mixer rows."""
    config = TrainConfig.default(borrow_legit={"spam": 2}, borrow_mix=0.05, borrow_gate=True)
    card = model_card(train([seed_set], config=config).model.metadata)
    assert "The spam task also learns from up to 2 train comments" in card
    assert "Only its pooled head sees them." in card
    assert "its gate counts them" not in card


def test_the_card_names_a_tasks_weighed_blocks_and_only_then() -> None:
    card = model_card({"train_config": {"block_scale": {"spam": {"words": 2.5}}}})
    assert "The spam task weighs these feature blocks apart from the rest (words 2.5)" in card
    assert "weighs these feature blocks" not in model_card({"train_config": {"block_scale": {}}})


def test_the_card_names_the_borrowed_comments_head_and_only_then() -> None:
    config = {"borrow_legit": {"spam": 1000}, "borrow_head": True}
    assert "A head of their own learns them" in model_card({"train_config": config})
    config["borrow_head"] = False
    assert "A head of their own" not in model_card({"train_config": config})
