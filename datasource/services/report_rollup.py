"""The acts counted per local day (``report_acts_daily``): what ``/inspectors``, its API and
its exports aggregate over a window.

Why: a 90-day window holds ~500,000 acts (filed, rejected, dispatched, verified, rework,
closed); grouping them for every page view cost most of ``/inspectors``' second.  Counted
once per (local day of the act, type, actor, clock-start day, shift), the same window is
~10 times fewer rows, and every figure of the people report is a sum of these counts.

How it is kept: :class:`datasource.services.report_acts.ActFacts` records new acts in
chunks; in the same transaction :func:`recount` counts again every local day those new acts
fall on (delete the day's rows, insert its counts from ``report_acts``) — so the roll-up is
exactly ``report_acts`` grouped by day, whatever order or chunking the acts arrived in, and
running it twice changes nothing.  Two writers are kept apart by a transaction-level
advisory lock on PostgreSQL (SQLite has one writer at a time).  A change of configuration
empties both tables together.

A sub-centre's report (scope) reads ``report_acts`` joined to its cases instead: the
roll-up has no place columns (they would multiply its rows by the communities).
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam, func, select, text

from datasource.services.report_sql import Dialect
from datasource.services.zone_sql import is_fixed, local_midnight_utc, offset_sql
from datasource.store import schema
from datasource.store.schema import TS
from datasource.store.locks import xact_lock

EPOCH = date(1970, 1, 1)
DAY_S = 86400
LOCK_KEY = 910_004            # pg_advisory_xact_lock key of the acts' refresh
TABLE = schema.report_acts_daily


def day_number(day: date) -> int:
    """Days since 1970-01-01 (the numbering of ``report_acts.start_day``)."""
    return (day - EPOCH).days


def lock(connection) -> None:
    """Keep two processes' refreshes apart for this transaction (PostgreSQL)."""
    xact_lock(connection, LOCK_KEY)


def _day_of(dialect: Dialect, tz, column: str = "a.at") -> str:
    """SQL: the local day number of an instant.  SQLite through its date text (exact to the
    millisecond: julianday arithmetic alone could put an act at midnight on the day before)."""
    offset = offset_sql(tz, dialect.epoch(column))
    if dialect.pg:
        return dialect.day(f"({dialect.epoch(column)} + {offset}) / {float(DAY_S)}")
    if is_fixed(tz):
        return f"CAST(julianday(date({column}, '{int(offset):+d} seconds')) - 2440587.5 AS INTEGER)"
    return f"CAST(julianday(date({column}, printf('%+d seconds', {offset}))) - 2440587.5 AS INTEGER)"


def days_of_events(connection, tz, after: int, upto: int) -> list[int]:
    """The local days (numbers) of the recorded acts with ``after < event_id <= upto``."""
    dialect = Dialect(connection.dialect.name)
    sql = f"SELECT DISTINCT {_day_of(dialect, tz)} FROM report_acts a " \
          f"WHERE a.event_id > :after AND a.event_id <= :upto"
    return sorted(int(d) for (d,) in connection.execute(text(sql), {"after": after, "upto": upto}))


def _runs(days: list[int]) -> list[tuple[int, int]]:
    """Consecutive day numbers as (first, last) runs."""
    runs: list[list[int]] = []
    for d in sorted(set(days)):
        if runs and d == runs[-1][1] + 1:
            runs[-1][1] = d
        else:
            runs.append([d, d])
    return [(a, b) for a, b in runs]


def recount(connection, tz, days: list[int]) -> int:
    """Count ``days`` again from ``report_acts`` (in the caller's transaction); rows written."""
    dialect = Dialect(connection.dialect.name)
    insert = text(f"""
INSERT INTO report_acts_daily (day, type, actor, start_day, shift, acts, on_time)
SELECT {_day_of(dialect, tz)} AS day, a.type, a.actor, a.start_day, a.shift, COUNT(*), SUM(a.on_time)
FROM report_acts a
WHERE a.at >= :lo AND a.at < :hi AND a.on_time IS NOT NULL
GROUP BY 1, a.type, a.actor, a.start_day, a.shift
""").bindparams(bindparam("lo", type_=TS), bindparam("hi", type_=TS))
    written = 0
    for first, last in _runs(days):
        lo, hi = local_midnight_utc(first, tz), local_midnight_utc(last + 1, tz)
        connection.execute(TABLE.delete().where(TABLE.c.day >= first, TABLE.c.day <= last))
        written += connection.execute(insert, {"lo": lo, "hi": hi}).rowcount or 0
    return written


def acts_statement(first: date, last: date, types: tuple[str, ...], group: tuple[str, ...]):
    """Acts of ``types`` done on local days ``first`` … ``last`` with a known clock start,
    counted (``acts``, ``on_time``) per ``group`` of type, actor, day (the local day its
    clock started) and shift — the roll-up's answer to what
    ``StaffReport._acts_statement`` asks of ``report_acts``."""
    r = TABLE
    columns = {"type": r.c.type, "actor": r.c.actor, "day": r.c.start_day.label("day"), "shift": r.c.shift}
    keys = [columns[g] for g in group]
    return (select(*keys, func.sum(r.c.acts).label("acts"), func.sum(r.c.on_time).label("on_time"))
            .where(r.c.day >= day_number(first), r.c.day <= day_number(last), r.c.type.in_(types))
            .group_by(*[r.c.start_day if g == "day" else columns[g] for g in group]))
