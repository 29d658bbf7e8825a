"""Time limits (工作时限) per stage, category and urgency, and the traffic light.

A limit is one of ``{"minutes": n}``, ``{"hours": n}`` (natural time, for emergencies),
``{"work_hours": n}`` or ``{"work_days": n}`` (on the working calendar).  The clock of a
stage starts when the case enters it; the traffic light is green below 80% of the limit,
yellow from 80% to 100%, red when overdue.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dashboard.domain.calendar import WorkingCalendar
from dashboard.domain.lifecycle import Stage

WARN_SHARE = 0.8
UNITS = ("minutes", "hours", "work_hours", "work_days")
URGENCIES = ("normal", "urgent")


@dataclass(frozen=True)
class Limit:
    amount: float
    unit: str

    @classmethod
    def parse(cls, spec: dict) -> "Limit":
        if not isinstance(spec, dict) or len(spec) != 1:
            raise ValueError(f"a time limit is one of {UNITS} with a number, got {spec!r}")
        (unit, amount), = spec.items()
        if unit not in UNITS or not isinstance(amount, (int, float)) or amount <= 0:
            raise ValueError(f"a time limit is one of {UNITS} with a positive number, got {spec!r}")
        return cls(float(amount), unit)

    def end(self, start: datetime, calendar: WorkingCalendar, share: float = 1.0) -> datetime:
        """The instant ``share`` of this limit after ``start``."""
        if self.unit == "minutes":
            return start + timedelta(minutes=self.amount * share)
        if self.unit == "hours":
            return start + timedelta(hours=self.amount * share)
        per_unit = 60 if self.unit == "work_hours" else _minutes_per_day(calendar)
        return calendar.add_working(start, self.amount * per_unit * share)

    def describe(self) -> str:
        return f"{self.amount:g} {self.unit.replace('_', ' ')}"


_PER_DAY: dict[tuple, float] = {}


class WorkingClock:
    """:meth:`WorkingCalendar.add_working` for the deadline of nearly every event.

    The same algorithm, step for step (a test checks they agree), with each day's work
    periods memoised in a plain dict by date: the calendar's own cache hashes the whole
    calendar (holidays included) on every look-up, which made deadlines a tenth of the
    worker's time."""

    def __init__(self, calendar: WorkingCalendar):
        self.calendar = calendar
        self.tz = calendar.tz
        self.per_day = calendar.minutes_per_day
        self._days: dict = {}

    def periods(self, day) -> list:
        found = self._days.get(day)
        if found is None:
            if len(self._days) > 20_000:
                self._days.clear()
            found = self._days[day] = [(datetime.combine(day, a, self.tz), datetime.combine(day, b, self.tz))
                                       for a, b in self.calendar.periods] if self.calendar.is_working_day(day) else []
        return found

    def add(self, start: datetime, minutes: float) -> datetime:
        """The instant ``minutes`` working minutes after ``start`` (in ``start``'s time zone)."""
        out_tz = start.tzinfo
        remaining = timedelta(minutes=minutes)
        for begin, span in self._spans(start.astimezone(self.tz)):
            if remaining <= span:
                return (begin + remaining).astimezone(out_tz)
            remaining -= span

    def add_pair(self, start: datetime, first: float, second: float) -> tuple[datetime, datetime]:
        """``(add(start, first), add(start, second))`` in one walk over the working periods
        (``first <= second``: the warning point and the deadline of one clock) — the same
        steps as :meth:`add`, so the same instants."""
        remaining, rest = timedelta(minutes=first), timedelta(minutes=second)
        if remaining > rest:
            return self.add(start, first), self.add(start, second)
        out_tz = start.tzinfo
        found = None
        for begin, span in self._spans(start.astimezone(self.tz)):
            if found is None:   # both shrink by the same spans: ``remaining`` ends first
                if remaining <= span:
                    found = (begin + remaining).astimezone(out_tz)
                else:
                    remaining -= span
            if rest <= span:
                return found, (begin + rest).astimezone(out_tz)
            rest -= span

    def _spans(self, local: datetime):
        """The working periods from ``local`` on, as (begin, length): the first one cut at
        ``local``; ValueError after ten years without working time."""
        day = local.date()
        one_day = timedelta(days=1)
        for _ in range(3660):
            for begin, end in self.periods(day):
                if end <= local:
                    continue
                if begin < local:
                    begin = local
                yield begin, end - begin
            day += one_day
        raise ValueError("calendar has no working time in the next ten years")

    def ends(self, limit: Limit, start: datetime) -> tuple[datetime, datetime]:
        """(:data:`WARN_SHARE` of ``limit``, all of it) after ``start``: ``(end(limit, start,
        WARN_SHARE), end(limit, start))``, the working time walked once."""
        unit = limit.unit
        if unit == "minutes":
            return start + timedelta(minutes=limit.amount * WARN_SHARE), start + timedelta(minutes=limit.amount * 1.0)
        if unit == "hours":
            return start + timedelta(hours=limit.amount * WARN_SHARE), start + timedelta(hours=limit.amount * 1.0)
        minutes = limit.amount * (60 if unit == "work_hours" else self.per_day)
        return self.add_pair(start, minutes * WARN_SHARE, minutes * 1.0)

    def end(self, limit: Limit, start: datetime, share: float = 1.0) -> datetime:
        """:meth:`Limit.end` on this clock."""
        unit = limit.unit
        if unit == "minutes":
            return start + timedelta(minutes=limit.amount * share)
        if unit == "hours":
            return start + timedelta(hours=limit.amount * share)
        return self.add(start, limit.amount * (60 if unit == "work_hours" else self.per_day) * share)


def _minutes_per_day(calendar: WorkingCalendar) -> float:
    """Working minutes of a working day, memoised by the day's periods (the worker
    computes a deadline for nearly every event)."""
    minutes = _PER_DAY.get(calendar.periods)
    if minutes is None:
        minutes = _PER_DAY[calendar.periods] = calendar.minutes_per_day
    return minutes


class TimeLimits:
    """The time-limit table of a scenario (``time_limits.json``)."""

    def __init__(self, config: dict, calendar: WorkingCalendar):
        self.calendar = calendar
        self.clock = WorkingClock(calendar)
        self._stage: dict[tuple[str, str], Limit] = {}
        self._category: dict[tuple[str, str, str], Limit] = {}
        self._memo: dict[tuple[str, str, str], Limit | None] = {}
        for stage, by_urgency in config.get("stages", {}).items():
            Stage(stage)  # unknown stage names are a configuration error
            for urgency, spec in by_urgency.items():
                self._stage[(stage, urgency)] = Limit.parse(spec)
        for category, by_stage in config.get("categories", {}).items():
            for stage, by_urgency in by_stage.items():
                Stage(stage)
                for urgency, spec in by_urgency.items():
                    self._category[(category, stage, urgency)] = Limit.parse(spec)

    def limit(self, stage: Stage | str, category: str, urgency: str = "normal") -> Limit | None:
        """The limit of ``stage`` for a case of ``category``: category first, then the stage default."""
        key = (stage.value if isinstance(stage, Stage) else stage, category, urgency)
        try:
            return self._memo[key]
        except KeyError:
            pass
        stage = Stage(key[0]).value
        found = None
        for candidate in ((category, stage, urgency), (category, stage, "normal")):
            if candidate in self._category:
                found = self._category[candidate]
                break
        else:
            found = self._stage.get((stage, urgency)) or self._stage.get((stage, "normal"))
        self._memo[key] = found
        return found

    def deadline(self, stage: Stage | str, category: str, urgency: str,
                 entered_at: datetime) -> tuple[datetime | None, datetime | None]:
        """(warn_at, deadline_at) for a case entering ``stage`` at ``entered_at``; None when unlimited."""
        limit = self.limit(stage, category, urgency)
        if limit is None:
            return None, None
        return self.clock.ends(limit, entered_at)


def warn_point(entered_at: datetime, deadline_at: datetime) -> datetime:
    """The 80% point of an explicit deadline (natural time)."""
    return entered_at + (deadline_at - entered_at) * WARN_SHARE


def traffic_light(now: datetime, warn_at: datetime | None, deadline_at: datetime | None) -> str:
    """'green', 'yellow' or 'red' for an open case; 'none' when its stage has no limit."""
    if deadline_at is None:
        return "none"
    if now >= deadline_at:
        return "red"
    if warn_at is not None and now >= warn_at:
        return "yellow"
    return "green"
