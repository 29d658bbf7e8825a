"""The department evaluation counted per local day (``report_departments_daily``): what
``/departments``, ``GET /api/v1/departments`` and the overview's exports aggregate.

Why: a 30-day window of a city holds ~1.8 million cases; grouping them (and turning every
handled case's two instants into working hours) for every page view cost ~3 s.  Counted
once per (local day of first dispatch, department) — the key the figures attach to (the
cohort of :func:`datasource.services.evaluation_queries.cohort`, the department the case is
dispatched to now) — the window is days × departments rows.  The counts add up over days;
the median and p90 of handling time cannot, so each row keeps its handled cases' working
seconds as a sorted array, and the window's quantiles are taken from the merged arrays with
the very rule the base query uses (:func:`quantile`).  Working seconds are whole numbers
(whole-second instants, whole-minute working periods), so hours = seconds / 3600 is the
same float either way and the figures are exactly equal.  The figures that depend on the
moment asked (overdue now, backlog, oldest waiting) are not kept: they come from the cases
waiting now, through the partial index ``ix_cases_waiting``.

How it is kept — as ``report_acts_daily`` (:mod:`datasource.services.report_rollup`):
:meth:`DepartmentDays.refresh` runs before a report reads, finds the cases touched by the
events projected since its high-water mark (``departments_upto`` in ``report_state``) and
recounts, in one transaction, every (day, department) those cases can be counted under —
the day of their first dispatch and every department any of their dispatches named (a case
only changes department by a dispatch; returns are charged to a department it was
dispatched to).  A recount deletes those rows and inserts the groups of ``cases`` again, so
the roll-up is exactly ``cases`` grouped, whatever order or batches the events came in, and
running it twice changes nothing.  Two processes are kept apart by a transaction-level
advisory lock on PostgreSQL.  An empty mark (new or upgraded database, changed calendar)
counts every day once.  A sub-centre's report (scope) reads ``cases`` instead: the roll-up
has no place columns.
"""
from __future__ import annotations

import threading
from datetime import date, timedelta

import numpy as np
from sqlalchemy import delete, func, insert, select, update

from datasource.services import evaluation_queries as q
from datasource.services.report_rollup import EPOCH, day_number, _runs
from datasource.services.report_sql import config_key, for_reports
from datasource.services.workhours import working_hours
from datasource.services.zone_sql import local_midnight_utc
from datasource.store import schema
from datasource.store.committed import committed_top
from datasource.store.locks import xact_lock

TABLE = schema.report_departments_daily
LOCK_KEY = 910_005              # pg_advisory_xact_lock key of this roll-up's refresh
UPTO, CONFIG = "departments_upto", "departments_config"
RUN_DAYS = 7                    # days per recount statement (bounds the packed texts' size)
SECONDS = np.dtype("<i4")       # the stored arrays: int32 little-endian, whatever the machine
_REFRESH = threading.Lock()     # one refresh at a time in a process


# ---------------------------------------------------------------------------- handling times
def handling_seconds(calendar, texts: list[str | None]) -> list[np.ndarray]:
    """Working seconds from first dispatch to handling of each group's handled cases, from its
    packed ``first:handled,…`` text (:func:`~datasource.services.evaluation_queries.packed_handling`),
    sorted; one working-time computation for all the groups."""
    parts = [np.array(t.replace(":", ",").split(","), dtype=float) if t else np.zeros(0) for t in texts]
    if not parts or not any(p.size for p in parts):
        return [np.zeros(0, SECONDS) for _ in texts]
    flat = np.concatenate(parts)
    hours = working_hours(calendar, flat[0::2], flat[1::2])
    # whole seconds: hours * 3600 is within a rounding of them (see the module's docstring)
    seconds = np.rint(hours * 3600.0).astype(SECONDS)
    bounds = np.cumsum([0] + [p.size // 2 for p in parts])
    return [np.sort(seconds[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def quantile(ordered: np.ndarray, p: float) -> float:
    """The ``p`` quantile of sorted values, linearly interpolated between the two nearest
    ranks — exactly pandas' ``GroupBy.quantile`` (the figures of the base query)."""
    position = p * (ordered.size - 1)
    i = int(position)
    frac = position % 1
    value = ordered[i]
    if frac == 0.0:
        return float(value)
    return float(value + (ordered[i + 1] - value) * frac)


def median_p90(seconds: np.ndarray) -> tuple[float, float] | None:
    """(median, p90) working hours, rounded as the page shows them; None for no case.  Only
    the ranks the two quantiles read are put in place (``np.partition``: linear, not a sort)."""
    n = seconds.size
    if n == 0:
        return None
    ranks = sorted({min(int(p * (n - 1)) + k, n - 1) for p in (0.5, 0.9) for k in (0, 1)})
    hours = np.partition(seconds, ranks).astype(float) / 3600.0
    return round(quantile(hours, 0.5), 2), round(quantile(hours, 0.9), 2)


def unpack(blob) -> np.ndarray:
    """A row's ``handling`` array."""
    return np.frombuffer(bytes(blob), dtype=SECONDS) if blob else np.zeros(0, SECONDS)


# ---------------------------------------------------------------------------- counting
def lock(connection) -> None:
    """Keep two processes' refreshes apart for this transaction (PostgreSQL)."""
    xact_lock(connection, LOCK_KEY)


def _day(value) -> int:
    return day_number(value if isinstance(value, date) else date.fromisoformat(str(value)[:10]))


def recount(connection, calendar, days: list[int], departments=None) -> int:
    """Count the (day, department) rows of ``days`` again from ``cases`` (in the caller's
    transaction), of ``departments`` only when given; rows written."""
    tz = calendar.tz
    written = 0
    for first, last in _runs(days):
        for start in range(first, last + 1, RUN_DAYS):
            end = min(start + RUN_DAYS - 1, last)
            lo, hi = local_midnight_utc(start, tz), local_midnight_utc(end + 1, tz)
            groups = q.fixed_by_department_day(connection, lo, hi, tz, departments)
            returns = q.returns_by_department_day(connection, lo, hi, tz)
            seconds = handling_seconds(calendar, [g["handling"] for g in groups])
            rows = {}
            for g, handled in zip(groups, seconds):
                if g["department"] is None:     # not possible for a dispatched case; kept out
                    continue
                row = {k: int(g[k] or 0) for k in q.FIXED}
                rows[(_day(g["day"]), g["department"])] = {**row, "returns": 0, "handling": handled.tobytes()}
            for (dept, day), n in returns.items():
                if departments is not None and dept not in departments:
                    continue
                row = rows.setdefault((_day(day), dept), {**{k: 0 for k in q.FIXED}, "returns": 0,
                                                          "handling": b""})
                row["returns"] = n
            gone = delete(TABLE).where(TABLE.c.day >= start, TABLE.c.day <= end)
            if departments is not None:
                gone = gone.where(TABLE.c.department.in_(sorted(departments)))
            connection.execute(gone)
            if rows:
                connection.execute(insert(TABLE), [{"day": d, "department": dept, **row}
                                                   for (d, dept), row in sorted(rows.items())])
            written += len(rows)
    return written


def touched(connection, tz, after: int, upto: int) -> dict[int, set[str]]:
    """Day → departments to recount for the events with ``after < id <= upto``: each touched
    case's first-dispatch day with every department its dispatches named."""
    dialect = connection.dialect.name
    d, e = schema.case_events.alias("d"), schema.case_events.alias("e")
    cases = schema.cases
    recent = select(e.c.case_id).where(e.c.id > after, e.c.id <= upto)
    day = q.local_day(cases.c.first_dispatched_at, dialect, tz, None)
    statement = (select(day, q.json_text(d.c.body, "department", dialect)).distinct()
                 .select_from(d.join(cases, cases.c.case_id == d.c.case_id))
                 .where(d.c.type == "dispatched", d.c.case_id.in_(recent), cases.c.first_dispatched_at.isnot(None)))
    out: dict[int, set[str]] = {}
    for value, dept in connection.execute(statement):
        if value is not None and dept:
            out.setdefault(_day(value), set()).add(dept)
    return out


def all_days(connection, tz) -> list[int]:
    """Every local day from the first first-dispatch to the last."""
    first, last = connection.execute(select(func.min(schema.cases.c.first_dispatched_at),
                                            func.max(schema.cases.c.first_dispatched_at))).one()
    if first is None:
        return []
    first, last = q.utc(first), q.utc(last)
    return list(range(day_number(first.astimezone(tz).date()), day_number(last.astimezone(tz).date()) + 1))


class DepartmentDays:
    """The roll-up's keeper: :meth:`refresh` before reading, :meth:`rows` to read."""

    def __init__(self, system):
        self.system = system
        self.calendar = system.scenario.calendar

    def refresh(self) -> int:
        """Recount the days and departments the events since the last refresh touched (every
        day, the first time or after a change of calendar); the number of events looked at."""
        config = config_key(self.system.scenario)
        with self.system.engine.connect() as c:       # the usual answer, without a lock: nothing new
            top, upto, counted = self._marks(c)
        if counted == config and top <= upto:
            return 0
        with _REFRESH, self.system.engine.begin() as c:
            lock(c)
            for_reports(c)
            _, upto, counted = self._marks(c)       # again: another process may have done it
            top = committed_top(self.system.engine)   # not merely the newest id: workers commit out of order
            if counted != config or upto == 0:       # a first count, or a new calendar: from empty
                self._reset(c, config)
                upto = 0
            if top <= upto:
                return 0
            tz = self.calendar.tz
            if upto == 0:
                recount(c, self.calendar, all_days(c, tz))
            else:
                # one recount per day with the union of its departments: a superset is harmless
                for day, departments in sorted(touched(c, tz, upto, top).items()):
                    recount(c, self.calendar, [day], departments)
            c.execute(update(schema.report_state).where(schema.report_state.c.key == UPTO,
                                                        schema.report_state.c.n < top).values(n=top))
            return top - upto

    @staticmethod
    def _marks(c) -> tuple[int, int, str | None]:
        """(newest event id, the roll-up's high-water mark, the configuration it was counted with)."""
        state = schema.report_state
        top = c.execute(select(func.max(schema.case_events.c.id))).scalar() or 0
        marks = {k: (n, v) for k, n, v in c.execute(select(state.c.key, state.c.n, state.c.value)
                                                     .where(state.c.key.in_((UPTO, CONFIG))))}
        return int(top), int((marks.get(UPTO) or (0, None))[0] or 0), (marks.get(CONFIG) or (None, None))[1]

    @staticmethod
    def _reset(c, config: str) -> None:
        """Empty the roll-up for a new configuration (or a first count); the mark back to 0."""
        state = schema.report_state
        c.execute(delete(TABLE))
        c.execute(delete(state).where(state.c.key.in_((UPTO, CONFIG))))
        c.execute(insert(state), [{"key": UPTO, "n": 0, "value": None}, {"key": CONFIG, "n": None, "value": config}])

    @staticmethod
    def rows(connection, first: date, last: date) -> list[dict]:
        """The roll-up's rows of local days ``first`` … ``last`` (``day`` as a date)."""
        statement = select(TABLE).where(TABLE.c.day >= day_number(first), TABLE.c.day <= day_number(last))
        if connection.dialect.driver == "psycopg":
            # bytea in binary: a month of a city's handling times is megabytes, and their hex
            # text form costs ~3 × as long to send and decode
            compiled = statement.compile(connection)
            with connection.connection.dbapi_connection.cursor(binary=True) as cursor:
                cursor.execute(str(compiled), compiled.params)
                names = [d.name for d in cursor.description]
                found = [dict(zip(names, row)) for row in cursor.fetchall()]
        else:
            found = [dict(row) for row in connection.execute(statement).mappings()]
        for row in found:
            row["day"] = EPOCH + timedelta(days=row["day"])
        return found
