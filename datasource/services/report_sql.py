"""SQL for "was this act on time?", pushed down to the database — SQLite and PostgreSQL alike.

An *act* is an event that stops a stage clock: filing or rejecting a report (clock of
``reported``), a dispatch (``filed``), a verification visit — pass or rework — (``handled``),
the closing (``verified``).  Its clock started at the case's previous stage change (the
event before it, ``extended`` aside, which changes no stage); it is on time when the time
spent is within the scenario's limit for that stage, category and urgency
(``time_limits.json``), counted like the deadlines the wall shows:

- natural units (``minutes``/``hours``): seconds between the two instants;
- working units (``work_hours``/``work_days``): working minutes between them on the
  scenario's working calendar (work periods, weekends, holidays, 调休).

Working minutes are plain SQL arithmetic (:class:`WorkClockSQL`): the weekday of a local
day number, the work periods as constants, and the calendar's holidays and make-up days
as a short list of comparisons — no table and no join, so the check costs the same on
SQLite and PostgreSQL.  Acts within the limit in *natural* time are settled before the
working clock is evaluated (working time never exceeds natural time).

The judgement is recorded once per act in ``report_acts`` (:func:`acts_fill`, driven by
:mod:`datasource.services.report_acts`): an act is an immutable event whose clock start
precedes it, so its verdict never changes — until the limits, the calendar or the shifts
change, which :func:`config_key` detects.  Reports then aggregate ``report_acts`` by an
index on (type, time) instead of joining a month of events to the cases again.

Local time is the UTC instant plus the scenario zone's offset at that instant: a constant for
Asia/Shanghai (no daylight-saving time since 1991), a CASE over the changes for a zone with
daylight-saving time (:mod:`datasource.services.zone_sql`).
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam, text

from dashboard.domain.lifecycle import TRANSITIONS, EventType, Stage
from dashboard.domain.performance import ACT_STAGE, SHIFTS
from datasource.services.zone_sql import offset_sql, zone_key
from datasource.store.schema import TS

EPSILON_S = 0.001          # SQLite's julianday() clock is a double: ~0.1 ms of noise
DAY_S = 86400
LIMIT_STAGES = tuple(sorted(set(ACT_STAGE.values())))


def for_reports(connection) -> None:
    """Prepare a connection's transaction for report queries.  PostgreSQL's JIT compiler
    judges these statements expensive enough to compile their long CASE expressions, which
    costs more (~0.8 s) than evaluating them; it is switched off for this transaction."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL jit = off")


WINDOW_YEARS = 6   # years of history whose holidays the SQL working-time counts know


class Dialect:
    """The few expressions that differ between SQLite and PostgreSQL."""

    def __init__(self, name: str):
        self.name = name
        self.pg = name == "postgresql"

    def epoch(self, column: str) -> str:
        """Seconds since 1970 of a stored instant (float)."""
        if self.pg:
            return f"CAST(EXTRACT(EPOCH FROM {column}) AS DOUBLE PRECISION)"
        return f"((julianday({column}) - 2440587.5) * 86400.0)"

    def day(self, expression: str) -> str:
        """An integer floor (SQLite has FLOOR only with its optional math functions; the
        values here are positive, so truncation is the floor)."""
        return f"CAST(FLOOR({expression}) AS BIGINT)" if self.pg else f"CAST({expression} AS INTEGER)"

    def flag(self, condition: str) -> str:
        """A condition as 0/1."""
        return f"CAST(({condition}) AS INTEGER)" if self.pg else f"({condition})"

    def clamp(self, expression: str, low: float, high: float) -> str:
        if self.pg:
            return f"LEAST(GREATEST({expression}, {low}), {high})"
        return f"MIN(MAX({expression}, {low}), {high})"


class WorkClockSQL:
    """Working minutes of the scenario's calendar as SQL arithmetic (no table, no join).

    With d the local day number (days since 1970-01-01) and m the minute of that day,
    W(d, m) = minutes_per_day · working days before d + working(d) · Σ clamp(m − begin, 0, length)
    over the work periods.  Working days before d = workweek days before d (arithmetic on
    the weekday, 1970-01-01 being a Thursday) − holidays that fall on workweek days
    + make-up working days (调休) that fall on the weekend, both before d."""

    def __init__(self, dialect: Dialect, calendar):
        self.d = dialect
        self.per_day = calendar.minutes_per_day
        self.periods = [(a.hour * 60 + a.minute, (b.hour * 60 + b.minute) - (a.hour * 60 + a.minute))
                        for a, b in calendar.periods]
        self.workweek = [w for w in range(7) if w not in calendar.weekend]
        epoch = date(1970, 1, 1)
        # One SQL term per special day: the calendar holds a century of them (the holidays
        # package), which no SQL engine nests (SQLite: depth ≤ 1000).  A day before the window
        # shifts every count after it by the same amount, so durations inside the window stay
        # exact; history older than WINDOW_YEARS is counted without its holidays.
        today = date.today()
        low, high = date(today.year - WINDOW_YEARS, 1, 1), date(today.year + 2, 12, 31)
        holidays = [x for x in calendar.holidays if low <= x <= high]
        workdays = [x for x in calendar.workdays if low <= x <= high]
        self.makeups = sorted((x - epoch).days for x in workdays if x.weekday() in calendar.weekend)
        self.holidays = sorted((x - epoch).days for x in holidays
                               if x not in calendar.workdays and x.weekday() not in calendar.weekend)
        self.extra_days = sorted((x - epoch).days for x in workdays)
        self.off_days = sorted((x - epoch).days for x in holidays if x not in calendar.workdays)

    def _days_before(self, day: str) -> str:
        n = f"({day} + 3)"   # days since Monday 1969-12-29: weekday = n % 7
        partial = " ".join(f"WHEN {r} THEN {sum(1 for w in self.workweek if w < r)}" for r in range(1, 7))
        weekdays = f"(({n} / 7) * {len(self.workweek)} + (CASE ({n} % 7) {partial} ELSE 0 END))"
        terms = [weekdays]
        terms += [f"- {self.d.flag(f'{day} > {h}')}" for h in self.holidays]
        terms += [f"+ {self.d.flag(f'{day} > {m}')}" for m in self.makeups]
        return "(" + " ".join(terms) + ")"

    def _working(self, day: str) -> str:
        parts = []
        if self.extra_days:
            parts.append(f"WHEN {day} IN ({', '.join(map(str, self.extra_days))}) THEN 1")
        if self.off_days:
            parts.append(f"WHEN {day} IN ({', '.join(map(str, self.off_days))}) THEN 0")
        parts.append(f"WHEN (({day} + 3) % 7) IN ({', '.join(map(str, self.workweek)) or '-1'}) THEN 1")
        return f"(CASE {' '.join(parts)} ELSE 0 END)"

    def minutes(self, day: str, minute: str) -> str:
        """W(day, minute): working minutes from a fixed origin to that local instant."""
        inside = " + ".join(self.d.clamp(f"{minute} - {begin}", 0, length) for begin, length in self.periods)
        return f"({self.per_day!r} * {self._days_before(day)} + {self._working(day)} * ({inside or '0'}))"


def limit_cases(scenario) -> tuple[str, str]:
    """Two SQL CASE expressions over ``t.stage``, ``t.category``, ``t.urgency``: the limit in
    minutes (natural or working; NULL when the stage has no limit) and whether it counts
    working time (1) or natural time (0).  Categories sharing a limit share a branch."""
    minutes_per_day = scenario.calendar.minutes_per_day
    amount_branches, working_branches = [], []
    for stage in LIMIT_STAGES:
        for urgency in ("normal", "urgent"):
            groups: dict[tuple, list[str]] = {}
            for category in sorted(scenario.categories):
                limit = scenario.limits.limit(Stage(stage), category, urgency)
                key = None if limit is None else (
                    limit.amount * {"minutes": 1, "hours": 60, "work_hours": 60, "work_days": minutes_per_day}[limit.unit],
                    1 if limit.unit.startswith("work_") else 0)
                groups.setdefault(key, []).append(category)
            ordered = sorted(groups.items(), key=lambda item: -len(item[1]))
            common, rest = ordered[0][0], ordered[1:]
            where = f"t.stage = '{stage}' AND t.urgency = '{urgency}'"
            for key, categories in rest:
                names = ", ".join("'" + c.replace("'", "''") + "'" for c in categories)
                amount, working = key if key else ("NULL", "NULL")
                amount_branches.append(f"WHEN {where} AND t.category IN ({names}) THEN {amount}")
                working_branches.append(f"WHEN {where} AND t.category IN ({names}) THEN {working}")
            amount, working = common if common else ("NULL", "NULL")
            amount_branches.append(f"WHEN {where} THEN {amount}")
            working_branches.append(f"WHEN {where} THEN {working}")
    return (f"(CASE {' '.join(amount_branches)} ELSE NULL END)", f"(CASE {' '.join(working_branches)} ELSE NULL END)")


#: events that leave the stage (and its clock) as it was: extended, and since issue 11 attached, visited
STAGE_KEEPING = tuple(t.value for t, (_, target) in TRANSITIONS.items() if target is None and t is not EventType.RESUMED)


def _previous(alias: str) -> str:
    """The time of the stage change before event ``alias`` (the clock's start)."""
    keeping = ", ".join(f"'{t}'" for t in STAGE_KEEPING)
    return (f"(SELECT p.at FROM case_events p WHERE p.case_id = {alias}.case_id AND p.id < {alias}.id "
            f"AND p.type NOT IN ({keeping}) ORDER BY p.id DESC LIMIT 1)")


def clock_start() -> str:
    """When the clock an act stops started.  The cases row answers most acts without a
    look-up: a report is decided once (``reported_at``), a case is verified once and closed
    once (``handled_at``/``verified_at`` are the last handling and the verification), and a
    never-returned case is dispatched once after its last entry into ``filed``
    (``filed_at``).  Re-dispatches and rework look up the event before them."""
    return ("CASE e.type WHEN 'filed' THEN c.reported_at WHEN 'rejected' THEN c.reported_at "
            # a case reopened after a return visit (issue 11) is verified and closed again: look up
            f"WHEN 'verified' THEN (CASE WHEN c.visit_count = 0 THEN c.handled_at ELSE {_previous('e')} END) "
            f"WHEN 'closed' THEN (CASE WHEN c.visit_count = 0 THEN c.verified_at ELSE {_previous('e')} END) "
            f"WHEN 'dispatched' THEN (CASE WHEN c.return_count = 0 THEN c.filed_at ELSE {_previous('e')} END) "
            f"ELSE {_previous('e')} END")


def acts_fill(dialect: Dialect, scenario):
    """The statement that records the acts among the events with ``:after < id <= :upto``
    in ``report_acts`` (see :mod:`datasource.services.report_acts`): event id, type, actor,
    time, the local day and shift in which its clock started, and whether it was on time
    (NULL when no clock start is known).  Already recorded events are left alone."""
    tz = scenario.calendar.tz
    d = dialect
    clock = WorkClockSQL(d, scenario.calendar)
    amount, working = limit_cases(scenario)
    stage_of = "CASE e.type " + " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in ACT_STAGE.items()) + " END"
    shift_of = "CASE " + " ".join(f"WHEN t.m0 >= {a} AND t.m0 < {b} THEN '{name}'" for name, a, b in SHIFTS) + " END"
    types = ", ".join(f"'{k}'" for k in ACT_STAGE)
    # Natural time first (between the UTC instants u0, u1: a daylight-saving change inside the
    # clock does not count), working time never exceeds it, so most acts are settled without
    # the working clock (on the local days and minutes of t0, t1).
    on_time = (f"CASE WHEN t.t0 IS NULL THEN NULL WHEN t.amount IS NULL THEN 1 "
               f"WHEN t.u1 - t.u0 <= t.amount * 60 + {EPSILON_S!r} THEN 1 "
               f"WHEN t.working = 0 THEN 0 "
               f"WHEN {clock.minutes('t.d1', 't.m1')} - {clock.minutes('t.d0', 't.m0')} <= t.amount + {EPSILON_S / 60!r} "
               f"THEN 1 ELSE 0 END")
    # local seconds of the clock's start and of the act (the zone's offset at each instant)
    t0, t1 = f"(a.u0 + {offset_sql(tz, 'a.u0')})", f"(a.u1 + {offset_sql(tz, 'a.u1')})"
    day0, day1 = d.day(f"{t0} / {DAY_S}"), d.day(f"{t1} / {DAY_S}")
    sql = f"""
WITH acts AS MATERIALIZED (
  SELECT e.id AS id, e.at AS at, e.actor AS actor, e.type AS type, c.category_code AS category,
         c.urgency AS urgency, {stage_of} AS stage,
         {d.epoch('e.at')} AS u1, {d.epoch(clock_start())} AS u0
  FROM case_events e JOIN cases c ON c.case_id = e.case_id
  WHERE e.id > :after AND e.id <= :upto AND e.type IN ({types})
),
t AS MATERIALIZED (
  SELECT a.id, a.at, a.actor, a.type, {t0} AS t0, {t1} AS t1, a.u0, a.u1, {day0} AS d0, {day1} AS d1,
         ({t0} - {day0} * {DAY_S}) / 60.0 AS m0, ({t1} - {day1} * {DAY_S}) / 60.0 AS m1,
         {amount.replace('t.', 'a.')} AS amount, {working.replace('t.', 'a.')} AS working
  FROM acts a
)
INSERT INTO report_acts (event_id, type, actor, at, start_day, shift, on_time)
SELECT t.id, t.type, t.actor, t.at, t.d0, {shift_of}, {on_time}
FROM t WHERE t.id IS NOT NULL
ON CONFLICT DO NOTHING
"""
    return text(sql)


def config_key(scenario) -> str:
    """A digest of everything the recorded acts depend on: limits, calendar, zone, shifts."""
    import hashlib
    clock = WorkClockSQL(Dialect("sqlite"), scenario.calendar)
    parts = repr((limit_cases(scenario), clock.periods, clock.workweek, clock.makeups, clock.holidays,
                  clock.extra_days, clock.off_days, clock.per_day, zone_key(scenario.calendar.tz), SHIFTS,
                  sorted(ACT_STAGE.items()), EPSILON_S))
    return hashlib.sha256(parts.encode()).hexdigest()[:32]


def returns_query(period, scope: str | None = None):
    """Dispatches done in the period that the department returned (退回), by dispatcher (and
    one row of actor NULL: returns of dispatches outside the period, to be ignored): each
    ``returned`` event is charged to the dispatch it undid (the last one before it).  A
    sub-centre's ``scope`` (street or community code) counts its own cases only."""
    column = {9: "street_code", 12: "community_code"}.get(len(scope or ""))
    in_scope = (f"JOIN cases c ON c.case_id = r.case_id AND c.{column} = :scope" if column else "")
    # The dispatch and its actor are looked up per return (scalar subqueries by index): as a
    # join, PostgreSQL hashed every event of the window (~2 s for 90 days of 1,300 cases a day).
    # Returns whose dispatch lies outside the period count for actor NULL (no dispatcher):
    # filtering them in SQL would make PostgreSQL evaluate the subqueries twice.
    sql = f"""
SELECT y.actor AS actor, COUNT(*) AS returned
FROM (SELECT (SELECT d.actor FROM case_events d WHERE d.id = x.dispatch_id
              AND d.at >= :start AND d.at < :end) AS actor
      FROM (SELECT (SELECT p.id FROM case_events p WHERE p.case_id = r.case_id AND p.id < r.id
                    AND p.type = 'dispatched' ORDER BY p.id DESC LIMIT 1) AS dispatch_id
            FROM case_events r {in_scope} WHERE r.type = 'returned' AND r.at >= :start) x) y
GROUP BY y.actor
"""
    params = {"start": period.start, "end": period.end}
    statement = text(sql).bindparams(bindparam("start", type_=TS), bindparam("end", type_=TS))
    if column:
        params["scope"] = scope
    return statement, params
