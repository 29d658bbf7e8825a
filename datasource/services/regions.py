"""Regional figures (街道 → 社区 → 网格) for ``/regions`` and ``GET /api/v1/regions``.

Every figure is an aggregate computed by the reporting database over the cases *reported*
in the period (inclusive local dates), followed to the present:

=================  ==========================================================================
reports            cases reported in the region in the period (any source, any outcome)
cases (立案)        those filed — not rejected, not still waiting for the filing decision
per km² / per grid cases ÷ the region's area in km² / ÷ its number of unit grids
closure rate       closed ÷ cases
on-time closure    closed cases whose (last) handling met its deadline ÷ closed cases
public share       cases first reported by the public (12345 hotline, app, phone) ÷ cases
12345              cases first reported through the 12345 hotline
top categories     the three most frequent categories among the cases (ties: by code)
=================  ==========================================================================

A rate over nothing is ``None`` (shown "—").  Only grouped counts leave the database;
the region list itself (names, areas, grid counts: ≤ 3,692 rows) is read once per process.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import and_, case, func, select

from dashboard.domain.indicators import ratio
from dashboard.domain.performance import HOTLINE, PUBLIC_SOURCES
from datasource.services.command_types import Msg
from dashboard.domain.scope import covers_code
from datasource.services.report_sql import for_reports
from datasource.services.scoping import where_scope
from datasource.store import schema

LEVELS = ("street", "community", "grid")
PARENT_LEVEL = {"community": "street", "grid": "community"}
TOP_CATEGORIES = 3
GRID_CASES_LIMIT = 500


class ReportError(ValueError):
    """A request the report cannot answer (unknown level or region); ``msg`` says why."""

    def __init__(self, msg: Msg):
        self.msg = msg
        super().__init__(msg.render("en"))


class OutOfScope(ReportError):
    """A region outside the caller's sub-centre (403)."""


class TTLCache:
    """Answers by key for ``ttl`` seconds: a drill-down goes back and forth over the same
    levels, and several people open the same period."""

    def __init__(self, ttl: float, size: int = 256):
        self.ttl, self.size = ttl, size
        self._items: dict = {}
        self._lock = threading.Lock()

    def get(self, key, compute):
        now = time.monotonic()
        hit = self._items.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        value = compute()
        with self._lock:
            if len(self._items) >= self.size:
                self._items.clear()
            self._items[key] = (now, value)
        return value


@dataclass(frozen=True)
class Region:
    level: str
    code: str
    name: str
    parent: str | None
    area_m2: int
    grids: int


class RegionReport:
    """The regional report of one system (plain data out)."""

    def __init__(self, system, ttl: float = 15.0):
        self.system = system
        self.scenario = system.scenario
        self.cache = TTLCache(ttl)

    @property
    def engine(self):
        """Reads only: the read replica when there is one (writes go through ``system.engine``)."""
        return self.system.read_engine

    # ------------------------------------------------------------------ the regions
    @cached_property
    def regions_by_level(self) -> dict[str, dict[str, Region]]:
        """Every street, community and grid with its name, parent, area and grid count."""
        g = schema.grids
        with self.engine.connect() as c:
            grids = c.execute(select(g.c.code, g.c.street_code, g.c.community_code, g.c.area_m2)
                              .order_by(g.c.code)).all()
            communities = c.execute(select(schema.communities.c.code, schema.communities.c.street_code,
                                           schema.communities.c.name, schema.communities.c.area_m2)).all()
            streets = c.execute(select(schema.streets.c.code, schema.streets.c.name, schema.streets.c.area_m2)).all()
        per_street, per_community = {}, {}
        for _, street, community, _ in grids:
            per_street[street] = per_street.get(street, 0) + 1
            per_community[community] = per_community.get(community, 0) + 1
        return {
            "street": {code: Region("street", code, name, None, area or 0, per_street.get(code, 0))
                       for code, name, area in sorted(streets)},
            "community": {code: Region("community", code, name, street, area or 0, per_community.get(code, 0))
                          for code, street, name, area in sorted(communities)},
            "grid": {code: Region("grid", code, code, community, area or 0, 1)
                     for code, _, community, area in grids},
        }

    def region(self, level: str, code: str) -> Region | None:
        return self.regions_by_level.get(level, {}).get(code)

    def check(self, level: str, parent: str | None) -> None:
        """ReportError unless ``level`` is known and ``parent`` (if any) is a region one level up."""
        if level not in LEVELS:
            raise ReportError(Msg("report.bad_level", level=str(level)[:20], levels=", ".join(LEVELS)))
        if parent:
            if level == "street" or self.region(PARENT_LEVEL[level], parent) is None:
                raise ReportError(Msg("report.bad_parent", parent=str(parent)[:20], level=level))

    # ------------------------------------------------------------------ the figures
    def figures(self, level: str, period, parent: str | None = None, scope: str | None = None) -> list[dict]:
        """One row per region of ``level`` (inside ``parent`` if given), regions without
        cases included, in code order.  A sub-centre's ``scope`` keeps the regions inside it
        (a street's own row, its communities and grids; a community's own row and grids)."""
        self.check(level, parent)
        if scope and parent and not (covers_code(scope, parent) or scope.startswith(parent)):
            raise OutOfScope(Msg("report.out_of_scope", code=parent, scope=scope))
        return self.cache.get(("figures", level, period.key, parent, scope),
                              lambda: self._figures(level, period, parent, scope))

    def _figures(self, level: str, period, parent: str | None, scope: str | None = None) -> list[dict]:
        counts, tops = self._counts(level, period, parent, scope)
        rows = []
        for region in self.regions_by_level[level].values():
            if parent and region.parent != parent:
                continue
            if not covers_code(scope, region.code):
                continue
            n = counts.get(region.code, {})
            cases = n.get("cases", 0)
            area_km2 = region.area_m2 / 1e6
            rows.append({
                "level": level, "code": region.code, "name": region.name, "parent": region.parent,
                "grids": region.grids, "area_km2": round(area_km2, 4),
                "reports": n.get("reports", 0), "cases": cases,
                "per_km2": round(cases / area_km2, 2) if area_km2 else None,
                "per_grid": round(cases / region.grids, 3) if region.grids else None,
                "closed": n.get("closed", 0), "closure_rate": ratio(n.get("closed", 0), cases),
                "closed_on_time": n.get("closed_on_time", 0),
                "on_time_closure_rate": ratio(n.get("closed_on_time", 0), n.get("closed", 0)),
                "public": n.get("public", 0), "public_share": ratio(n.get("public", 0), cases),
                "hotline": n.get("hotline", 0),
                "top_categories": tops.get(region.code, []),
            })
        return rows

    def _counts(self, level: str, period, parent: str | None, scope: str | None = None) -> tuple[dict, dict]:
        cases = schema.cases
        key = {"street": cases.c.street_code, "community": cases.c.community_code, "grid": cases.c.grid_code}[level]
        where = [cases.c.reported_at >= period.start, cases.c.reported_at < period.end]
        if parent:
            where.append({"community": cases.c.street_code, "grid": cases.c.community_code}[level] == parent)
        in_scope = where_scope(cases, scope)
        if in_scope is not None:
            where.append(in_scope)
        filed = cases.c.filed_at.is_not(None)
        closed = and_(filed, cases.c.closed_at.is_not(None))

        def count(condition):
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        measures = (func.count().label("reports"), count(filed).label("cases"), count(closed).label("closed"),
                    count(and_(closed, cases.c.handled_on_time.is_(True))).label("closed_on_time"),
                    count(and_(filed, cases.c.source.in_(PUBLIC_SOURCES))).label("public"),
                    count(and_(filed, cases.c.source == HOTLINE)).label("hotline"))
        with self.engine.connect() as c:
            for_reports(c)
            if level != "grid" or parent:
                # One pass: the counts per region and category (≤ a few thousand rows); the
                # region's totals and its top categories are added up from them.
                rows = c.execute(select(key.label("code"), cases.c.category_code.label("category"), *measures)
                                 .where(*where).group_by(key, cases.c.category_code)).all()
                return self._fold(rows)
            # Every grid of the district: totals and the top categories ranked by the database.
            counts = {row.code: dict(row._mapping) for row in c.execute(select(key.label("code"), *measures)
                                                                          .where(*where).group_by(key))}
            n = func.count()
            ranked = (select(key.label("code"), cases.c.category_code.label("category"), n.label("n"),
                             func.row_number().over(partition_by=key, order_by=(n.desc(), cases.c.category_code))
                             .label("rank"))
                      .where(*where, filed).group_by(key, cases.c.category_code).subquery())
            top = select(ranked.c.code, ranked.c.category, ranked.c.n).where(ranked.c.rank <= TOP_CATEGORIES) \
                .order_by(ranked.c.code, ranked.c.rank)
            tops: dict[str, list] = {}
            for code, category, n_cases in c.execute(top):
                tops.setdefault(code, []).append({"code": category, "n": n_cases})
        return counts, tops

    @staticmethod
    def _fold(rows) -> tuple[dict, dict]:
        """Per-(region, category) counts → per-region totals and top categories."""
        counts: dict[str, dict] = {}
        per_category: dict[str, list] = {}
        for row in rows:
            values = row._mapping
            total = counts.setdefault(row.code, {"code": row.code, "reports": 0, "cases": 0, "closed": 0,
                                                 "closed_on_time": 0, "public": 0, "hotline": 0})
            for name in ("reports", "cases", "closed", "closed_on_time", "public", "hotline"):
                total[name] += int(values[name])
            if values["cases"]:
                per_category.setdefault(row.code, []).append((-int(values["cases"]), row.category))
        tops = {code: [{"code": category, "n": -minus} for minus, category in sorted(items)[:TOP_CATEGORIES]]
                for code, items in per_category.items()}
        return counts, tops

    # ------------------------------------------------------------------ one grid
    def grid_cases(self, grid_code: str, period, limit: int = GRID_CASES_LIMIT, scope: str | None = None) -> list[dict]:
        """The cases reported in one grid in the period, newest first (at most ``limit``);
        OutOfScope for a grid outside a sub-centre's ``scope``."""
        if self.region("grid", grid_code) is None:
            raise ReportError(Msg("report.bad_region", code=str(grid_code)[:20]))
        if not covers_code(scope, grid_code):
            raise OutOfScope(Msg("report.out_of_scope", code=grid_code, scope=scope))
        cases = schema.cases
        columns = [cases.c.case_id, cases.c.category_code, cases.c.source, cases.c.stage, cases.c.urgency,
                   cases.c.department_code, cases.c.reporter, cases.c.reported_at, cases.c.filed_at,
                   cases.c.closed_at, cases.c.handled_on_time, cases.c.lon, cases.c.lat]
        statement = (select(*columns).where(cases.c.grid_code == grid_code, cases.c.reported_at >= period.start,
                                            cases.c.reported_at < period.end)
                     .order_by(cases.c.reported_at.desc(), cases.c.case_id).limit(limit))
        with self.engine.connect() as c:
            rows = [dict(r._mapping) for r in c.execute(statement)]
        for row in rows:
            row["public"] = row["source"] in PUBLIC_SOURCES
            if row["handled_on_time"] is not None:
                row["handled_on_time"] = bool(row["handled_on_time"])
        return rows


__all__ = ["RegionReport", "ReportError", "OutOfScope", "LEVELS", "TTLCache"]
