"""Spam and toxicity scoring for comments: a plain library with a small public API."""

from .data import default_training_paths
from .evaluation import evaluate
from .model import Model, ModelLoadError, load_model
from .registry import ActiveModel, Registry, RegistryError
from .text import normalize_text, squash_text
from .thresholds import tradeoff
from .training import TrainResult, train
from .types import CommentInput, Scores

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
