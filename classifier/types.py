"""The values that cross the classifier's boundary."""

from __future__ import annotations

from dataclasses import dataclass, field

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
    """Calibrated probabilities and the terms that pushed each one up most."""

    spam: float
    toxicity: float
    attributes: dict[str, float] = field(default_factory=dict)
    spam_terms: list[str] = field(default_factory=list)
    toxicity_terms: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, float]:
        return {"spam": self.spam, "toxicity": self.toxicity, **self.attributes}
