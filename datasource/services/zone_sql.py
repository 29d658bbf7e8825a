"""The scenario zone's UTC offset as SQL, for zones with daylight-saving time too.

The report queries turn a stored UTC instant into local time by adding the zone's offset.
Asia/Shanghai has one offset (no daylight saving since 1991), so the offset is a constant and
the SQL is what it always was.  A zone that changes its offset (America/Los_Angeles, a city
made by ``citygrid city init``) gets the offset in force at each instant as a CASE over the
zone's transitions between :data:`FIRST_YEAR` and :data:`LAST_YEAR`, nested as a binary
search (about eight comparisons per row whatever the span).  SQLite has no zone data and
PostgreSQL would need the zone name in every expression; this one form serves both.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache

FIRST_YEAR, LAST_YEAR = 2000, 2060
_UTC = timezone.utc


def _offset(tz, epoch: int) -> int:
    return int(datetime.fromtimestamp(epoch, tz).utcoffset().total_seconds())


@lru_cache(maxsize=16)
def transitions(tz) -> tuple[tuple[int, int], ...]:
    """``((epoch, offset), …)``: the zone's offset (seconds) from each change on, the first entry
    being the offset in force at the start of :data:`FIRST_YEAR`; one entry for a fixed zone."""
    start = int(datetime(FIRST_YEAR, 1, 1, tzinfo=_UTC).timestamp())
    end = int(datetime(LAST_YEAR + 1, 1, 1, tzinfo=_UTC).timestamp())
    out = [(start, _offset(tz, start))]
    step = 6 * 3600                     # zones change at most twice a year, never twice in 6 hours
    at = start
    while at < end:
        nxt = at + step
        if _offset(tz, nxt) != out[-1][1]:
            lo, hi = at, nxt            # the change lies in (lo, hi]: bisect to the second
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset(tz, mid) == out[-1][1]:
                    lo = mid
                else:
                    hi = mid
            out.append((hi, _offset(tz, hi)))
        at = nxt
    return tuple(out)


def is_fixed(tz) -> bool:
    return len(transitions(tz)) == 1


def zone_key(tz):
    """What the recorded local days depend on: the constant offset of a fixed zone (an int, as
    before daylight-saving zones were supported) or the whole list of changes."""
    changes = transitions(tz)
    return changes[0][1] if len(changes) == 1 else changes


def offset_sql(tz, epoch_expression: str) -> str:
    """SQL: the zone's offset in seconds at the instant ``epoch_expression`` (seconds since 1970)."""
    changes = transitions(tz)
    if len(changes) == 1:
        return str(changes[0][1])

    def search(items) -> str:
        if len(items) == 1:
            return str(items[0][1])
        middle = len(items) // 2
        return (f"(CASE WHEN {epoch_expression} < {items[middle][0]} THEN {search(items[:middle])} "
                f"ELSE {search(items[middle:])} END)")
    return search(changes)


def offset_expression(tz, epoch):
    """:func:`offset_sql` as a SQLAlchemy expression of the expression ``epoch``."""
    from sqlalchemy import case, literal
    changes = transitions(tz)

    def search(items):
        if len(items) == 1:
            return literal(items[0][1])
        middle = len(items) // 2
        return case((epoch < items[middle][0], search(items[:middle])), else_=search(items[middle:]))
    return search(changes)


def local_midnight_utc(day_number: int, tz) -> datetime:
    """The UTC instant of local midnight starting day ``day_number`` (days since 1970-01-01)."""
    local = datetime(1970, 1, 1) + timedelta(days=day_number)
    return local.replace(tzinfo=tz).astimezone(_UTC)
