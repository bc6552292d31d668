"""Building on a model with a site's own labels (`train` without --data)."""

import csv
import json
import random
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from classifier import CommentInput, Registry, load_model
from classifier.cli import train_command
from classifier.tuning import tune

GAMES = ["raid", "dungeon", "boss", "quest", "guild", "arena"]
GOLD = ["gold", "coins", "gems", "power leveling", "boosting"]


def _site_labels(folder: Path, n: int, seed: int) -> Path:
    """A game forum's comments: ordinary talk, and gold sellers (spam on this site)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "moderator_labels.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label", "task"])
        for i in range(n):
            game = rng.choice(GAMES)
            if i % 2:
                offer = rng.choice(GOLD)
                writer.writerow(
                    [f"cheapest {offer} for the {game}, fast delivery, pm me", 1, "spam"]
                )
            else:
                writer.writerow(
                    [f"the {game} last night was hard, we wiped {i % 7} times", 0, "spam"]
                )
    return folder


def _spam_gap(model) -> float:
    bad = CommentInput("cheapest gems for the arena, fast delivery, pm me")
    good = CommentInput("the arena last night was hard, we wiped 3 times")
    bad_score, good_score = model.score([bad, good])
    return bad_score.spam - good_score.spam


def test_the_sites_labels_move_the_model_and_keep_its_shape(
    registry: Registry, version: str, tmp_path: Path
) -> None:
    base = registry.load(version)
    result = tune(base, [_site_labels(tmp_path / "feedback", 60, 0)], registry)
    tuned = load_model(result.path)
    assert tuned.metadata["base_model"] == version
    assert tuned.weights.shape == base.weights.shape and tuned.outputs == base.outputs
    assert tuned.thresholds == base.thresholds
    assert _spam_gap(tuned) > _spam_gap(base) + 0.1
    assert set(tuned.metadata["tuned"]) == {"spam"}  # no toxicity labels: left as it was
    toxicity = tuned.outputs.index("toxicity")
    probe = [CommentInput("You are a complete idiot"), CommentInput("Thanks, good point")]
    assert np.allclose(tuned.logits(probe)[:, toxicity], base.logits(probe)[:, toxicity], atol=0.05)


def test_train_without_data_builds_on_the_active_model_and_never_twice(
    registry: Registry, version: str, tmp_path: Path
) -> None:
    """The second run starts from the same base again, so labels are not counted twice."""
    registry.promote(version)
    data = _site_labels(tmp_path / "training_data" / "feedback", 80, 1).parent
    settings = type("S", (), {"model_dir": registry.root, "training_data": data})()
    runner = CliRunner()
    first = runner.invoke(train_command, ["--activate", "--json"], obj=settings)
    assert first.exit_code == 0, first.output
    payload = json.loads(first.stdout)
    assert payload["base_model"] == version and payload["activated"]
    assert payload["seconds"] < 60
    second = runner.invoke(train_command, ["--json"], obj=settings)
    assert json.loads(second.stdout)["base_model"] == version


def test_train_out_writes_a_loadable_folder(registry: Registry, version: str, tmp_path) -> None:
    registry.promote(version)
    data = _site_labels(tmp_path / "training_data" / "feedback", 40, 2).parent
    settings = type("S", (), {"model_dir": registry.root, "training_data": data})()
    out = tmp_path / "shipped"
    out.mkdir()
    (out / "stale.txt").write_text("left from an older build")
    result = CliRunner().invoke(train_command, ["--out", str(out), "--json"], obj=settings)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["metadata.json", "model.npz"]
    assert load_model(out).version == json.loads(result.stdout)["version"]
    assert len(registry.versions()) == 1  # nothing registered
