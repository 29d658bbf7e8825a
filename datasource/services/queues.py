"""True work queues: every open case of a queue counted and paged in SQL, with filters and sorts.

The work pages used to draw the first 100 of at most 1,000 rows and show that as the queue's
size; a supervision centre with 1,009 cases to verify saw "100".  Here a queue is a SQL
question: :meth:`QueueService.page` answers one page of rows *and* the total of the same
``WHERE`` (``count(*)``), so the number on the page is the number in the database.

Filters (:class:`QueueFilter`): street, category, urgency, source and "overdue" (the
current stage's deadline has passed).  Sorts (:data:`SORTS`): most urgent first (urgent, then
the earliest deadline: the default of the dispatch and supervision queues), newest first
(urgent, then the case that arrived in the queue last: the department's default, so a new
case is on top, not at the bottom), earliest deadline, longest waiting.

The rows of a page are overlaid with the command side's stage (as
:meth:`CaseQueries.queue` does): a case acted on a second ago leaves the page at once; the
total is the reporting database's and catches up when the worker has projected the event.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from sqlalchemy import case as sql_case, func, select

from dashboard.domain.limits import traffic_light
from datasource.services.scoping import scoped
from datasource.services.cases import with_lights
from datasource.store import schema

#: sort key → description (the i18n keys are ``work.sort.<key>``)
SORTS = ("urgent", "newest", "deadline", "waiting")
PER_PAGE = 20
MAX_PER_PAGE = 200
MAX_POINTS = 5000  # map points of one queue (clustered on the map)
URGENCIES = ("normal", "urgent")
ROW_COLUMNS = ("case_id", "stage", "category_code", "urgency", "department_code", "grid_code", "community_code",
               "street_code", "lon", "lat", "description", "reporter", "source", "reported_at", "stage_entered_at",
               "warn_at", "deadline_at", "version", "rework_count", "return_count", "suspended_from")


@dataclass(frozen=True)
class QueueFilter:
    """What a queue is narrowed to; every field optional (None / False = no condition)."""

    street: str | None = None
    category: str | None = None
    urgency: str | None = None
    source: str | None = None
    overdue: bool = False

    @classmethod
    def of(cls, data: dict | None) -> "QueueFilter":
        """From a page's filter store or a query string; unknown keys and empty values ignored."""
        data = data or {}

        def text(name):
            value = data.get(name)
            return str(value)[:40] if value not in (None, "", []) else None
        urgency = text("urgency")
        return cls(street=text("street"), category=text("category"),
                   urgency=urgency if urgency in URGENCIES else None, source=text("source"),
                   overdue=bool(data.get("overdue")) and data.get("overdue") not in ("0", "false", []))

    def as_dict(self) -> dict:
        return asdict(self)


def clamp_page(page, pages: int) -> int:
    """A page number inside 1 … ``pages`` (bad input → 1)."""
    try:
        page = int(page)
    except (TypeError, ValueError):
        return 1
    return max(1, min(page, max(pages, 1)))


class QueueService:
    """Counted, filtered, sorted and paged queues of open cases (plain data)."""

    def __init__(self, system, cases=None):
        self.system = system
        if cases is None:
            from datasource.services.cases import CaseQueries
            cases = CaseQueries(system)
        self.cases = cases

    @property
    def engine(self):
        return self.system.engine

    def _where(self, statement, stages, department, scope, filters: QueueFilter):
        table = schema.cases
        statement = statement.where(table.c.stage.in_(list(stages)))
        if department:
            statement = statement.where(table.c.department_code == department)
        statement = scoped(statement, table, scope)
        for column in ("street", "category", "urgency", "source"):
            value = getattr(filters, column)
            if value:
                name = {"street": "street_code", "category": "category_code"}.get(column, column)
                statement = statement.where(table.c[name] == value)
        if filters.overdue:
            statement = statement.where(table.c.deadline_at.is_not(None), table.c.deadline_at < self.system.now())
        return statement

    @staticmethod
    def _order(sort: str):
        table = schema.cases
        urgent_first = sql_case((table.c.urgency == "urgent", 0), else_=1)
        no_deadline_last = sql_case((table.c.deadline_at.is_(None), 1), else_=0)
        if sort == "newest":
            return urgent_first, table.c.stage_entered_at.desc(), table.c.case_id.desc()
        if sort == "deadline":
            return no_deadline_last, table.c.deadline_at, table.c.case_id
        if sort == "waiting":
            return table.c.stage_entered_at, table.c.case_id
        return urgent_first, no_deadline_last, table.c.deadline_at, table.c.stage_entered_at, table.c.case_id

    def counts(self, stages, department: str | None = None, scope: str | None = None,
               filters: QueueFilter | None = None) -> dict[str, int]:
        """Cases per stage of ``stages`` in the reporting database (every one, no cap)."""
        table = schema.cases
        statement = self._where(select(table.c.stage, func.count()), stages, department, scope,
                                filters or QueueFilter()).group_by(table.c.stage)
        with self.engine.connect() as c:
            found = dict(c.execute(statement).all())
        return {stage: int(found.get(stage, 0)) for stage in stages}

    def page(self, stages, *, department: str | None = None, scope: str | None = None,
             filters: QueueFilter | None = None, sort: str = "urgent", page=1, per_page: int = PER_PAGE,
             overlay: bool = True) -> dict:
        """One page of a queue: ``{"total", "page", "pages", "per_page", "sort", "rows"}``.

        ``total`` counts every case of the queue (the same conditions, no limit); ``page`` is
        clamped to the pages there are; rows carry their traffic light and minutes waiting."""
        filters = filters or QueueFilter()
        sort = sort if sort in SORTS else "urgent"
        per_page = max(1, min(int(per_page or PER_PAGE), MAX_PER_PAGE))
        table = schema.cases
        total = sum(self.counts(stages, department, scope, filters).values())
        pages = max(1, math.ceil(total / per_page))
        page = clamp_page(page, pages)
        statement = self._where(select(*[table.c[name] for name in ROW_COLUMNS]), stages, department, scope, filters)
        statement = statement.order_by(*self._order(sort)).limit(per_page).offset((page - 1) * per_page)
        with self.engine.connect() as c:
            rows = with_lights([dict(r) for r in c.execute(statement).mappings()], self.system.now())
        if overlay and rows:
            rows = self.cases.overlay(rows, stages)
        return {"total": total, "page": page, "pages": pages, "per_page": per_page, "sort": sort, "rows": rows}

    def points(self, stages, *, department: str | None = None, scope: str | None = None,
               filters: QueueFilter | None = None, limit: int = MAX_POINTS) -> list[dict]:
        """The queue's cases as light map points (id, stage, position, category, street, light),
        the same filters as its pages, the earliest deadlines first (at most ``limit``)."""
        table = schema.cases
        statement = self._where(select(table.c.case_id, table.c.stage, table.c.category_code, table.c.street_code,
                                       table.c.lon, table.c.lat, table.c.version, table.c.warn_at,
                                       table.c.deadline_at),
                                stages, department, scope, filters or QueueFilter())
        statement = statement.order_by(*self._order("deadline")).limit(limit)
        now = self.system.now()
        with self.engine.connect() as c:
            rows = [dict(r) for r in c.execute(statement).mappings()]
        for row in rows:
            row["light"] = traffic_light(now, row.pop("warn_at"), row.pop("deadline_at"))
        return rows


__all__ = ["QueueFilter", "QueueService", "SORTS", "PER_PAGE", "clamp_page"]
