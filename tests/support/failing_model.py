"""A model with a bug for one input: it raises for any batch holding that text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class FailsOn:
    """Wraps a model; a batch holding ``poison`` raises, as a model bug for one input would."""

    def __init__(self, poison: str, model: Any) -> None:
        self.poison = poison
        self.model = model

    def __getattr__(self, name: str) -> Any:  # version, thresholds, outputs, metadata
        return getattr(self.model, name)

    def score(self, comments: Sequence[Any]) -> list[Any]:
        if any(c.content == self.poison for c in comments):
            raise ValueError("the model cannot score this text")
        return self.model.score(comments)


def serve_failing(app: Any, poison: str) -> FailsOn:
    """Make the app's API process score with its active model, given a bug for ``poison``."""
    state = app.extensions["commentgate"]
    model = FailsOn(poison, state.model())
    state._model = Serving(model)
    return model


class Serving:
    """Stands where the app keeps its active model (``ActiveModel``), always giving ``model``."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def get(self) -> Any:
        return self.model
