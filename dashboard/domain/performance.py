"""Evaluation of people and places (DOMAIN.md §4), over plain counts: grid inspectors,
dispatchers, shifts, and the regional figures' vocabulary.

What the reporting data holds decides what can be measured; where a §4 indicator needs a
fact the event stream does not carry, the rate is ``None`` and the composite is computed
over the indicators that *are* measured, with their weights rescaled to 100
(:func:`composite`).  The pages and the README say which ones are missing and why:

- inspector 按时核实率 (on-time *check* of a public report before filing): no event records
  an inspector's check — filing is done by the supervision centre;
- shift 准确立案率 (filed − voided) / filed: the lifecycle has no "void" (作废) event.
"""
from __future__ import annotations

from dataclasses import dataclass

from .indicators import grade, ratio

#: Sources that are "the public" (§1, §7): hotline 12345, the citizens' app, phone calls.
#: Cameras, other systems (``api``) and imports are neither the public nor an inspector.
PUBLIC_SOURCES = ("hotline12345", "app", "phone")
HOTLINE = "hotline12345"
INSPECTOR_SOURCE = "inspector"

#: The command centre's three 8-hour shifts (local time, minutes after midnight): the
#: centre works round the clock and the simulator staffs it the same way (two people per
#: shift).  An act is attributed to the shift during which its clock *started* — the shift
#: that received the report (filing) or the verified case (closing).
SHIFTS = (("day", 8 * 60, 16 * 60), ("evening", 16 * 60, 24 * 60), ("night", 0, 8 * 60))
SHIFT_NAMES = tuple(name for name, _, _ in SHIFTS)

#: The stage whose clock an act stops (the act ends the time spent in that stage).
ACT_STAGE = {"filed": "reported", "rejected": "reported", "dispatched": "filed",
             "verified": "handled", "rework": "handled", "closed": "verified"}

#: §4 weights (in points of 100).
INSPECTOR_WEIGHTS = {"valid": 40, "not_missed": 20, "on_time_check": 20, "on_time_verification": 20}
DISPATCHER_WEIGHTS = {"volume": 20, "on_time": 40, "accurate": 40}
SHIFT_WEIGHTS = {"on_time_filing": 25, "accurate_filing": 40, "on_time_closing": 35}


def shift_of(minute_of_day: float) -> str:
    """The shift covering a local time given as minutes after midnight."""
    for name, start, end in SHIFTS:
        if start <= minute_of_day < end:
            return name
    raise ValueError(f"minute of day {minute_of_day} is outside 0–1440")


def composite(parts: dict[str, float | None], weights: dict[str, float]) -> float | None:
    """Σ weight·value over the measured parts (value None = not measured), rescaled to 100.

    ``None`` when nothing is measured.  Each value is a share in [0, 1]."""
    measured = {k: v for k, v in parts.items() if v is not None}
    total = sum(weights[k] for k in measured)
    if not total:
        return None
    return round(100 * sum(weights[k] * min(max(v, 0.0), 1.0) for k, v in measured.items()) / total, 1)


@dataclass(frozen=True)
class Score:
    """A composite (0–100, None when nothing is measured) and its grade letter."""

    composite: float | None
    grade: str | None

    @classmethod
    def of(cls, parts: dict, weights: dict) -> "Score":
        value = composite(parts, weights)
        return cls(value, None if value is None else grade(value))


@dataclass(frozen=True)
class InspectorFigures:
    """One grid inspector over a period.

    reports: cases the inspector reported; filed/rejected: how the centre decided them;
    grid_filed: cases filed in the inspector's grids (any source); grid_public: those first
    reported by the public; verifications: verification visits (pass or rework) the
    inspector made, on_time_verifications: within the verification time limit."""

    reports: int
    filed: int
    rejected: int
    grid_filed: int
    grid_public: int
    verifications: int
    on_time_verifications: int

    @property
    def valid_rate(self) -> float | None:
        """有效上报率 = filed / decided (reports still waiting for a decision are left out)."""
        return ratio(self.filed, self.filed + self.rejected)

    @property
    def missed_rate(self) -> float | None:
        """漏报率 = cases first reported by the public in the inspector's grids / cases filed there."""
        return ratio(self.grid_public, self.grid_filed)

    @property
    def on_time_verification_rate(self) -> float | None:
        """按时核查率 = verification visits within the limit / verification visits."""
        return ratio(self.on_time_verifications, self.verifications)

    @property
    def score(self) -> Score:
        missed = self.missed_rate
        return Score.of({"valid": self.valid_rate, "not_missed": None if missed is None else 1 - missed,
                         "on_time_check": None,   # not in the data (see the module docstring)
                         "on_time_verification": self.on_time_verification_rate}, INSPECTOR_WEIGHTS)


@dataclass(frozen=True)
class DispatcherFigures:
    """One dispatcher (the actor of ``dispatched`` events) over a period."""

    dispatches: int
    on_time: int
    returned: int

    @property
    def on_time_rate(self) -> float | None:
        """按时派遣率 = dispatches within the filed-stage limit / dispatches."""
        return ratio(self.on_time, self.dispatches)

    @property
    def accurate_rate(self) -> float | None:
        """准确派遣率 = (dispatches − those returned by the department) / dispatches."""
        return ratio(self.dispatches - self.returned, self.dispatches)

    def score(self, busiest: int) -> Score:
        """Volume is the share of the busiest dispatcher's count in the same period."""
        volume = ratio(self.dispatches, busiest) if busiest else None
        return Score.of({"volume": volume, "on_time": self.on_time_rate, "accurate": self.accurate_rate},
                        DISPATCHER_WEIGHTS)


@dataclass(frozen=True)
class ShiftFigures:
    """One shift (all its days in the period)."""

    filings: int
    on_time_filings: int
    closings: int
    on_time_closings: int

    @property
    def on_time_filing_rate(self) -> float | None:
        """按时立案率 = filing decisions (filed or rejected) within the reported-stage limit / decisions."""
        return ratio(self.on_time_filings, self.filings)

    @property
    def accurate_filing_rate(self) -> float | None:
        """准确立案率 needs voided cases, which the lifecycle does not record: not measured."""
        return None

    @property
    def on_time_closing_rate(self) -> float | None:
        """按时结案率 = closings within the verified-stage limit / closings."""
        return ratio(self.on_time_closings, self.closings)

    @property
    def score(self) -> Score:
        return Score.of({"on_time_filing": self.on_time_filing_rate, "accurate_filing": self.accurate_filing_rate,
                         "on_time_closing": self.on_time_closing_rate}, SHIFT_WEIGHTS)


__all__ = ["PUBLIC_SOURCES", "HOTLINE", "SHIFTS", "SHIFT_NAMES", "ACT_STAGE", "shift_of", "composite", "Score",
           "InspectorFigures", "DispatcherFigures", "ShiftFigures"]
