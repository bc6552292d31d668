import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from classifier import Registry
from classifier.cli import evaluate_command, models, score_command, train_command


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def labeled(tmp_path: Path) -> Path:
    path = tmp_path / "labeled.csv"
    path.write_text(
        "text,label\n"
        '"Cheap viagra, buy now http://bit.ly/abc",1\n'
        '"Best casino bonus, 200 free spins at https://casino-bonus-2024.top",1\n'
        '"I disagree with the post about the Pentagon budget.",0\n'
        '"Thanks for the sources, very helpful.",0\n',
        encoding="utf-8",
    )
    return path


def test_evaluate_json(
    runner: CliRunner, settings, registry: Registry, version: str, labeled, tmp_path
) -> None:
    registry.promote(version)
    args = ["--task", "spam", "--data", str(labeled), "--json", "--report", str(tmp_path / "rep")]
    result = runner.invoke(evaluate_command, args, obj=settings)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    for key in (
        "task",
        "model_version",
        "n",
        "roc_auc",
        "average_precision",
        "f1",
        "precision",
        "recall",
    ):
        assert key in payload
    assert payload["model_version"] == version and payload["n"] == 4
    for name in ("report.md", "roc.png", "precision_recall.png", "confusion_matrix.png"):
        assert (tmp_path / "rep" / name).is_file()


def test_evaluate_without_active_model_fails_clearly(runner: CliRunner, settings, labeled) -> None:
    result = runner.invoke(
        evaluate_command, ["--task", "spam", "--data", str(labeled)], obj=settings
    )
    assert result.exit_code == 1
    assert "no active model" in result.output


def test_train_json_activate_and_models(
    runner: CliRunner, settings, version: str, seed_set: Path
) -> None:
    runner.invoke(models, ["promote", version], obj=settings)
    result = runner.invoke(
        train_command, ["--data", str(seed_set), "--activate", "--json"], obj=settings
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["activated"] and set(payload["dev_metrics"]) == {"spam", "toxicity"}
    listed = json.loads(runner.invoke(models, ["list", "--json"], obj=settings).stdout)
    assert listed["active"] == payload["version"]
    assert len(listed["versions"]) == 2
    shown = json.loads(runner.invoke(models, ["show", version, "--json"], obj=settings).stdout)
    assert shown["version"] == version and shown["active"] is False
    assert "previous" in payload and payload["previous"]["version"] == version
    back = json.loads(runner.invoke(models, ["rollback", "--json"], obj=settings).stdout)
    assert back == {"active": version, "previous": payload["version"]}


def test_promote_and_score(runner: CliRunner, settings, version: str) -> None:
    result = runner.invoke(models, ["promote", version, "--json"], obj=settings)
    assert json.loads(result.stdout) == {"active": version, "previous": None}
    result = runner.invoke(score_command, ["Shut up, you idiot", "--json"], obj=settings)
    payload = json.loads(result.stdout)
    assert payload["model_version"] == version
    assert {"spam", "toxicity"} <= set(payload["scores"])
    assert payload["toxicity_terms"]
    # The seed model has one data set per task: every comment is wholly like it, or (spam) like
    # the fine comments spam borrows from the toxicity set.
    assert payload["resembles"]["toxicity"] == {"seed": 1.0}
    assert set(payload["resembles"]["spam"]) == {"seed", "borrowed"}
    assert sum(payload["resembles"]["spam"].values()) == pytest.approx(1.0, abs=1e-3)


def test_rollback_with_no_history_fails(runner: CliRunner, settings) -> None:
    result = runner.invoke(models, ["rollback"], obj=settings)
    assert result.exit_code == 1 and "roll back" in result.output


def test_training_on_too_few_labels_says_what_is_missing(
    runner: CliRunner, settings, tmp_path: Path
) -> None:
    tiny = tmp_path / "tiny.csv"
    tiny.write_text(
        "text,label,task\nbuy pills now,1,spam\nnice post,0,spam\n"
        "you idiot,1,toxicity\ngood point,0,toxicity\n",
        encoding="utf-8",
    )
    result = runner.invoke(train_command, ["--data", str(tiny), "--no-project-data"], obj=settings)
    assert result.exit_code != 0
    assert "too few labeled comments to calibrate" in result.output
    assert "Traceback" not in result.output


def test_models_list_never_cuts_a_version_at_80_columns(
    runner: CliRunner, settings, registry: Registry, version: str
) -> None:
    """A version is pasted into `promote` and `show`: the table prints it whole."""
    registry.promote(version)
    result = runner.invoke(models, ["list"], obj=settings, terminal_width=80)
    assert result.exit_code == 0, result.output
    assert version in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    shown = runner.invoke(models, ["show", version, "--json"], obj=settings)
    assert json.loads(shown.stdout)["version"] == version
