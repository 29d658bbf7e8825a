"""Working hours between many pairs of instants at once (numpy), on the working calendar.

The rule is the domain's :class:`~dashboard.domain.calendar.WorkingCalendar` (work periods,
weekends, holidays, 调休); :meth:`WorkingCalendar.working_minutes_between` answers one pair
by walking day by day — right, and ~20 µs a pair.  A report asks for tens of thousands of
pairs per request, so :class:`WorkTable` lays the working periods of the span out once as
epoch seconds with the working time accumulated up to the end of each, and answers every
pair with two binary searches: W(end) − W(start), where W(t) is the working time before t.
``tests/test_evaluation.py`` checks both agree (Hypothesis).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

import numpy as np


class WorkTable:
    """Working periods of the days ``first`` … ``last`` (inclusive) as epoch seconds."""

    def __init__(self, calendar, first: date, last: date):
        tz = calendar.tz
        starts, ends = [], []
        day = first
        while day <= last:
            if calendar.is_working_day(day):
                for a, b in calendar.periods:
                    starts.append(datetime.combine(day, a, tz).timestamp())
                    ends.append(datetime.combine(day, b, tz).timestamp())
            day += timedelta(days=1)
        self.first, self.last = first, last
        self.starts = np.array(starts, dtype=float)
        self.ends = np.array(ends, dtype=float)
        self.done = np.cumsum(self.ends - self.starts)            # working seconds at each period's end
        self.begin = datetime.combine(first, datetime.min.time(), tz).timestamp()
        self.stop = datetime.combine(last + timedelta(days=1), datetime.min.time(), tz).timestamp()

    def covers(self, seconds: np.ndarray) -> bool:
        return seconds.size == 0 or (float(seconds.min()) >= self.begin and float(seconds.max()) < self.stop)

    def before(self, seconds: np.ndarray) -> np.ndarray:
        """W(t): working seconds from the table's first day to each instant (epoch seconds)."""
        if self.starts.size == 0:
            return np.zeros_like(seconds, dtype=float)
        # periods entirely over by t, then the running part of the period t falls in (if any)
        over = np.searchsorted(self.ends, seconds, side="right")
        done = np.where(over > 0, self.done[np.maximum(over - 1, 0)], 0.0)
        current = np.minimum(over, self.starts.size - 1)
        running = np.clip(seconds - self.starts[current], 0.0, self.ends[current] - self.starts[current])
        return done + np.where(over < self.starts.size, running, 0.0)

    def after(self, seconds: np.ndarray, work: np.ndarray) -> np.ndarray:
        """The instants ``work`` working seconds after each instant (the inverse of :meth:`before`;
        what :meth:`WorkingCalendar.add_working` answers one at a time).  The result must lie
        inside the table's span."""
        target = self.before(seconds) + work
        i = np.searchsorted(self.done, target, side="left")
        if np.any(i >= self.done.size):
            raise ValueError("working time runs past the end of the table")
        return self.ends[i] - (self.done[i] - target)


@lru_cache(maxsize=16)
def _table(calendar, first: date, last: date) -> WorkTable:
    return WorkTable(calendar, first, last)


def working_hours(calendar, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Working hours in [start, end) for each pair of epoch-second instants (0 if end ≤ start)."""
    start = np.asarray(start, dtype=float)
    end = np.asarray(end, dtype=float)
    if start.size == 0:
        return np.zeros(0)
    tz = calendar.tz
    lo = datetime.fromtimestamp(float(min(start.min(), end.min())), timezone.utc).astimezone(tz).date()
    hi = datetime.fromtimestamp(float(max(start.max(), end.max())), timezone.utc).astimezone(tz).date()
    # Round the span out to whole quarters so that neighbouring requests share a cached table.
    lo = date(lo.year, 3 * ((lo.month - 1) // 3) + 1, 1) - timedelta(days=1)
    hi = date(hi.year + (hi.month > 9), (3 * ((hi.month - 1) // 3) + 3) % 12 + 1, 1)
    table = _table(calendar, lo, hi)
    seconds = table.before(end) - table.before(start)
    return np.maximum(seconds, 0.0) / 3600.0
