"""The gated mixture: data sets that disagree on a word each keep their own reading of it,
and models written before mixtures existed still load."""

import csv
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from classifier import CommentInput, ModelLoadError, Registry, load_model, train
from classifier.config import TrainConfig
from classifier.model import file_sha256
from classifier.training import BORROWED_GATE

PLAYERS = ["Zed", "Mara", "Kofi", "Lena", "Ravi", "Tomas"]
MAPS = ["Dust", "Harbor", "Citadel", "Frostbite", "Canyon"]
TOPICS = ["parking", "library", "zoning", "school", "transit"]

GAMING = {
    0: [
        "{p} killed me again on {m}, the respawn timer in this lobby is way too long",
        "gg {p}, that kill streak on {m} was insane, see you next match in the lobby",
        "{p} got the final kill on {m}, best round of the night, respawn and go again",
    ],
    1: [
        "{p} you are a worthless idiot, uninstall the game and leave the {m} lobby",
        "shut up {p}, nobody wants a pathetic moron on {m}, get out of this lobby",
        "{p} is a braindead loser, reported, trash player ruining {m} for everyone",
    ],
}
FORUM = {
    0: [
        "The council should delay the {t} proposal until after the election, says {p}",
        "I disagree with the mayor about the {t} budget, the council vote was rushed",
        "{p} made a fair point at the council meeting about the {t} plan and its cost",
    ],
    1: [
        "Someone should kill the mayor over the {t} vote, the council deserves it",
        "I will kill you {p} if you post about the {t} plan again before the election",
        "The council members who backed the {t} plan should be killed, all of them",
    ],
}


def _rows(templates: dict[int, list[str]], fill: dict) -> list[tuple[str, int]]:
    rows = []
    for label, patterns in templates.items():
        for pattern, values in itertools.product(patterns, fill):
            rows.append((pattern.format(**values), label))
    return rows


def _write(path: Path, rows: list[tuple], header: tuple = ("text", "label")) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def _write_gaming_and_forum(
    folder: Path, players: list[str], maps: list[str], topics: list[str]
) -> None:
    """Two toxicity data sets that read "kill" oppositely, each with a train and a dev split."""
    gamers = [{"p": p, "m": m} for p, m in itertools.product(players, maps)]
    citizens = [{"p": p, "t": t} for p, t in itertools.product(players, topics)]
    for name, templates, fill in (("gaming", GAMING, gamers), ("forum", FORUM, citizens)):
        rows = _rows(templates, fill)
        _write(folder / f"{name}_train.csv", rows[::2] + rows[1::4])
        _write(folder / f"{name}_dev.csv", rows[3::4])


@pytest.fixture(scope="module")
def mixed_model(tmp_path_factory: pytest.TempPathFactory, seed_set: Path):
    """A model trained on the seed set plus two toxicity data sets that read "kill" oppositely."""
    root = tmp_path_factory.mktemp("mixture")
    _write_gaming_and_forum(root / "toxicity", PLAYERS[:5], MAPS[:4], TOPICS[:4])
    registry = Registry(root / "models")
    result = train([seed_set, root / "toxicity"], registry)
    return load_model(result.path)


def test_each_data_set_keeps_its_own_reading_of_a_word(mixed_model) -> None:
    gaming = CommentInput("Tomas got a clean kill on Canyon, respawn and back to the lobby")
    forum = CommentInput("Someone should kill Tomas over the transit vote at the council")
    [g, f] = mixed_model.score([gaming, forum])
    assert g.toxicity < 0.3 < 0.7 < f.toxicity, (g.toxicity, f.toxicity)
    assert any("kill" in term for term in f.toxicity_terms), f.toxicity_terms


def test_resemblance_names_the_data_set_a_comment_is_like(mixed_model) -> None:
    gaming = CommentInput("Mara respawned on Canyon and left the lobby after the match")
    forum = CommentInput("The council will vote on the transit plan after the election")
    [g, f] = mixed_model.resemblance([gaming, forum])
    assert next(iter(g["toxicity"])) == "gaming", g
    assert next(iter(f["toxicity"])) == "forum", f
    # Spam was trained on the seed set alone, and the fine comments it borrows from toxicity's.
    assert set(g["spam"]) == {"seed", BORROWED_GATE}
    assert all(
        0 <= w <= 1 for like in (g, f) for weights in like.values() for w in weights.values()
    )


def test_mixture_is_recorded_in_metadata(mixed_model) -> None:
    mixture = mixed_model.metadata["mixtures"]["toxicity"]
    assert sorted(mixture["gates"]) == [f"toxicity/gate/{n}" for n in ("forum", "gaming", "seed")]
    assert len(mixture["experts"]) == 3
    assert mixture["fitted_on"] == "train out-of-fold"
    assert set(mixed_model.metadata["dev_metrics"]["toxicity"]) == {"forum", "gaming", "seed"}


def test_a_single_column_model_still_loads(seed_set: Path, tmp_path: Path) -> None:
    """Models written before mixtures: one column per output, no `columns` or `mixtures`."""
    # Without the borrowed comments' gate, the seed set is each task's one data set.
    config = TrainConfig.default(borrow_gate=False)
    folder = train([seed_set], Registry(tmp_path), config=config).path
    assert folder is not None
    model = load_model(folder)
    comments = [CommentInput("Buy cheap pills at http://pills.example.ru now!!!")]
    expected = model.logits(comments)[0]
    x = model.featurizer.transform(comments)
    raw = np.asarray(x @ model.weights)[0] + model.bias
    columns = model.metadata["columns"]
    # The seed model has one data set per task, so each mixture is one expert: a plain column.
    plain = [raw[columns.index(f"{task}/expert/seed")] for task in ("spam", "toxicity")]
    plain_biases = [model.bias[columns.index(f"{t}/expert/seed")] for t in ("spam", "toxicity")]
    attributes = [n for n in model.outputs if n not in ("spam", "toxicity")]
    weights = np.stack(
        [model.weights[:, columns.index(f"{t}/expert/seed")] for t in ("spam", "toxicity")]
        + [model.weights[:, columns.index(n)] for n in attributes],
        axis=1,
    )
    bias = np.array(plain_biases + [model.bias[columns.index(n)] for n in attributes])
    np.savez_compressed(folder / "model.npz", idf=model.featurizer.idf, weights=weights, bias=bias)
    meta = json.loads((folder / "metadata.json").read_text())
    del meta["columns"], meta["mixtures"]
    meta["files"]["model.npz"] = file_sha256(folder / "model.npz")
    (folder / "metadata.json").write_text(json.dumps(meta))
    old = load_model(folder)
    assert np.allclose(old.logits(comments)[0], expected, atol=1e-5)
    assert np.allclose(expected[:2], plain, atol=1e-5)


def test_a_mixture_naming_a_missing_column_is_refused(registry: Registry, version: str) -> None:
    folder = registry.path(version)
    meta = json.loads((folder / "metadata.json").read_text())
    meta["mixtures"]["spam"]["experts"] = ["spam/expert/elsewhere"]
    (folder / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="names a column the model lacks"):
        load_model(folder)


def test_a_few_moderator_labels_get_a_gate_without_unsettling_the_mixer(
    tmp_path: Path, seed_set: Path
) -> None:
    """Too few labels to split into folds: they train every fold's heads and get their own
    gate column, and the mixer still learns out of fold on the data sets that can be split."""
    feedback = tmp_path / "feedback" / "labels.csv"
    _write(
        feedback,
        [
            ("Great recipe, I added extra garlic and it was perfect", 0, "spam"),
            ("Visit http://cheap-meds.example.ru for cheap pills", 1, "spam"),
            ("Earn $500 a day from home, click my profile", 1, "spam"),
            ("Thanks for the tip about the oven temperature", 0, "spam"),
        ],
        header=("text", "label", "task"),
    )
    result = train([seed_set, feedback], Registry(tmp_path / "models"))
    spam = result.metadata["mixtures"]["spam"]
    assert spam["fitted_on"] == "train out-of-fold"
    assert "spam/gate/feedback" in spam["gates"]
    model = load_model(result.path)
    [scores] = model.score([CommentInput("Cheap pills at http://cheap-meds.example.ru today")])
    assert scores.spam > 0.5


def test_a_gate_over_many_rows_is_logistic_and_routes_each_data_set(
    tmp_path: Path, seed_set: Path
) -> None:
    """Past `logistic_gate_min_rows` the gate is a logistic regression over the data sets (its
    columns carry intercepts); the comments of each data set go to that data set's expert."""
    _write_gaming_and_forum(tmp_path / "toxicity", PLAYERS, MAPS, TOPICS)
    config = TrainConfig.default(logistic_gate_min_rows=100)
    result = train([seed_set, tmp_path / "toxicity"], Registry(tmp_path / "models"), config=config)
    model = load_model(result.path)
    columns = model.metadata["columns"]
    gates = model.metadata["mixtures"]["toxicity"]["gates"]
    assert any(model.bias[columns.index(g)] != 0 for g in gates)
    gaming = CommentInput("Ravi respawned on Frostbite and left the lobby after the match")
    forum = CommentInput("The council will vote on the zoning plan after the election")
    [g, f] = model.resemblance([gaming, forum])
    assert next(iter(g["toxicity"])) == "gaming", g
    assert next(iter(f["toxicity"])) == "forum", f
    [g_scores, f_scores] = model.score(
        [
            CommentInput("Lena got the kill on Dust, respawn and gg"),
            CommentInput("Someone should kill Lena over the zoning vote at the council"),
        ]
    )
    assert g_scores.toxicity < 0.5 < f_scores.toxicity, (g_scores.toxicity, f_scores.toxicity)
