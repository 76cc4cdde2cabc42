"""A rubric as stored with its assignment, read back typed, and the score it gives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Criterion:
    key: str
    title_zh: str
    title_en: str
    scale: int
    weight: float


def rubric_of(stored: list[dict[str, Any]] | None) -> list[Criterion]:
    """The assignment's criteria in the order of the programme file (none: no scoring)."""
    return [
        Criterion(
            str(item["key"]),
            str(item["zh"]),
            str(item["en"]),
            int(item["scale"]),
            float(item["weight"]),
        )
        for item in stored or []
    ]


def weighted_score(criteria: list[Criterion], scores: dict[str, int]) -> float | None:
    """The weighted mean of the points, each as a share of its scale, out of 100.

    None until every criterion has its points: a partial score would read as a low one.
    """
    if not criteria or any(c.key not in scores for c in criteria):
        return None
    total = sum(c.weight for c in criteria)
    value = sum(c.weight * scores[c.key] / c.scale for c in criteria) / total * 100
    return round(value, 1)
