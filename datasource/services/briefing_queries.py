"""The reads of the daily briefing, each bounded by a time range and index-backed.

Day figures come from ``case_events`` by event time (``ix_case_events_type_at``) and the
cases reported in a range from ``cases`` (``ix_cases_reported`` covers the columns read,
so PostgreSQL answers from the index alone).  Times are compared as instants (UTC), so
a local day is exactly ``[start, end)`` of :func:`dashboard.domain.briefing.day_bounds`.

Every read takes the reader's ``scope`` (a street or community code, None = the district;
:mod:`dashboard.domain.scope`): a sub-centre's briefing is the same computation over its
own cases — on ``cases`` by the place columns, on ``case_events`` through the event's case.

Counts per local day are grouped in SQL by the day's index from a start instant —
``(epoch(t) − epoch(start)) // 86400`` — when the zone's offset does not change over the
range (always so for Asia/Shanghai); otherwise by a ``CASE`` over the exact day bounds.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from sqlalchemy import Integer, String, and_, any_, case, cast, func, literal, or_, select
from sqlalchemy.dialects.postgresql import ARRAY

from dashboard.domain.briefing import day_bounds
from dashboard.domain.events import CaseEvent
from dashboard.domain.lifecycle import EventType
from dashboard.domain.projection import apply_event
from datasource.services.scoping import scoped, where_scope
from datasource.store import schema

CHUNK = 900
EVENTS, CASES = schema.case_events, schema.cases
OPEN = schema.OPEN_STAGES
NEW_CASE_COLUMNS = ("case_id", "reported_at", "category_code", "urgency", "source", "grid_code", "street_code")


def _ids_clause(column, ids: list[str], dialect: str):
    if dialect == "postgresql":
        return column == any_(literal(ids, ARRAY(String)))
    return column.in_(ids)


def _chunks(ids: list[str], dialect: str):
    step = max(len(ids), 1) if dialect == "postgresql" else CHUNK   # one array parameter on PostgreSQL
    for i in range(0, len(ids), step):
        yield ids[i:i + step]


# ---------------------------------------------------------------------------- day counts
def _events_in_scope(statement, scope: str | None):
    """``statement`` over ``case_events`` restricted to the events of cases inside ``scope``."""
    condition = where_scope(CASES, scope)
    if condition is None:
        return statement
    return statement.where(EVENTS.c.case_id.in_(select(CASES.c.case_id).where(condition)))


def event_counts(connection, start: datetime, end: datetime, types: tuple[str, ...],
                 scope: str | None = None) -> dict[str, int]:
    """Events of each of ``types`` with ``start <= at < end`` (of cases inside ``scope``)."""
    rows = connection.execute(_events_in_scope(select(EVENTS.c.type, func.count()).where(
        EVENTS.c.type.in_(types), EVENTS.c.at >= start, EVENTS.c.at < end), scope).group_by(EVENTS.c.type))
    found = {kind: int(n) for kind, n in rows}
    return {kind: found.get(kind, 0) for kind in types}


def any_event(connection, start: datetime, end: datetime) -> bool:
    """Whether anything at all happened in ``[start, end)`` (a day without data says so)."""
    types = [e.value for e in EventType]
    row = connection.execute(select(EVENTS.c.id).where(EVENTS.c.type.in_(types), EVENTS.c.at >= start,
                                                       EVENTS.c.at < end).limit(1)).first()
    return row is not None


def new_cases(connection, start: datetime, end: datetime, scope: str | None = None) -> list[dict]:
    """The cases reported in ``[start, end)`` (the columns the covering index holds)."""
    rows = connection.execute(scoped(select(*[CASES.c[n] for n in NEW_CASE_COLUMNS]).where(
        CASES.c.reported_at >= start, CASES.c.reported_at < end), CASES, scope))
    return [dict(zip(NEW_CASE_COLUMNS, r)) for r in rows]


def cohort(connection, start: datetime, end: datetime, scope: str | None = None) -> list[dict]:
    """The cases first dispatched in ``[start, end)``, with their state now: the "due"
    cases of the department evaluation (a re-dispatch after 退回/返工 is not a new one).

    Three index-backed steps (dispatches in the range; which of those cases had an earlier
    dispatch; their rows) — one correlated query was planned badly by SQLite."""
    dialect = connection.dialect.name
    ids = sorted(set(connection.execute(select(EVENTS.c.case_id).where(
        EVENTS.c.type == "dispatched", EVENTS.c.at >= start, EVENTS.c.at < end)).scalars()))
    earlier: set[str] = set()
    for chunk in _chunks(ids, dialect):
        # By case id alone (a few events each): with the type and time in SQL, PostgreSQL
        # intersects the case-id index with every dispatch in history.
        for case_id, kind, at in connection.execute(select(EVENTS.c.case_id, EVENTS.c.type, EVENTS.c.at).where(
                _ids_clause(EVENTS.c.case_id, chunk, dialect))):
            if kind == "dispatched" and at < start:
                earlier.add(case_id)
    first = [c for c in ids if c not in earlier]
    columns = ("case_id", "stage", "department_code", "handled_at", "closed_at", "handled_on_time", "rework_count")
    return list(cases_by_id(connection, first, columns, scope).values())


# ---------------------------------------------------------------------------- counts per day
def _constant_offset(tz, start: datetime, days: int) -> bool:
    offsets = {datetime.combine(start.astimezone(tz).date() + timedelta(days=i), datetime.min.time(), tz).utcoffset()
               for i in range(days + 1)}
    return len(offsets) == 1


def _epoch(column, dialect: str):
    if dialect == "postgresql":
        return func.extract("epoch", column)
    return cast(func.strftime("%s", column), Integer)   # SQLite stores UTC text


def _day_index(column, first: date, days: int, tz, dialect: str):
    """SQL expression: index of the local day (0 = ``first``) an instant falls in."""
    start, _ = day_bounds(first, tz)
    if _constant_offset(tz, start, days):
        seconds = _epoch(column, dialect) - int(start.timestamp())
        if dialect == "postgresql":
            return cast(func.floor(seconds / 86400), Integer)
        return cast(seconds / 86400, Integer)   # integer division of non-negative values
    whens = []
    for i in range(days):
        lo, hi = day_bounds(first + timedelta(days=i), tz)
        whens.append((and_(column >= lo, column < hi), i))
    return case(*whens, else_=-1)


def daily_counts(connection, first: date, days: int, tz, keys: tuple[str, ...],
                 scope: str | None = None) -> list[tuple]:
    """(day index, *keys, count) of cases reported in the ``days`` local days from ``first``,
    grouped by ``keys`` among ``street_code``, ``grid_code`` and ``group`` (category major class)."""
    start, _ = day_bounds(first, tz)
    _, end = day_bounds(first + timedelta(days=days - 1), tz)
    dialect = connection.dialect.name
    index = _day_index(CASES.c.reported_at, first, days, tz, dialect).label("d")
    columns = [CASES.c[k] if k != "group" else func.substr(CASES.c.category_code, 1, 3).label("g") for k in keys]
    statement = (scoped(select(index, *columns, func.count()).where(CASES.c.reported_at >= start,
                                                                    CASES.c.reported_at < end), CASES, scope)
                 .group_by(index, *columns))
    return [tuple(r) for r in connection.execute(statement)]


def window_counts(connection, days: list[date], tz, keys: tuple[str, ...], scope: str | None = None) -> list[tuple]:
    """(position in ``days``, *keys, count) of cases reported on each of ``days`` (any dates)."""
    if not days:
        return []
    bounds = [day_bounds(d, tz) for d in days]
    index = case(*[(and_(CASES.c.reported_at >= lo, CASES.c.reported_at < hi), i)
                   for i, (lo, hi) in enumerate(bounds)], else_=-1).label("w")
    columns = [CASES.c[k] if k != "group" else func.substr(CASES.c.category_code, 1, 3).label("g") for k in keys]
    where = or_(*[and_(CASES.c.reported_at >= lo, CASES.c.reported_at < hi) for lo, hi in bounds])
    statement = scoped(select(index, *columns, func.count()).where(where), CASES, scope)
    return [tuple(r) for r in connection.execute(statement.group_by(index, *columns))]


# ---------------------------------------------------------------------------- state at an instant
STATE_COLUMNS = [c.name for c in CASES.columns]


def open_at(connection, at: datetime, scenario, now: datetime, scope: str | None = None) -> list[dict]:
    """Every case open at instant ``at``, as its ``cases`` row was at that instant.

    A case untouched since ``at`` is its row now; a case with events after ``at`` (it was
    in the backlog then) is rebuilt by folding its events up to ``at`` through the
    domain's projection — the same rules the worker applied, so the deadlines are the
    ones the wall showed at that moment."""
    dialect = connection.dialect.name
    rows: dict[str, dict] = {}
    select_cases = scoped(select(*[CASES.c[n] for n in STATE_COLUMNS]), CASES, scope)
    if at < now:
        still = connection.execute(select_cases.where(CASES.c.stage.in_(OPEN), CASES.c.reported_at <= at))
    else:
        still = connection.execute(select_cases.where(CASES.c.stage.in_(OPEN)))
    untouched, refold = [], []
    for r in still:
        row = dict(zip(STATE_COLUMNS, r))
        (untouched if row["updated_at"] <= at else refold).append(row)
    for row in untouched:
        rows[row["case_id"]] = row
    if at >= now:
        return list(rows.values())
    # Cases that ended after ``at`` (closed: the closed_at index; rejected: the events'
    # type-and-time index) — two range reads, never a scan of the history.
    closed = connection.execute(select_cases.where(CASES.c.closed_at > at, CASES.c.reported_at <= at))
    refold.extend(dict(zip(STATE_COLUMNS, r)) for r in closed)
    rejected = list(connection.execute(select(EVENTS.c.case_id).where(EVENTS.c.type == "rejected",
                                                                      EVENTS.c.at > at)).scalars())
    for chunk in _chunks(sorted(set(rejected)), dialect):
        refold.extend(dict(zip(STATE_COLUMNS, r)) for r in connection.execute(
            select_cases.where(_ids_clause(CASES.c.case_id, chunk, dialect), CASES.c.reported_at <= at)))
    rows.update(_fold(connection, refold, at, scenario, dialect))
    return [row for row in rows.values() if row["stage"] in OPEN]


def _fold(connection, current: list[dict], at: datetime, scenario, dialect: str) -> dict[str, dict]:
    """The rows of ``current`` cases as they were at ``at`` (their events up to ``at``)."""
    places = {r["case_id"]: (r["grid_code"], r["community_code"], r["street_code"]) for r in current}
    ids = sorted(places)
    out: dict[str, dict] = {}
    for chunk in _chunks(ids, dialect):
        statement = (select(EVENTS.c.event_id, EVENTS.c.case_id, EVENTS.c.type, EVENTS.c.at, EVENTS.c.actor,
                            EVENTS.c.body)
                     .where(_ids_clause(EVENTS.c.case_id, chunk, dialect), EVENTS.c.at <= at)
                     .order_by(EVENTS.c.case_id, EVENTS.c.at, EVENTS.c.id))
        for event_id, case_id, kind, when, actor, body in connection.execute(statement):
            event = CaseEvent(event_id, case_id, EventType(kind), when, actor, json.loads(body))
            out[case_id] = apply_event(out.get(case_id), event, scenario, places[case_id])
    return out


def case_events_of(connection, case_ids: list[str]) -> dict[str, list[tuple]]:
    """(type, at, actor, body) of the events of a few cases, in order."""
    out: dict[str, list[tuple]] = {c: [] for c in case_ids}
    if not case_ids:
        return out
    dialect = connection.dialect.name
    for chunk in _chunks(sorted(case_ids), dialect):
        statement = (select(EVENTS.c.case_id, EVENTS.c.type, EVENTS.c.at, EVENTS.c.actor, EVENTS.c.body)
                     .where(_ids_clause(EVENTS.c.case_id, chunk, dialect)).order_by(EVENTS.c.at, EVENTS.c.id))
        for case_id, kind, when, actor, body in connection.execute(statement):
            out[case_id].append((kind, when, actor, body))
    return out


def cases_by_id(connection, case_ids: list[str], columns: tuple[str, ...],
                scope: str | None = None) -> dict[str, dict]:
    """The rows (``columns``) of the cases ``case_ids`` that lie inside ``scope``."""
    out: dict[str, dict] = {}
    dialect = connection.dialect.name
    for chunk in _chunks(sorted(case_ids), dialect):
        for r in connection.execute(scoped(select(*[CASES.c[n] for n in columns])
                                           .where(_ids_clause(CASES.c.case_id, chunk, dialect)), CASES, scope)):
            row = dict(zip(columns, r))
            out[row["case_id"]] = row
    return out


def grid_geometries(connection) -> list[tuple[str, str, str, str]]:
    """(grid code, street code, community code, GeoJSON text) of every unit grid, by code."""
    grids = schema.grids
    return [tuple(r) for r in connection.execute(select(grids.c.code, grids.c.street_code, grids.c.community_code,
                                                        grids.c.geometry).order_by(grids.c.code))]
