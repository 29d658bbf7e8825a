"""Evaluation formulas (综合评价) of DOMAIN.md §4, over plain counts.

Department: composite = 30·closure + 30·on-time + 30·(1 − rework) + volume score, where
closure = closed / due, on-time = handled by deadline / handled, rework = reworks / due.
Grades: A ≥ 90, B 75–90, C 60–75, D 40–60, E < 40.
"""
from __future__ import annotations

from dataclasses import dataclass

GRADES = ((90, "A"), (75, "B"), (60, "C"), (40, "D"))
VOLUME_STEPS = ((50, 10.0), (100, 9.0), (200, 7.5), (500, 6.0), (1000, 4.0))


def grade(score: float) -> str:
    for bound, letter in GRADES:
        if score >= bound:
            return letter
    return "E"


def volume_score(due: int) -> float:
    """Volume score: ≤50 cases → 10, ≤100 → 9, ≤200 → 7.5, ≤500 → 6, ≤1000 → 4, more → 4."""
    for bound, score in VOLUME_STEPS:
        if due <= bound:
            return score
    return VOLUME_STEPS[-1][1]


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class DepartmentScore:
    closure_rate: float | None
    on_time_rate: float | None
    rework_rate: float | None
    volume: float
    composite: float
    grade: str

    @property
    def parts(self) -> tuple[float, float, float, float]:
        """The four addends of the composite: (30·closure, 30·on-time, 30·(1 − rework), volume),
        a rate with no cases counting as perfect — what a page shows beside the score."""
        closure = 1.0 if self.closure_rate is None else self.closure_rate
        on_time = 1.0 if self.on_time_rate is None else self.on_time_rate
        rework = 0.0 if self.rework_rate is None else min(self.rework_rate, 1.0)
        return 30 * closure, 30 * on_time, 30 * (1 - rework), self.volume


def department_score(due: int, closed: int, handled: int, handled_on_time: int,
                     reworks: int) -> DepartmentScore:
    """The department composite of DOMAIN.md §4 (a rate with no cases counts as perfect)."""
    closure = ratio(closed, due)
    on_time = ratio(handled_on_time, handled)
    rework = ratio(reworks, due)
    volume = volume_score(due)
    composite = sum(DepartmentScore(closure, on_time, rework, volume, 0.0, "").parts)
    return DepartmentScore(closure, on_time, rework, volume, round(composite, 1), grade(composite))
