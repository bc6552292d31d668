"""Spam and toxicity scoring for comments: a plain library with a small public API.

Scoring needs numpy alone; training and evaluation need scikit-learn, whose import costs about a
second. The API, the worker and most commands only score, so those names load on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .data import default_training_paths
from .model import Model, ModelLoadError, load_model
from .registry import ActiveModel, Registry, RegistryError
from .text import normalize_text, squash_text
from .thresholds import tradeoff
from .types import CommentInput, Scores

if TYPE_CHECKING:
    from .evaluation import evaluate
    from .training import TrainResult, train

_LAZY = {"evaluate": ".evaluation", "TrainResult": ".training", "train": ".training"}

__all__ = [
    "ActiveModel",
    "CommentInput",
    "Model",
    "ModelLoadError",
    "Registry",
    "RegistryError",
    "Scores",
    "TrainResult",
    "default_training_paths",
    "evaluate",
    "load_model",
    "normalize_text",
    "squash_text",
    "tradeoff",
    "train",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
