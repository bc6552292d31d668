"""Click commands that drive the classifier: train, evaluate, models, score.

The top-level `commentgate` group attaches them; `ctx.obj` carries `model_dir` (the registry
folder) and `training_data` (the default training folder).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import click
from rich import box
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from .config import TrainConfig
from .data import default_training_paths
from .model import Model, ModelLoadError, load_model
from .registry import Registry, RegistryError
from .shipped import SHIPPED_MODEL, export_folder, shipped_version
from .types import CommentInput

if TYPE_CHECKING:
    from .training import TrainResult

__all__ = ["train_command", "evaluate_command", "models", "score_command"]

_err = Console(stderr=True)


class Folders(Protocol):
    """What the commands read of `ctx.obj`."""

    @property
    def model_dir(self) -> str | Path: ...

    @property
    def training_data(self) -> str | Path: ...


def _out(as_json: bool) -> Console:
    return Console(stderr=as_json)


def _registry(obj: Folders) -> Registry:
    return Registry(Path(obj.model_dir))


def _emit(payload: Mapping[str, Any]) -> None:
    click.echo(json.dumps(payload, indent=2, default=str))


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


def _compare_active(registry: Registry, result: TrainResult) -> dict[str, Any]:
    """Dev metrics of the currently active model on the new model's dev splits."""
    try:
        active = registry.load_active()
    except ModelLoadError:
        return {}
    from .evaluation import task_probabilities
    from .metrics import binary_metrics

    metrics: dict[str, Any] = {"version": active.version, "dev_metrics": {}}
    for ds in result.datasets:
        if not ds.dev or len({label for _, label in ds.dev}) < 2:
            continue
        probs = task_probabilities(active, ds.task, [c for c, _ in ds.dev])
        labels = [label for _, label in ds.dev]
        metrics["dev_metrics"].setdefault(ds.task, {})[ds.name] = binary_metrics(labels, probs)
    return metrics


def _metrics_table(result: TrainResult, previous: Mapping[str, Any]) -> Table:
    old_version = previous.get("version")
    table = Table(title=f"dev metrics of {result.version}")
    for column in ("task", "data set", "n", "ROC AUC", "AP", "F1@0.5"):
        table.add_column(column, justify="left" if column in ("task", "data set") else "right")
    if old_version:
        table.add_column(f"ROC AUC {old_version}", justify="right")
        table.add_column("Δ", justify="right")
    for task, per_set in result.dev_metrics.items():
        for name, m in per_set.items():
            row = [
                task,
                name,
                str(m["n"]),
                str(m["roc_auc"]),
                str(m["average_precision"]),
                str(m["f1"]),
            ]
            if old_version:
                old = previous["dev_metrics"].get(task, {}).get(name, {}).get("roc_auc")
                delta = (
                    f"{m['roc_auc'] - old:+.4f}"
                    if old is not None and m["roc_auc"] is not None
                    else ""
                )
                row += [str(old if old is not None else "–"), delta]
            table.add_row(*row)
    return table


@click.command("train")
@click.option(
    "--data",
    "data",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="CSV/JSONL file or folder (recursive); repeatable. Without it, the active model is "
    "built on with the labels in the training_data folder.",
)
@click.option(
    "--project-data/--no-project-data",
    default=True,
    show_default=True,
    help="Also learn from the project's training_data folder (seed set and moderators' labels).",
)
@click.option("--activate", is_flag=True, help="Make the new version the active model.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write the model folder here (replacing it) instead of registering it.",
)
@click.option("--seed", default=0, show_default=True, help="Random seed for splits and solvers.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.pass_obj
def train_command(
    obj: Folders,
    data: tuple[Path, ...],
    project_data: bool,
    activate: bool,
    out: Path | None,
    seed: int,
    as_json: bool,
) -> None:
    """Train spam and toxicity models and register a new version.

    With --data: a full training run. `*_train.csv` files train and matching `*_dev.csv` files
    measure; other files train with a 15% stratified hold-out. Without --data: the active model
    (or the shipped one) is corrected with the labels in training_data, which takes seconds and
    needs none of the public corpora. The table compares the new model with the active one.
    """
    if out is not None and activate:
        raise click.UsageError("--out writes a folder outside the registry: it cannot --activate")
    from .training import train  # scikit-learn loads only for the commands that need it
    from .tuning import tune

    registry = _registry(obj)
    paths = list(data)
    if project_data or not paths:
        known = {p.resolve() for p in paths}
        extra = default_training_paths(Path(obj.training_data))
        paths += [p for p in extra if p.resolve() not in known]
    if not paths:
        raise click.UsageError(
            f"no training data: {obj.training_data} does not exist; pass --data PATH"
        )
    scratch = tempfile.TemporaryDirectory(prefix="commentgate-train-") if out else None
    target = Registry(scratch.name) if scratch else registry
    config = TrainConfig.default(seed=seed)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=_err, transient=True) as bar:
        step = bar.add_task("starting", total=None)
        report = lambda d, *_: bar.update(step, description=d)  # noqa: E731
        try:
            if data:
                result = train(paths, target, config=config, progress=report)
            else:
                base = base_model(registry)
                result = tune(base, paths, target, config=config, progress=report)
        except (ValueError, OSError, ModelLoadError) as exc:
            raise _fail(exc) from exc
        bar.update(step, description="comparing with the active model")
        previous = _compare_active(registry, result)
    if result.version is None or result.path is None:
        raise click.ClickException("the trained model was not registered: no version to report")
    if scratch is not None and out is not None:
        result.path = export_folder(result.path, out)
        scratch.cleanup()
    if activate:
        registry.promote(result.version)
    if as_json:
        _emit(
            {
                "version": result.version,
                "path": str(result.path),
                "activated": activate,
                "base_model": result.metadata.get("base_model"),
                "seconds": round(result.seconds, 1),
                "dev_metrics": result.dev_metrics,
                "thresholds": result.metadata["thresholds"],
                "previous": previous or None,
            }
        )
        return
    console = _out(False)
    console.print(_metrics_table(result, previous))
    console.print(f"thresholds: {json.dumps(result.metadata['thresholds'])}")
    if out is not None:
        console.print(f"wrote {result.version} to {out} in {result.seconds:.1f} s")
        return
    state = "active" if activate else f"not active; `commentgate models promote {result.version}`"
    console.print(f"registered {result.version} in {result.seconds:.1f} s ({state})")


def base_model(registry: Registry) -> Model:
    """What `train` without --data builds on: the base of the active model when it was itself
    built on one (labels are never counted twice), else the active model, else the shipped one."""
    active = registry.active_version()
    if active is None:
        return load_model(SHIPPED_MODEL)
    base = registry.show(active).get("base_model")
    if base and (registry.path(base) / "metadata.json").is_file():
        return registry.load(base)
    if base and shipped_version() == base:
        return load_model(SHIPPED_MODEL)
    return registry.load(active)


@click.command("evaluate")
@click.option(
    "--task", type=click.Choice(["spam", "toxicity"]), required=True, help="Which score to measure."
)
@click.option(
    "--data",
    "data",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV or JSONL with at least text,label.",
)
@click.option("--model", "version", default=None, help="Model version (default: the active one).")
@click.option(
    "--report",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for report.md with ROC, precision-recall and confusion-matrix plots.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.pass_obj
def evaluate_command(
    obj: Folders, task: str, data: Path, version: str | None, report: Path | None, as_json: bool
) -> None:
    """Measure a model on labeled data: ROC AUC, average precision, precision, recall, F1."""
    from .evaluation import evaluate, read_labeled, task_probabilities

    try:
        model = _registry(obj).load(version)
        comments, labels = read_labeled(data)
    except (ModelLoadError, RegistryError, ValueError) as exc:
        raise _fail(exc) from exc
    result = evaluate(model, task, comments, labels)
    if report is not None:
        from .report import write_report

        probs = task_probabilities(model, task, comments)
        result["report"] = str(write_report(report, result, labels, probs, data.name))
    if as_json:
        _emit(result)
        return
    table = Table(title=f"{task} on {data.name} — model {model.version}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in (
        "n",
        "positives",
        "roc_auc",
        "average_precision",
        "precision",
        "recall",
        "f1",
        "threshold",
    ):
        table.add_row(key, str(result[key]))
    _out(False).print(table)
    if report is not None:
        _out(False).print(f"report: {result['report']}")


@click.group("models")
def models() -> None:
    """The model registry: list, show, promote and roll back versions."""


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.pass_obj
def list_command(obj: Folders, as_json: bool) -> None:
    """Every registered version, oldest first; the active one is marked."""
    registry = _registry(obj)
    versions = registry.versions()
    if as_json:
        _emit({"active": registry.active_version(), "versions": versions})
        return
    names = [v["version"] for v in versions]
    table = Table(
        title=f"models in {registry.root}",
        caption="thresholds: approve below / reject at",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("", no_wrap=True, min_width=1)
    # A version is pasted into other commands: never cut it.
    table.add_column("version", no_wrap=True, min_width=max([7, *map(len, names)]))
    table.add_column("created", no_wrap=True)
    table.add_column("sets", justify="right", no_wrap=True)
    table.add_column("spam", no_wrap=True)
    table.add_column("toxicity", no_wrap=True)
    for v in versions:
        limits = v["thresholds"] or {}
        table.add_row(
            "*" if v["active"] else "",
            v["version"],
            (v["created"] or "")[:10],
            str(v["datasets"]),
            *(_limits(limits.get(task)) for task in ("spam", "toxicity")),
        )
    _out(False).print(table)


def _limits(task: Mapping[str, float] | None) -> str:
    if not task:
        return "–"
    return f"{task['approve_below']:.3f} / {task['reject_at']:.3f}"


@models.command("show")
@click.argument("version")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.pass_obj
def show_command(obj: Folders, version: str, as_json: bool) -> None:
    """Everything recorded about VERSION: data, metrics, thresholds, hashes."""
    registry = _registry(obj)
    try:
        metadata = registry.show(version)
    except RegistryError as exc:
        raise _fail(exc) from exc
    metadata["active"] = registry.active_version() == version
    if as_json:
        _emit(metadata)
    else:
        _out(False).print_json(data=metadata)


@models.command("card")
@click.argument("version", required=False)
@click.option("--shipped", is_flag=True, help="The model shipped with the package.")
@click.pass_obj
def card_command(obj: Folders, version: str | None, shipped: bool) -> None:
    """The model card of VERSION (default: the active one) in Markdown: data and licences,
    dev metrics, thresholds and the decisions they make, intended use and known limits."""
    from .card import model_card
    from .corpora import CORPORA

    try:
        if shipped:
            metadata = load_model(SHIPPED_MODEL).metadata
        else:
            metadata = _registry(obj).show(version or _registry(obj).active_version() or "")
    except (ModelLoadError, RegistryError) as exc:
        raise _fail(exc) from exc
    provenance = {c.name: {"source": c.provenance, "licence": c.licence} for c in CORPORA}
    click.echo(model_card(metadata, provenance))


@models.command("promote")
@click.argument("version")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.pass_obj
def promote_command(obj: Folders, version: str, as_json: bool) -> None:
    """Make VERSION the active model (workers pick it up within seconds)."""
    registry = _registry(obj)
    previous = registry.active_version()
    try:
        registry.promote(version)
    except (ModelLoadError, RegistryError) as exc:
        raise _fail(exc) from exc
    if as_json:
        _emit({"active": version, "previous": previous})
    else:
        _out(False).print(f"active: {version} (was {previous})")


@models.command("rollback")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.pass_obj
def rollback_command(obj: Folders, as_json: bool) -> None:
    """Re-activate the previously active version."""
    registry = _registry(obj)
    previous = registry.active_version()
    try:
        version = registry.rollback()
    except RegistryError as exc:
        raise _fail(exc) from exc
    if as_json:
        _emit({"active": version, "previous": previous})
    else:
        _out(False).print(f"active: {version} (was {previous})")


@click.command("score")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.pass_obj
def score_command(obj: Folders, text: str, as_json: bool) -> None:
    """Score TEXT with the active model."""
    try:
        model = _registry(obj).load_active()
    except ModelLoadError as exc:
        raise _fail(exc) from exc
    comment = CommentInput(text)
    scores = model.score([comment])[0]
    payload: dict[str, Any] = {
        "model_version": model.version,
        "scores": {k: round(v, 6) for k, v in scores.as_dict().items()},
        "spam_terms": scores.spam_terms,
        "toxicity_terms": scores.toxicity_terms,
        "resembles": model.resemblance([comment])[0],
        "thresholds": model.thresholds,
    }
    if as_json:
        _emit(payload)
        return
    table = Table(title=f"model {model.version}")
    for column in ("score", "value", "terms", "most like"):
        table.add_column(column)
    terms = {"spam": scores.spam_terms, "toxicity": scores.toxicity_terms}
    for name, value in payload["scores"].items():
        like = payload["resembles"].get(name, {})
        table.add_row(
            name,
            f"{value:.4f}",
            ", ".join(terms.get(name, [])),
            ", ".join(f"{data_set} {weight:.2f}" for data_set, weight in like.items()),
        )
    _out(False).print(table)
