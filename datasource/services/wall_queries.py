"""The few reads the wall's live snapshot makes, each bounded and index-backed.

Nothing here scans case history: open cases come through ``ix_cases_stage_deadline``
(stage prefix), new events through the ``case_events`` primary key (``id > last``), changed
cases by primary key, the department window through ``ix_cases_closed_at``, and the stage
strip from the worker's incremental aggregates (``live_counts``, ``daily_flow``).  The
Redis reads (health and backlog) use their own client with short timeouts, so a dead
server makes the wall say so within a second instead of hanging a request for ten.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import case, func, select

from datasource.services.scoping import where_scope
from datasource.store import schema
from datasource.services.wall_state import ClosedWindow

CHUNK = 900  # bound parameters per IN (…), under every driver's limit
OPEN = schema.OPEN_STAGES

#: The columns of an open case the wall keeps in memory (markers, overdue, department board).
CASE_COLUMNS = ("case_id", "stage", "category_code", "department_code", "grid_code", "street_code", "lon", "lat",
                "description", "warn_at", "deadline_at", "handle_deadline_at", "handled_on_time", "rework_count",
                "urgency")


def _case_select():
    table = schema.cases
    return select(*[table.c[name] for name in CASE_COLUMNS])


def open_cases(connection) -> list[dict]:
    """Every case in an open stage (the stage index bounds this by the open workload)."""
    rows = connection.execute(_case_select().where(schema.cases.c.stage.in_(OPEN))).mappings()
    return [dict(r) for r in rows]


def cases_by_id(connection, case_ids) -> list[dict]:
    """The current rows of the given cases (primary-key look-ups, chunked)."""
    ids = sorted(case_ids)
    out: list[dict] = []
    for i in range(0, len(ids), CHUNK):
        rows = connection.execute(_case_select().where(schema.cases.c.case_id.in_(ids[i:i + CHUNK]))).mappings()
        out.extend(dict(r) for r in rows)
    return out


def events_after(connection, last_id: int, limit: int) -> list[tuple[int, str, str | None]]:
    """(id, case id, stream id) of events applied after ``last_id``, oldest first.

    The applied order (``case_events.id``) is used, not the event times: an event can arrive
    late with an old timestamp, and a watermark on ``cases.updated_at`` would miss it."""
    table = schema.case_events
    rows = connection.execute(select(table.c.id, table.c.case_id, table.c.stream_id)
                              .where(table.c.id > last_id).order_by(table.c.id).limit(limit))
    return [tuple(r) for r in rows]


def newest_event(connection) -> tuple[int, str | None] | None:
    """(id, stream id) of the newest applied event, or None on an empty table."""
    table = schema.case_events
    row = connection.execute(select(table.c.id, table.c.stream_id).order_by(table.c.id.desc()).limit(1)).first()
    return (row[0], row[1]) if row else None


def latest_events(connection, n: int, after: int = 0) -> list[dict]:
    """The newest ``n`` applied events (with ids above ``after``), newest first, with their
    case's category, street, grid and description."""
    events, cases = schema.case_events, schema.cases
    rows = connection.execute(
        select(events.c.id, events.c.at, events.c.case_id, events.c.type, cases.c.category_code,
               cases.c.street_code, cases.c.grid_code, cases.c.description)
        .select_from(events.outerjoin(cases, cases.c.case_id == events.c.case_id))
        .where(events.c.id > after).order_by(events.c.id.desc()).limit(n)).mappings()
    return [dict(r) for r in rows]


def timelines(connection, case_ids) -> dict[str, list]:
    """[[type, at], …] per case, oldest first (the few alarm cases the wall follows)."""
    table = schema.case_events
    out: dict[str, list] = {case: [] for case in case_ids}
    if not out:
        return out
    rows = connection.execute(select(table.c.case_id, table.c.type, table.c.at)
                              .where(table.c.case_id.in_(sorted(out))).order_by(table.c.id))
    for case, kind, at in rows:
        out[case].append([kind, at])
    return out


def stage_counts(connection) -> dict[str, int]:
    """Cases now in each stage, from the worker's incremental ``live_counts`` (scope all)."""
    table = schema.live_counts
    rows = connection.execute(select(table.c.stage, table.c.n).where(table.c.scope == "all", table.c.key == ""))
    return {stage: int(n) for stage, n in rows}


def street_counts(connection, street: str) -> dict[str, int]:
    """Cases now in each stage in one street (``live_counts`` scope ``street``)."""
    table = schema.live_counts
    rows = connection.execute(select(table.c.stage, table.c.n).where(table.c.scope == "street", table.c.key == street))
    return {stage: int(n) for stage, n in rows}


def scoped_flow(connection, since: datetime, scope: str) -> dict[str, int]:
    """Events of each type applied since ``since`` to cases inside ``scope`` (a street or
    community wall's "today": ``daily_flow`` has no place, so this reads the day's events
    through ``ix_case_events_type_at`` and joins their cases)."""
    events, cases = schema.case_events, schema.cases
    rows = connection.execute(
        select(events.c.type, func.count()).select_from(events.join(cases, cases.c.case_id == events.c.case_id))
        .where(events.c.at >= since, where_scope(cases, scope)).group_by(events.c.type))
    return {kind: int(n) for kind, n in rows}


def flow_of_day(connection, day: date) -> dict[str, int]:
    """Events of each type applied for local date ``day`` (``daily_flow``)."""
    table = schema.daily_flow
    rows = connection.execute(select(table.c.type, table.c.n).where(table.c.day == day))
    return {kind: int(n) for kind, n in rows}


def closed_since(connection, since: datetime, scope: str | None = None) -> dict[str | None, ClosedWindow]:
    """Per department: cases closed since ``since`` (range on ``ix_cases_closed_at``), inside
    ``scope`` when given (a street wall's board)."""
    table = schema.cases
    on_time = func.sum(case((table.c.handled_on_time.is_(True), 1), else_=0))
    statement = (select(table.c.department_code, func.count(), func.count(table.c.handled_on_time), on_time,
                        func.sum(table.c.rework_count))
                 .where(table.c.closed_at >= since).group_by(table.c.department_code))
    condition = where_scope(table, scope)
    rows = connection.execute(statement if condition is None else statement.where(condition))
    return {dept: ClosedWindow(int(n), int(h or 0), int(t or 0), int(r or 0)) for dept, n, h, t, r in rows}
