"""The values that cross the classifier's boundary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

__all__ = ["CommentInput", "Scores"]


@dataclass(frozen=True)
class CommentInput:
    """What is scored: the comment's text plus the optional author metadata."""

    content: str
    author_name: str | None = None
    author_email: str | None = None
    author_url: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class Scores:
    """Calibrated probabilities and the terms that pushed each one up most.

    The terms cost as much as the scores to find, and most comments are approved without
    anyone reading them, so a model hands over ``explain`` and the terms are worked out on
    first use (once)."""

    spam: float
    toxicity: float
    attributes: dict[str, float] = field(default_factory=dict)
    explain: Callable[[], tuple[list[str], list[str]]] | None = field(
        default=None, repr=False, compare=False
    )

    @cached_property
    def _terms(self) -> tuple[list[str], list[str]]:
        return self.explain() if self.explain is not None else ([], [])

    @property
    def spam_terms(self) -> list[str]:
        return self._terms[0]

    @property
    def toxicity_terms(self) -> list[str]:
        return self._terms[1]

    def as_dict(self) -> dict[str, float]:
        return {"spam": self.spam, "toxicity": self.toxicity, **self.attributes}
