"""The dispatch recommendation: which department a filed case should go to, why, the
alternatives with each one's open load, on-time rate and history with the category, warnings
about the proposal, and the default deadline.

The order is the domain's rule (:func:`dashboard.domain.components.rank_departments`): the
maintainer of the component the case names (or, for a component category, of the nearest
component of that kind within :data:`NEAREST_M`), the routing table's department, the case's
street office, departments that have handled the category, and only then the others — so a
department that never handles the category is never offered first.  Statistics respect the
user's sub-centre scope when one is given (:mod:`datasource.services.scoping`).
"""
from __future__ import annotations

import statistics
import time
from datetime import datetime, timedelta

from sqlalchemy import and_, case as sql_case, func, select

from dashboard.domain.components import DepartmentRecord, rank_departments, warnings_for
from dashboard.i18n import t
from datasource.services.components import ComponentQueries
from datasource.services.scoping import scoped
from datasource.store import schema

STATS_TTL = 10.0        # seconds department statistics are reused (they change slowly)
STATS_DAYS = 30         # on-time rate over this many days
HISTORY_DAYS = 90       # "has handled this category" looks back this far
NEAREST_M = 30.0        # a component of the case's kind this close is taken as the one it is about


class Recommender:
    """Department statistics (cached for :data:`STATS_TTL` s per scope) and the recommendation."""

    def __init__(self, system):
        self.system = system
        self.scenario = system.scenario
        self.tz = self.scenario.calendar.tz
        self._stats: dict[str | None, tuple[float, dict]] = {}
        self._history: dict[tuple[str | None, str], tuple[float, dict]] = {}
        self.components = ComponentQueries(system)

    @property
    def engine(self):
        return self.system.engine

    def department_stats(self, days: int = STATS_DAYS, scope: str | None = None) -> dict[str, dict]:
        """Per department: open dispatched cases (load) and the on-time rate over ``days`` days,
        counted inside ``scope`` (None: the whole district)."""
        cached = self._stats.get(scope)
        if cached and time.monotonic() - cached[0] < STATS_TTL:
            return cached[1]
        since = self.system.now() - timedelta(days=days)
        counts, cases = schema.live_counts, schema.cases
        with self.engine.connect() as c:
            if scope is None:
                load = dict(c.execute(select(counts.c.key, counts.c.n).where(
                    and_(counts.c.scope == "dept", counts.c.stage == "dispatched"))).all())
            else:
                load = dict(c.execute(scoped(select(cases.c.department_code, func.count())
                                             .where(cases.c.stage == "dispatched")
                                             .group_by(cases.c.department_code), cases, scope)).all())
            rates = c.execute(scoped(select(cases.c.department_code, func.count(),
                                            func.sum(sql_case((cases.c.handled_on_time.is_(True), 1), else_=0)))
                                     .where(cases.c.handled_at >= since, cases.c.handled_on_time.is_not(None))
                                     .group_by(cases.c.department_code), cases, scope)).all()
        stats = {code: {"load": int(load.get(code, 0)), "handled": 0, "on_time_rate": None}
                 for code in self.scenario.departments}
        for code, handled, on_time in rates:
            if code in stats and handled:
                stats[code].update(handled=int(handled), on_time_rate=float(on_time or 0) / handled)
        self._stats[scope] = (time.monotonic(), stats)
        return stats

    def category_history(self, category: str, scope: str | None = None) -> dict[str, int]:
        """Cases of ``category`` first dispatched to each department in the last :data:`HISTORY_DAYS`."""
        key = (scope, category)
        cached = self._history.get(key)
        if cached and time.monotonic() - cached[0] < STATS_TTL:
            return cached[1]
        cases = schema.cases
        since = self.system.now() - timedelta(days=HISTORY_DAYS)
        with self.engine.connect() as c:
            found = dict(c.execute(scoped(select(cases.c.department_code, func.count())
                                          .where(cases.c.category_code == category,
                                                 cases.c.first_dispatched_at >= since,
                                                 cases.c.department_code.is_not(None))
                                          .group_by(cases.c.department_code), cases, scope)).all())
        self._history[key] = (time.monotonic(), found)
        return found

    def related(self, category: str) -> frozenset[str]:
        """Professional departments the routing table gives categories of ``category``'s class
        (same kind, same major class: E01xx → those of city appearance)."""
        prefix = category[:3]
        return frozenset(department for code, department in self.scenario.routing.items()
                         if code[:3] == prefix and department in self.scenario.departments
                         and self.scenario.departments[department].kind == "professional")

    def component_of(self, row: dict) -> tuple[dict | None, str]:
        """The component the case is about and how it was found ("named" or "nearest")."""
        code = row.get("component_code")
        if code:
            found = self.components.get(code)
            if found:
                return found, "named"
        category = self.scenario.categories.get(row.get("category_code"))
        if category and category.kind == "component" and row.get("lon") is not None:
            found = self.components.nearest(category.code, row["lon"], row["lat"], NEAREST_M)
            if found:
                return found, "nearest"
        return None, ""

    def recommend(self, row: dict, now: datetime | None = None, scope: str | None = None) -> dict:
        """Recommended department and deadline for dispatching ``row``, with the alternatives,
        each one's reasons (keys and texts in both languages) and warnings about the first."""
        now = now or self.system.now().astimezone(self.tz)
        category = row["category_code"]
        routing = self.scenario.department_for(category, row.get("street_code"))
        street = f"street-{row.get('street_code')}"
        stats = self.department_stats(scope=scope)
        history = self.category_history(category, scope)
        component, found_by = self.component_of(row)
        maintainer = component.get("maintainer_department") if component else None
        records = {code: DepartmentRecord(code, d.kind, stats[code]["load"], stats[code]["handled"],
                                          stats[code]["on_time_rate"], int(history.get(code, 0)))
                   for code, d in self.scenario.departments.items()}
        ranked = rank_departments(records, routing, street if street in records else None, maintainer,
                                  self.related(category))
        proposed = ranked[0][0]
        professional_loads = [r.load for r in records.values() if r.kind == "professional"]
        median = float(statistics.median(professional_loads)) if professional_loads else 0.0
        warnings = [{"key": key, **{lang: t(f"components.warn.{key}", lang, **values) for lang in ("zh", "en")}}
                    for key, values in warnings_for(records[proposed], median)]
        _, deadline = self.scenario.limits.deadline("dispatched", category, row.get("urgency", "normal"), now)
        candidates = []
        for code, reasons in ranked:
            department = self.scenario.departments[code]
            keys = [("nearest" if r == "maintainer" and found_by == "nearest" else r) for r in reasons]
            candidates.append({
                "code": code, "name_zh": department.name_zh, "name_en": department.name_en, **stats[code],
                "category_cases": records[code].category_cases, "recommended": code == proposed,
                "why": keys[0] if keys else "", "reasons": keys,
                "why_zh": self._explain(keys, records[code], component, "zh"),
                "why_en": self._explain(keys, records[code], component, "en")})
        return {"department": proposed, "deadline": deadline, "candidates": candidates, "warnings": warnings,
                "component": component, "component_found_by": found_by or None}

    def _explain(self, keys: list[str], record: DepartmentRecord, component: dict | None, lang: str) -> str:
        """The reasons of one candidate as one line of text."""
        code = component["code"] if component else ""
        parts = [t(f"components.why.{k}", lang, code=code, n=record.category_cases, days=HISTORY_DAYS) for k in keys]
        if not keys:
            parts.append(t("components.why.none", lang))
        return "；".join(parts) if lang == "zh" else "; ".join(parts)
