"""The SQL of the department evaluation: every figure aggregated in the database.

The period's cases (the *cohort*) are the cases first dispatched in [lo, hi): one range of
``ix_cases_first_dispatched_at`` (the projection keeps the first dispatch's time on the
case; migration 0002).  Each query groups in SQL; what leaves the database is one row per
group.  Handling times need the working calendar and medians need the values, so each
group also carries its handled cases' two instants packed in one text field
(:func:`packed_handling`), which Python turns into working hours.  Returns are attributed to the department that
made them through ``case_events`` (the dispatch before each return), for the few returned
cases of the window only.  Times are compared as the column type binds them (UTC text on
SQLite, timestamptz on PostgreSQL); local days and epoch seconds come from small
dialect-specific expressions below.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import BigInteger, Date, Integer, String, and_, case, cast, func, or_, select, text, true, type_coerce
from sqlalchemy.dialects import postgresql

from dashboard.domain.evaluation import DEPARTMENT_STAGES, HANDLED_STAGES, WAITING_STAGE
from datasource.services.scoping import where_scope
from datasource.services.zone_sql import is_fixed, offset_expression, zone_key
from datasource.store import schema

EVENTS = schema.case_events
CASES = schema.cases


# ---------------------------------------------------------------------------- dialect helpers
def local_day(column, dialect: str, tz, at: datetime):
    """The local date of a timestamp column, as ``YYYY-MM-DD`` text or a date.

    PostgreSQL converts with the zone's rules (``AT TIME ZONE``); SQLite has no zone data,
    so it adds the zone's offset: a constant for zones without daylight saving (Asia/Shanghai),
    else the offset in force at each instant (:mod:`datasource.services.zone_sql`).  ``at`` is
    kept for the callers' signature."""
    if dialect == "postgresql":
        return cast(func.timezone(str(tz), column), Date)
    if is_fixed(tz):
        return func.date(column, f"{zone_key(tz):+d} seconds")
    epoch = (func.julianday(column) - 2440587.5) * 86400.0
    return func.date(column, func.printf("%+d seconds", offset_expression(tz, epoch)))


def epoch_text(column, dialect: str):
    """Whole seconds since 1970 of a timestamp column, as text."""
    if dialect == "postgresql":
        return cast(cast(func.round(func.extract("epoch", column)), BigInteger), String)
    return cast(cast(func.round((func.julianday(column) - 2440587.5) * 86400.0), Integer), String)


def packed_handling(dialect: str):
    """The group's handled cases as one text, ``first:handled,first:handled,…`` (epoch
    seconds): the values the medians need leave the database as one field per group
    instead of one row per case (fetching ~40,000 rows costs more than the query)."""
    pair = epoch_text(CASES.c.first_dispatched_at, dialect) + ":" + epoch_text(CASES.c.handled_at, dialect)
    aggregate = func.string_agg(pair, ",") if dialect == "postgresql" else func.group_concat(pair, ",")
    return aggregate.filter(CASES.c.stage.in_(HANDLED_STAGES))


def json_text(column, key: str, dialect: str):
    """One top-level text field of a JSON text column."""
    if dialect == "postgresql":
        return cast(column, postgresql.JSONB)[key].astext
    return func.json_extract(column, f"$.{key}")


def _flag(condition):
    return case((condition, 1), else_=0)


# ---------------------------------------------------------------------------- the cohort
def cohort(lo: datetime, hi: datetime, department: str | None = None, scope: str | None = None):
    """The WHERE clause of the period's cases (one index range), of a sub-centre's ``scope``."""
    first = CASES.c.first_dispatched_at
    where = [first >= lo, first < hi]
    if department is not None:
        where.append(CASES.c.department_code == department)
    in_scope = where_scope(CASES, scope)
    if in_scope is not None:
        where.append(in_scope)
    return and_(*where)


def fixed_figures(dialect: str) -> list:
    """The figures of a group that do not depend on the moment asked (labelled): the counts
    that add up over days, and the handled cases' times (packed)."""
    c = CASES
    handled = c.c.stage.in_(HANDLED_STAGES)
    return [
        func.count().label("due"),
        func.sum(_flag(handled)).label("handled"),
        func.sum(_flag(and_(handled, c.c.handled_on_time.is_(True)))).label("handled_on_time"),
        func.sum(_flag(c.c.stage == "closed")).label("closed"),
        func.sum(c.c.rework_count).label("reworks"),
        func.sum(c.c.extension_count).label("extensions"),
        packed_handling(dialect).label("handling"),
    ]


def waiting_figures(now: datetime, waiting=None) -> list:
    """The figures of the cases waiting for their department (labelled): overdue ``now``,
    the backlog and the first dispatch of the oldest.  ``waiting``: the condition of a
    waiting case (``true()`` where the statement reads waiting cases only)."""
    c = CASES
    waiting = c.c.stage == WAITING_STAGE if waiting is None else waiting
    return [
        func.sum(_flag(and_(waiting, c.c.handle_deadline_at < now))).label("overdue_now"),
        func.sum(_flag(waiting)).label("backlog"),
        func.min(type_coerce(case((waiting, c.c.first_dispatched_at)), schema.TS)).label("oldest_waiting"),
    ]


def figures(now: datetime, dialect: str) -> list:
    """The figures of a group of the cohort, labelled (see the domain's definitions): the
    additive counts, the oldest waiting case, and the handled cases' times (packed)."""
    return fixed_figures(dialect) + waiting_figures(now)


ADDITIVE = ("due", "handled", "handled_on_time", "closed", "reworks", "extensions", "overdue_now", "backlog")
FIXED = ADDITIVE[:6]     # what the daily roll-up keeps (report_departments_daily)


def by_department_day(connection, lo, hi, now, tz, department: str | None = None, scope: str | None = None) -> list[dict]:
    """Figures per (department, local day of first dispatch) of the period's cases."""
    dialect = connection.dialect.name
    day = local_day(CASES.c.first_dispatched_at, dialect, tz, lo).label("day")
    statement = (select(CASES.c.department_code.label("department"), day, *figures(now, dialect))
                 .where(cohort(lo, hi, department, scope)).group_by(CASES.c.department_code, day))
    return [dict(r) for r in connection.execute(statement).mappings()]


def fixed_by_department_day(connection, lo, hi, tz, departments=None) -> list[dict]:
    """The roll-up's figures per (department, local day of first dispatch) of the cases first
    dispatched in [lo, hi), of ``departments`` only when given (a recount)."""
    dialect = connection.dialect.name
    day = local_day(CASES.c.first_dispatched_at, dialect, tz, lo).label("day")
    where = [cohort(lo, hi)]
    if departments is not None:
        where.append(CASES.c.department_code.in_(sorted(departments)))
    statement = (select(CASES.c.department_code.label("department"), day, *fixed_figures(dialect))
                 .where(*where).group_by(CASES.c.department_code, day))
    return [dict(r) for r in connection.execute(statement).mappings()]


#: The waiting cases as ``ix_cases_waiting``'s predicate spells it (a literal, so that the
#: planner can match the partial index whatever the parameters).
WAITING_ONLY = text(f"cases.stage = '{WAITING_STAGE}'")


def waiting_by_department(connection, lo, hi, now) -> list[dict]:
    """Overdue now, backlog and oldest waiting per department of the period's cases waiting
    for it (``ix_cases_waiting`` alone)."""
    # every row is a waiting case: the figures need not read ``stage``, so that the planner
    # answers from the index alone (an index-only scan: ~3 × faster than visiting the rows)
    statement = (select(CASES.c.department_code.label("department"), *waiting_figures(now, true()))
                 .where(cohort(lo, hi), WAITING_ONLY).group_by(CASES.c.department_code))
    return [dict(r) for r in connection.execute(statement).mappings()]


def by_day_category_street(connection, lo, hi, now, tz, department: str, scope: str | None = None) -> list[dict]:
    """One department's figures per (local day, category, street): trend and breakdowns."""
    dialect = connection.dialect.name
    day = local_day(CASES.c.first_dispatched_at, dialect, tz, lo).label("day")
    statement = (select(day, CASES.c.category_code.label("category"), CASES.c.street_code.label("street"),
                        *figures(now, dialect))
                 .where(cohort(lo, hi, department, scope))
                 .group_by(day, CASES.c.category_code, CASES.c.street_code))
    return [dict(r) for r in connection.execute(statement).mappings()]


def _attributed(lo, hi, kinds: tuple[str, ...], dialect: str, scope: str | None = None):
    """Subquery of the period's cases' events of ``kinds`` with the department the case was
    dispatched to when the event happened (the latest dispatch before it)."""
    r = EVENTS.alias("r")
    d = EVENTS.alias("d")
    at_the_time = (select(json_text(d.c.body, "department", dialect))
                   .where(d.c.case_id == r.c.case_id, d.c.type == "dispatched", d.c.id < r.c.id)
                   .order_by(d.c.id.desc()).limit(1).scalar_subquery())
    # returned or reworked cases: the partial index ix_cases_first_dispatched_touched
    touched = or_(CASES.c.return_count > 0, CASES.c.rework_count > 0)
    return (select(r.c.id, r.c.case_id, r.c.type, r.c.at, r.c.actor, r.c.body, at_the_time.label("department"),
                   CASES.c.department_code.label("current"), CASES.c.category_code, CASES.c.street_code,
                   CASES.c.first_dispatched_at)
            .select_from(CASES.join(r, r.c.case_id == CASES.c.case_id))
            .where(cohort(lo, hi, scope=scope), touched, r.c.type.in_(kinds))).subquery("attributed")


def returns_by_department(connection, lo, hi, scope: str | None = None) -> dict[str, int]:
    """Returns (退回) of the period's cases per department that returned them."""
    sub = _attributed(lo, hi, ("returned",), connection.dialect.name, scope)
    rows = connection.execute(select(sub.c.department, func.count()).group_by(sub.c.department))
    return {dept: int(n) for dept, n in rows if dept}


def returns_by_department_day(connection, lo, hi, tz) -> dict[tuple, int]:
    """Returns (退回) of the cases first dispatched in [lo, hi) per (department that returned
    them, local day of the case's first dispatch) — the roll-up's ``returns``."""
    dialect = connection.dialect.name
    sub = _attributed(lo, hi, ("returned",), dialect)
    day = local_day(sub.c.first_dispatched_at, dialect, tz, lo)
    rows = connection.execute(select(sub.c.department, day, func.count()).group_by(sub.c.department, day))
    return {(dept, day): int(n) for dept, day, n in rows if dept}


def returns_and_reworks(connection, lo, hi, department: str, limit: int, scope: str | None = None) -> list[dict]:
    """Returns by ``department`` and reworks of its cases, among the period's cases, newest first."""
    sub = _attributed(lo, hi, ("returned", "rework"), connection.dialect.name, scope)
    mine = or_(and_(sub.c.type == "returned", sub.c.department == department),
               and_(sub.c.type == "rework", sub.c.current == department))
    statement = (select(sub.c.case_id, sub.c.type, sub.c.at, sub.c.actor, sub.c.body, sub.c.category_code,
                        sub.c.street_code)
                 .where(mine).order_by(sub.c.at.desc(), sub.c.id.desc()).limit(limit))
    return [dict(r) for r in connection.execute(statement).mappings()]


def _scoped(scope: str | None) -> list:
    condition = where_scope(CASES, scope)
    return [] if condition is None else [condition]


# ---------------------------------------------------------------------------- now (any period)
OPEN_COLUMNS = ("case_id", "stage", "category_code", "street_code", "urgency", "description", "dispatched_at",
                "stage_entered_at", "warn_at", "deadline_at", "handle_deadline_at", "rework_count", "return_count",
                "extension_count")


def open_cases(connection, department: str, limit: int, scope: str | None = None) -> list[dict]:
    """The department's open cases now (``ix_cases_department_stage``), nearest deadline first."""
    c = CASES
    statement = (select(*[c.c[name] for name in OPEN_COLUMNS])
                 .where(c.c.department_code == department, c.c.stage.in_(DEPARTMENT_STAGES))
                 .where(*_scoped(scope))
                 .order_by(c.c.deadline_at.is_(None), c.c.deadline_at, c.c.case_id).limit(limit))
    return [dict(r) for r in connection.execute(statement).mappings()]


def overdue_cases(connection, department: str, now: datetime, limit: int, scope: str | None = None) -> list[dict]:
    """The department's cases waiting for it past their handling deadline, oldest deadline first."""
    c = CASES
    statement = (select(*[c.c[name] for name in OPEN_COLUMNS])
                 .where(c.c.department_code == department, c.c.stage == WAITING_STAGE,
                        c.c.handle_deadline_at < now, *_scoped(scope))
                 .order_by(c.c.handle_deadline_at, c.c.case_id).limit(limit))
    return [dict(r) for r in connection.execute(statement).mappings()]


def utc(value) -> datetime | None:
    """A timestamp from a driver as an aware UTC datetime (SQLite may give text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)

