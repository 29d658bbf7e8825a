"""The working calendar (工作日历): work hours, weekends, public holidays and the make-up
working days (调休) of China's holiday calendar.

Time limits in the field are counted in natural minutes for emergencies and in working
hours / working days otherwise; :class:`WorkingCalendar` turns "4 working hours from now"
into an instant.  All instants are timezone-aware.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


def _parse_hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class WorkingCalendar:
    """Work periods of a working day, the weekend, holidays and make-up working days."""

    timezone: str = "Asia/Shanghai"
    periods: tuple[tuple[time, time], ...] = ((time(8, 30), time(12, 0)), (time(13, 0), time(17, 30)))
    weekend: frozenset[int] = frozenset({5, 6})          # Monday = 0
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)  # 调休: weekend days worked

    @classmethod
    def from_config(cls, config: dict) -> "WorkingCalendar":
        """Build from the scenario's ``calendar.json`` (see README, "Scenario files")."""
        periods = tuple((_parse_hhmm(a), _parse_hhmm(b)) for a, b in config.get("work_periods", []))
        for start, end in periods:
            if not start < end:
                raise ValueError(f"calendar: work period {start}–{end} ends before it starts")
        return cls(
            timezone=config.get("timezone", "Asia/Shanghai"),
            periods=periods or cls.periods,
            weekend=frozenset(config.get("weekend", [5, 6])),
            holidays=frozenset(date.fromisoformat(d) for d in config.get("holidays", [])),
            workdays=frozenset(date.fromisoformat(d) for d in config.get("workdays", [])),
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() not in self.weekend

    @property
    def minutes_per_day(self) -> float:
        return sum((_minutes(b) - _minutes(a)) for a, b in self.periods)

    def _day_periods(self, day: date) -> list[tuple[datetime, datetime]]:
        return _periods_of(self, day)

    def add_working(self, start: datetime, minutes: float) -> datetime:
        """The instant ``minutes`` working minutes after ``start``."""
        if start.tzinfo is None:
            raise ValueError("add_working needs a timezone-aware datetime")
        out_tz = start.tzinfo
        local = start.astimezone(self.tz)
        remaining = timedelta(minutes=minutes)
        day = local.date()
        for _ in range(3660):  # ten years of days: a calendar with no working day is an error
            for begin, end in self._day_periods(day):
                if end <= local:
                    continue
                begin = max(begin, local)
                span = end - begin
                if remaining <= span:
                    return (begin + remaining).astimezone(out_tz)
                remaining -= span
            day += timedelta(days=1)
        raise ValueError("calendar has no working time in the next ten years")

    def working_minutes_between(self, start: datetime, end: datetime) -> float:
        """Working minutes in [start, end) (0 when end <= start)."""
        if end <= start:
            return 0.0
        a, b = start.astimezone(self.tz), end.astimezone(self.tz)
        total = timedelta()
        day = a.date()
        while day <= b.date():
            for begin, stop in self._day_periods(day):
                lo, hi = max(begin, a), min(stop, b)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total.total_seconds() / 60


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


@lru_cache(maxsize=8192)
def _periods_of(calendar: WorkingCalendar, day: date) -> list[tuple[datetime, datetime]]:
    """Working periods of one day as aware datetimes (cached: deadlines are computed often)."""
    if not calendar.is_working_day(day):
        return []
    tz = calendar.tz
    return [(datetime.combine(day, a, tz), datetime.combine(day, b, tz)) for a, b in calendar.periods]
