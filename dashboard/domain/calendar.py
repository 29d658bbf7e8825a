"""The working calendar (工作日历): work hours, weekends, public holidays and the make-up
working days (调休) of China's holiday calendar.

Time limits in the field are counted in natural minutes for emergencies and in working
hours / working days otherwise; :class:`WorkingCalendar` turns "4 working hours from now"
into an instant.  All instants are timezone-aware.

The holidays themselves come from outside the domain (the State Council's yearly notice,
read by ``datasource.store.holiday_source`` from the ``holidays`` package) as a
:class:`HolidayData`; the scenario's ``calendar.json`` only holds local adjustments on top
(see README, "Scenario files").  This module imports the standard library only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

#: Keys ``calendar.json`` may hold (besides "_comment"-style keys starting with "_").
#: ``country``/``subdivision`` name the holidays package's calendar (read by the data layer; default CN).
CONFIG_KEYS = frozenset({"timezone", "work_periods", "weekend", "extra_holidays", "extra_workdays",
                         "not_holidays", "confirmed_years", "country", "subdivision"})


def _parse_hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _dates(config: dict, key: str) -> frozenset[date]:
    out = set()
    for text in config.get(key, []):
        try:
            out.add(date.fromisoformat(text))
        except (TypeError, ValueError):
            raise ValueError(f"{key}: {text!r} is not a date (YYYY-MM-DD)") from None
    return frozenset(out)


def _confirmed_years(config: dict) -> tuple[tuple[int, str], ...]:
    raw = config.get("confirmed_years", {})
    if not isinstance(raw, dict):
        raise ValueError('confirmed_years must map a year to the reason, e.g. {"2027": "notice typed in"}')
    out = []
    for year, reason in raw.items():
        if not (isinstance(year, str) and year.isdigit() and len(year) == 4):
            raise ValueError(f"confirmed_years: {year!r} is not a year")
        # The reason is required: a year vouched for by hand must say on what grounds.
        if not (isinstance(reason, str) and reason.strip()):
            raise ValueError(f"confirmed_years: {year} needs a reason (where its days come from)")
        out.append((int(year), reason.strip()))
    return tuple(sorted(out))


@dataclass(frozen=True)
class HolidayData:
    """Public holidays and make-up working days from an outside source (the holidays package).

    ``years`` are the years the source has the *official* schedule for (the State Council's
    notice, with its 调休 days); for other years it may still guess the statutory days, but a
    guess is not enough to run on without someone confirming it.
    """

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()   # weekend days worked (调休)
    years: frozenset[int] = frozenset()


@dataclass(frozen=True)
class WorkingCalendar:
    """Work periods of a working day, the weekend, holidays and make-up working days."""

    timezone: str = "Asia/Shanghai"
    periods: tuple[tuple[time, time], ...] = ((time(8, 30), time(12, 0)), (time(13, 0), time(17, 30)))
    weekend: frozenset[int] = frozenset({5, 6})          # Monday = 0
    # A century of dates: left out of repr so an assertion message stays readable.
    holidays: frozenset[date] = field(default_factory=frozenset, repr=False)
    workdays: frozenset[date] = field(default_factory=frozenset, repr=False)  # 调休: weekend days worked
    #: years whose holidays are known (official source or confirmed by hand) — see years_without_holidays
    holiday_years: frozenset[int] = field(default_factory=frozenset, repr=False)
    #: (year, reason) for the years calendar.json vouches for itself
    confirmed_years: tuple[tuple[int, str], ...] = field(default=(), repr=False)

    @classmethod
    def from_config(cls, config: dict, source: HolidayData = HolidayData()) -> "WorkingCalendar":
        """Build from the scenario's ``calendar.json`` on top of ``source`` (README, "Scenario files").

        The file's lists win over the source: ``extra_holidays`` are days off, ``extra_workdays``
        days worked (even on a weekend or a source holiday), ``not_holidays`` source holidays
        that are ordinary days here.
        """
        if "holidays" in config or "workdays" in config:
            # The hand-typed lists of 2025–26 are gone; a file still carrying them would be
            # silently half-applied, so say what to do instead.
            raise ValueError("'holidays'/'workdays' are no longer typed by hand (the holidays package gives "
                             "them): put local changes in extra_holidays, extra_workdays or not_holidays")
        unknown = sorted(k for k in config if k not in CONFIG_KEYS and not k.startswith("_"))
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(CONFIG_KEYS))}")
        periods = tuple((_parse_hhmm(a), _parse_hhmm(b)) for a, b in config.get("work_periods", []))
        for start, end in periods:
            if not start < end:
                raise ValueError(f"work period {start}–{end} ends before it starts")
        extra_holidays, extra_workdays = _dates(config, "extra_holidays"), _dates(config, "extra_workdays")
        both = sorted(extra_holidays & extra_workdays)
        if both:
            raise ValueError(f"{both[0]} is both in extra_holidays and extra_workdays")
        not_holidays = _dates(config, "not_holidays")
        confirmed = _confirmed_years(config)
        timezone = config.get("timezone", "Asia/Shanghai")
        try:
            ZoneInfo(timezone)
        except (ValueError, KeyError, TypeError):   # ZoneInfoNotFoundError is a KeyError
            raise ValueError(f"timezone {timezone!r} is not an IANA time zone (like Asia/Shanghai)") from None
        return cls(
            timezone=timezone,
            periods=periods or cls.periods,
            weekend=frozenset(config.get("weekend", [5, 6])),
            holidays=(source.holidays - not_holidays - extra_workdays) | extra_holidays,
            workdays=(source.workdays - extra_holidays) | extra_workdays,
            holiday_years=source.years | {year for year, _ in confirmed},
            confirmed_years=confirmed,
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def years_without_holidays(self, today: date) -> list[int]:
        """This year and next year when the calendar does not know their holidays.

        Deadlines reach into next year weeks before it starts, so next year must be known too;
        a year without data would silently count as ordinary days (start-up refuses to run).
        """
        return [year for year in (today.year, today.year + 1) if year not in self.holiday_years]

    def is_working_day(self, day: date) -> bool:
        """A make-up working day is worked; otherwise holidays and weekend days are not."""
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
