"""Working time as a table: "n working minutes after t" by binary search.

The domain's :meth:`WorkingCalendar.add_working` walks day by day — right and clear for one
deadline, but a 90-day backfill asks it ~450,000 times.  :class:`WorkClock` lays the
working periods of a span of days out once as epoch seconds with their cumulative working
time, and answers the same question with a bisection.  Outside its span it defers to the
calendar itself; ``tests/test_simulator.py`` checks both agree.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date, datetime, time, timedelta, timezone


class WorkClock:
    """Working periods between two dates, for fast working-time arithmetic."""

    def __init__(self, calendar, first: date, last: date):
        self.calendar = calendar
        tz = calendar.tz
        self.begin = datetime.combine(first, time(0), tz).timestamp()   # the table covers [begin, …)
        self.starts: list[float] = []
        self.ends: list[float] = []
        self.cumulative: list[float] = []   # working seconds up to the END of each period
        total, day = 0.0, first
        while day <= last:
            if calendar.is_working_day(day):
                for begin, end in calendar.periods:
                    a = datetime.combine(day, begin, tz).timestamp()
                    b = datetime.combine(day, end, tz).timestamp()
                    total += b - a
                    self.starts.append(a)
                    self.ends.append(b)
                    self.cumulative.append(total)
            day += timedelta(days=1)

    @classmethod
    def around(cls, calendar, start: datetime, end: datetime, margin_days: int = 400) -> "WorkClock":
        """A clock from a day before ``start`` to ``margin_days`` after ``end``."""
        tz = calendar.tz
        return cls(calendar, start.astimezone(tz).date() - timedelta(days=1),
                   end.astimezone(tz).date() + timedelta(days=margin_days))

    def add(self, start: float, minutes: float) -> float:
        """Epoch seconds ``minutes`` working minutes after epoch seconds ``start``."""
        i = bisect_right(self.ends, start)   # first period ending after start
        if start < self.begin or i >= len(self.ends):
            return self._fallback(start, minutes)
        before = self.cumulative[i] - (self.ends[i] - max(start, self.starts[i]))
        target = before + minutes * 60
        j = bisect_left(self.cumulative, target, lo=i)
        if j >= len(self.cumulative):
            return self._fallback(start, minutes)
        return self.ends[j] - (self.cumulative[j] - target)

    def _fallback(self, start: float, minutes: float) -> float:
        moment = datetime.fromtimestamp(start, self.calendar.tz)
        return self.calendar.add_working(moment, minutes).timestamp()


class TimeText:
    """``datetime.fromtimestamp(at, tz).isoformat()`` for whole epoch seconds, memoised per
    UTC hour (offset and local date) — formatting ~750,000 event times is otherwise a
    visible share of a backfill."""

    def __init__(self, tz):
        self.tz = tz
        self._hours: dict[int, tuple[int | None, str]] = {}
        self._days: dict[int, str] = {}

    def __call__(self, at: int) -> str:
        hour = self._hours.get(at // 3600)
        if hour is None:
            hour = self._hours[at // 3600] = self._hour(at)
        offset, suffix = hour
        if offset is None:   # the offset changes within this hour (a DST switch off the hour)
            return datetime.fromtimestamp(at, self.tz).isoformat()
        local = at + offset
        day = local // 86400
        text = self._days.get(day)
        if text is None:
            text = self._days[day] = datetime.fromtimestamp(day * 86400, timezone.utc).strftime("%Y-%m-%d")
        seconds = local - day * 86400
        return "%sT%02d:%02d:%02d%s" % (text, seconds // 3600, seconds // 60 % 60, seconds % 60, suffix)

    def offset(self, at: int) -> int:
        """The zone's UTC offset (seconds) at ``at``, memoised per UTC hour like the text."""
        hour = self._hours.get(at // 3600)
        if hour is None:
            hour = self._hours[at // 3600] = self._hour(at)
        return hour[0] if hour[0] is not None else int(datetime.fromtimestamp(at, self.tz).utcoffset().total_seconds())

    def _hour(self, at: int) -> tuple[int | None, str]:
        moment = datetime.fromtimestamp(at // 3600 * 3600, self.tz)
        if datetime.fromtimestamp(at // 3600 * 3600 + 3599, self.tz).utcoffset() != moment.utcoffset():
            return None, ""
        return int(moment.utcoffset().total_seconds()), moment.isoformat()[19:]
