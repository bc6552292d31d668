"""How a model is trained: every hyperparameter in one object, recorded in the model's metadata.

Rules that concern one data set (how much its rows weigh in the mixer, whether it gets a naive
Bayes head, which Perspective-like attributes its head defines) are keyed by data set name in a
manifest (`datasets.json` beside this module, or a file of the operator's), never in code.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .features import FeatureConfig

__all__ = ["BORROWED_GATE", "DatasetRule", "TrainConfig", "DEFAULT_MANIFEST", "read_manifest"]

DEFAULT_MANIFEST = Path(__file__).with_name("datasets.json")
# The gate's data set name for the comments a task borrows from the other task's data sets.
BORROWED_GATE = "borrowed"


@dataclass(frozen=True)
class DatasetRule:
    """What one data set does differently from the rest."""

    mix_weight: float = 1.0
    nb_head: bool = False
    attributes: tuple[str, ...] = ()


def read_manifest(path: str | Path) -> dict[str, DatasetRule]:
    """Data set rules from a JSON object `{name: {mix_weight, nb_head, attributes}}`; keys that
    start with `_` are comments."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    rules = {}
    for name, entry in raw.items():
        if name.startswith("_"):
            continue
        known = {k: v for k, v in entry.items() if not k.startswith("_")}
        try:
            rule = DatasetRule(**known)
        except TypeError as exc:
            raise ValueError(f"{path}: data set {name!r}: {exc}") from exc
        rules[name] = replace(rule, attributes=tuple(rule.attributes))
    return rules


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of `classifier.train`; the values are where cross-validation left them
    (`bench/README.md` has the figures)."""

    features: FeatureConfig = field(default_factory=FeatureConfig)
    seed: int = 0
    # Heads: one pooled head and one per data set of at least `min_head_rows` rows.
    head_c: float = 4.0
    own_head_c: dict[str, float] = field(default_factory=lambda: {"spam": 16.0})
    # Per task, feature blocks ("words", "characters", "metadata") weighed apart in its heads
    # and gate: a lighter L2 penalty on a heavier block. The saved weights carry the scale, so
    # scoring is unchanged.
    block_scale: dict[str, dict[str, float]] = field(default_factory=dict)
    nb_tasks: tuple[str, ...] = ("spam",)
    # Per task, legitimate comments borrowed from each of the other task's data sets (train
    # rows): the pooled head learns them as fine, together weighing `borrow_share` of the
    # task's own rows. Spam learns that the tweets and forum posts the toxicity labels call
    # fine are no spam either.
    borrow_legit: dict[str, int] = field(default_factory=lambda: {"spam": 1000})
    borrow_share: float = 0.5
    # The mixer sees them too (out of fold), weighing `borrow_mix` of its rows: it learns how
    # far to trust each data set's own head on comments written elsewhere.
    borrow_mix: float = 0.05
    # ... and form a data set of the gate of their own, so that what the mixer learns from
    # them applies to comments that look written elsewhere, not to the task's own data sets.
    borrow_gate: bool = True
    # ... and a head of their own, learning them against every data set's bad comments: the
    # mixer leans on it for comments that read as written elsewhere (a news link in a forum
    # post), where the data sets' own heads read any link as a drop.
    borrow_head: bool = True
    min_head_rows: int = 40
    # The gate over data sets: naive Bayes, or logistic given `logistic_gate_min_rows` rows.
    logistic_gate_min_rows: int = 20_000
    logistic_gate_c: float = 1.0
    gate_alpha: float = 0.1
    gate_temperature: float = 10.0
    gate_min_rows: int = 2
    # The mixer: fitted on out-of-fold train logits up to `oof_max_rows` rows, else on dev.
    mix_c: float = 0.1
    oof_max_rows: int = 20_000
    oof_folds: int = 5
    calibrate_c: float = 1.0
    # The saved model: features seen in fewer training comments carry no weight.
    min_feature_rows: int = 2
    # Default thresholds: on every data set, at least `approve_legit` of the legitimate
    # comments score below `approve_below` and at most `reject_legit` at or above `reject_at`.
    approve_legit: float = 0.95
    reject_legit: float = 0.002
    threshold_min_rows: int = 50
    # Building on an existing model with a site's own labels (`train(..., base=model)`).
    tune_c: float = 2.0
    datasets: dict[str, DatasetRule] = field(default_factory=dict)

    @classmethod
    def default(cls, manifest: str | Path | None = DEFAULT_MANIFEST, **changes: Any) -> TrainConfig:
        """The shipped settings, with the data set rules of `manifest`."""
        rules = read_manifest(manifest) if manifest is not None else {}
        return cls(datasets=rules, **changes)

    def rule(self, dataset: str) -> DatasetRule:
        return self.datasets.get(dataset, DatasetRule())

    def attribute_sets(self) -> dict[str, list[str]]:
        """Attribute name -> the data sets whose heads define it."""
        found: dict[str, list[str]] = {}
        for name, rule in self.datasets.items():
            for attribute in rule.attributes:
                found.setdefault(attribute, []).append(name)
        return found

    def as_metadata(self) -> dict[str, Any]:
        return asdict(self)
