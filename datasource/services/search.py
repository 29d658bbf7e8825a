"""Case search for the header and the API: by case id, address, description words, reporter.

The search runs in SQL on the reporting database (``LIKE``/``ILIKE``, escaped), so it finds
every case, open or closed, not only those a page happens to hold.  Each word of the query
must match: an id-like word (``DC2026…``, or six digits and more) the start of the case id or
of the grid code; any other word the description, the reporter, or the name of the case's
street or community (an address is searched through the scenario's place names: "东四" finds
the cases of 东四街道 and of every community whose name holds it).

It respects who asks: a sub-centre user finds only its scope's cases
(:mod:`datasource.services.scoping`), a department user only its own department's cases.
Each hit names the page that can act on the case for the asker's role
(:func:`action_page`): the rule of which actions a stage offers to a role lives in
:func:`dashboard.domain.permissions.offered_actions`; this module only knows which work page
carries which action.  Plain data out; paged, with the total.
"""
from __future__ import annotations

import math
import re

from sqlalchemy import and_, case as sql_case, func, or_, select

from dashboard.domain.lifecycle import Stage
from dashboard.domain.limits import traffic_light
from dashboard.domain.permissions import PAGE_ROLES, may_open, offered_actions
from datasource.services.scoping import scoped
from datasource.store import schema

PER_PAGE = 10
MAX_PER_PAGE = 100
MAX_TERMS = 6
MAX_QUERY = 100
SNIPPET = 60
#: the work pages and the actions their case panel carries, in the order a search opens them:
#: a filed case goes to the dispatch console before the supervision page (which may only
#: extend or suspend it), a dispatched case to the department before the supervision page.
ACTION_PAGES: tuple[tuple[str, frozenset], ...] = (
    ("/dispatch", frozenset({"dispatch"})),
    ("/department", frozenset({"handle", "return", "request"})),
    ("/intake", frozenset({"file", "reject", "verify", "close", "extend", "suspend", "resume", "decline"})),
)
CASE_ID = re.compile(r"^DC\d{14}$", re.IGNORECASE)
ID_LIKE = re.compile(r"^(DC\d*|\d{6,})$", re.IGNORECASE)


def action_page(stage: str | None, role: str | None) -> str | None:
    """The work page where ``role`` can act on a case in ``stage``; else the first work page
    ``role`` may open (the case panel shows any case read-only); None when it opens none."""
    offered = set(offered_actions(stage, role)) if stage else set()
    openable = [(path, actions) for path, actions in ACTION_PAGES if may_open(role, PAGE_ROLES.get(path))]
    for path, actions in openable:
        if offered & actions:
            return path
    return openable[0][0] if openable else None


def _like(term: str) -> str:
    """``%term%`` with LIKE's wildcards taken literally."""
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def terms_of(query: str | None) -> list[str]:
    """The words of a query (at most :data:`MAX_TERMS`, each non-empty)."""
    return [w for w in (query or "")[:MAX_QUERY].split() if w][:MAX_TERMS]


class CaseSearch:
    """Search cases for one asker (role, department, scope); answers plain data."""

    def __init__(self, system, cases=None):
        self.system = system
        self.scenario = system.scenario
        if cases is None:
            from datasource.services.cases import CaseQueries
            cases = CaseQueries(system)
        self.cases = cases

    def _places(self, term: str) -> tuple[list[str], list[str]]:
        """Street and community codes whose name holds ``term``."""
        low = term.lower()
        streets = [code for code, name in self.scenario.streets.items() if low in str(name).lower()]
        communities = [code for code, name in self.cases.community_names.items() if low in str(name).lower()]
        return streets, communities

    def _term(self, term: str, dialect: str):
        """The condition one word must meet.  An id-like word (``DC2026…`` or six digits and more)
        is a prefix of the case id or of the grid code, as index-friendly ranges; any other word
        is searched in the description, the reporter and the place names (and in the case id
        when it is plain letters and digits)."""
        table = schema.cases
        if ID_LIKE.match(term):
            digits = term.upper().removeprefix("DC")
            options = [and_(table.c.case_id >= "DC" + digits, table.c.case_id < "DC" + digits + ":")]
            if not term.upper().startswith("DC"):
                options.append(and_(table.c.grid_code >= digits, table.c.grid_code < digits + ":"))
            return or_(*options)
        pattern = _like(term)
        # SQLite's LIKE already ignores ASCII case; its ILIKE (lower() on both sides) is slower
        like = (lambda column: column.like(pattern, escape="\\")) if dialect == "sqlite" else \
            (lambda column: column.ilike(pattern, escape="\\"))
        options = [like(table.c.description), like(table.c.reporter)]
        if term.isascii() and term.isalnum():
            options.append(like(table.c.case_id))
        streets, communities = self._places(term)
        if streets:
            options.append(table.c.street_code.in_(streets))
        if communities:
            options.append(table.c.community_code.in_(communities))
        return or_(*options)

    def search(self, query: str | None, role: str | None = None, department: str | None = None,
               scope: str | None = None, page=1, per_page: int = PER_PAGE, lang: str = "zh") -> dict:
        """``{"query", "total", "page", "pages", "rows"}``; rows newest first, an exact case id first.

        A department user (``role == "department"``) finds only ``department``'s cases; an
        empty query finds nothing (a search is not a list of every case)."""
        terms = terms_of(query)
        per_page = max(1, min(int(per_page or PER_PAGE), MAX_PER_PAGE))
        empty = {"query": " ".join(terms), "total": 0, "page": 1, "pages": 1, "per_page": per_page, "rows": []}
        if not terms:
            return empty
        table = schema.cases
        engine = self.system.engine
        condition = and_(*[self._term(term, engine.dialect.name) for term in terms])
        if role == "department":
            if not department:
                return empty
            condition = and_(condition, table.c.department_code == department)
        exact = [term.upper() for term in terms if CASE_ID.match(term)]
        order = [sql_case((table.c.case_id.in_(exact), 0), else_=1)] if exact else []
        order += [sql_case((table.c.stage.in_(["closed", "rejected"]), 1), else_=0), table.c.reported_at.desc(),
                  table.c.case_id.desc()]
        columns = [table.c[n] for n in ("case_id", "stage", "category_code", "urgency", "department_code",
                                        "street_code", "community_code", "lon", "lat", "description", "reporter",
                                        "source", "reported_at", "warn_at", "deadline_at", "version")]
        # one scan: the page's rows carry the total of all matches (a window count)
        statement = scoped(select(*columns, func.count().over().label("matches")).where(condition), table, scope)
        try:
            page = max(1, int(page))
        except (TypeError, ValueError):
            page = 1
        with engine.connect() as c:
            rows = [dict(r) for r in c.execute(statement.order_by(*order).limit(per_page)
                                                .offset((page - 1) * per_page)).mappings()]
            if rows:
                total = int(rows[0]["matches"])
            elif page == 1:
                total = 0   # nothing matches: no second scan
            else:   # past the last page: count, and show the last page
                count = scoped(select(func.count()).select_from(table).where(condition), table, scope)
                total = int(c.execute(count).scalar() or 0)
                if total and page > 1:
                    page = math.ceil(total / per_page)
                    rows = [dict(r) for r in c.execute(statement.order_by(*order).limit(per_page)
                                                        .offset((page - 1) * per_page)).mappings()]
        pages = max(1, math.ceil(total / per_page))
        page = min(page, pages)
        now = self.system.now()
        for row in rows:
            stage = Stage(row["stage"])
            row.pop("matches", None)
            row["light"] = traffic_light(now, row.pop("warn_at"), row["deadline_at"]) if stage.is_open else "none"
            text = row.get("description") or ""
            row["snippet"] = text if len(text) <= SNIPPET else text[:SNIPPET] + "…"
            row["category"] = self.cases.category_name(row["category_code"], lang)
            row["street"] = self.cases.street_name(row["street_code"])
            row["community"] = self.cases.community_name(row["community_code"])
            row["page"] = action_page(row["stage"], role)
        return {"query": " ".join(terms), "total": total, "page": page, "pages": pages, "per_page": per_page,
                "rows": rows}


__all__ = ["CaseSearch", "action_page", "terms_of", "ACTION_PAGES", "PER_PAGE"]
