"""Figures of the people in the loop for ``/inspectors`` and ``GET /api/v1/inspectors``:
grid inspectors (监督员), dispatchers (派遣员) and the shifts (值班) of the centre.

Who is who comes from the data the simulator and the pages write (see README, "Regions
and people"):

- an inspector's *report* is a case with ``source = 'inspector'`` and ``reporter`` = the
  inspector's id (``INS-…`` from ``inspectors.json``); the inspector's *grids* are those
  ``inspectors.json`` assigns (one inspector per grid);
- a *verification visit* is a ``verified`` (pass) or ``rework`` (fail) event; its
  ``actor`` is the inspector who went (the simulator sends the grid's inspector; through
  the intake page it is the supervision user who recorded the result — such visits are
  counted apart as "not on the roster");
- a *dispatch* is a ``dispatched`` event, its ``actor`` the dispatcher (operator);
- *filing* decisions (``filed``/``rejected``) and *closings* (``closed``) are counted per
  shift (:data:`dashboard.domain.performance.SHIFTS`), with the people who did them.

Which acts were on time is decided in SQL (:mod:`datasource.services.report_sql`) and
recorded once per act (:mod:`datasource.services.report_acts`); only grouped counts leave
the database.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import and_, case, func, select

from dashboard.domain.performance import (INSPECTOR_SOURCE, PUBLIC_SOURCES, SHIFT_NAMES, DispatcherFigures,
                                          InspectorFigures, ShiftFigures)
from datasource.services.regions import TTLCache
from datasource.services import report_rollup as rollup
from datasource.services.report_acts import ActFacts
from dashboard.domain.scope import covers_code
from datasource.services.report_sql import for_reports, returns_query
from datasource.services.scoping import where_scope
from datasource.store import schema

EPOCH = date(1970, 1, 1)


class StaffReport:
    """Inspectors, dispatchers and shifts of one system over a period (plain data out)."""

    def __init__(self, system, ttl: float = 15.0):
        self.system = system
        self.scenario = system.scenario
        self.cache = TTLCache(ttl, size=64)
        self.facts = ActFacts(system)

    @property
    def engine(self):
        """Reads only: the read replica when there is one (writes go through ``system.engine``)."""
        return self.system.read_engine

    @property
    def inspectors_roster(self) -> list[dict]:
        return self.scenario.inspectors

    def report(self, period, scope: str | None = None) -> dict:
        """``inspectors``, ``grids`` (per grid: inspector, cases filed, public-first),
        ``dispatchers``, ``shifts``, ``daily`` (per day and shift) and ``unrostered``
        (verification visits by people who are not on the inspector roster).  A sub-centre's
        ``scope`` keeps the inspectors of its grids and counts only the acts on its cases."""
        return self.cache.get((period.key, scope), lambda: self._report(period, scope))

    def _report(self, period, scope: str | None = None) -> dict:
        self.facts.refresh()
        returns_sql, returns_params = returns_query(period, scope)
        with self.engine.connect() as c:
            for_reports(c)
            reports, grids = self._fold(c.execute(self._cases_statement(period, scope)))
            people = c.execute(self._acts_statement(period, ("dispatched", "verified", "rework"),
                                                    ("type", "actor"), scope)).all()
            returned = dict(c.execute(returns_sql, returns_params).all())
            shift_rows = c.execute(self._acts_statement(period, ("filed", "rejected", "closed"),
                                                        ("type", "day", "shift", "actor"), scope)).all()
        inspectors, grid_rows, unrostered = self._inspectors(reports, grids, people, scope)
        shifts, daily = self._shifts(shift_rows)
        return {"inspectors": inspectors, "grids": grid_rows, "unrostered": unrostered,
                "dispatchers": self._dispatchers(people, returned), "shifts": shifts, "daily": daily}

    # ------------------------------------------------------------------ SQL
    @staticmethod
    def _acts_statement(period, types: tuple[str, ...], group: tuple[str, ...], scope: str | None = None):
        """Acts of ``types`` done in the period with a known clock start, counted (``acts``,
        ``on_time``) per ``group`` of type, actor, day (the local day its clock started) and
        shift.  The district's from the daily roll-up (:mod:`datasource.services.report_rollup`,
        the same counts in ~10 times fewer rows); a sub-centre's from the acts on its cases."""
        if scope is None:
            return rollup.acts_statement(period.first, period.last, types, group)
        a = schema.report_acts
        columns = {"type": a.c.type, "actor": a.c.actor, "day": a.c.start_day.label("day"), "shift": a.c.shift}
        keys = [columns[g] for g in group]
        statement = (select(*keys, func.count().label("acts"), func.sum(a.c.on_time).label("on_time"))
                     .where(a.c.type.in_(types), a.c.at >= period.start, a.c.at < period.end,
                            a.c.on_time.is_not(None))
                     .group_by(*[a.c.start_day if g == "day" else columns[g] for g in group]))
        in_scope = where_scope(schema.cases, scope)
        if in_scope is not None:  # a sub-centre: acts on its own cases only
            e = schema.case_events
            statement = (statement.select_from(a.join(e, e.c.id == a.c.event_id)
                                               .join(schema.cases, schema.cases.c.case_id == e.c.case_id))
                         .where(in_scope))
        return statement

    @staticmethod
    def _cases_statement(period, scope: str | None = None):
        """The cases reported in the period, counted per grid and (for inspectors' reports)
        reporter: one pass gives both the inspectors' reports and their grids' cases."""
        c = schema.cases
        filed = c.c.filed_at.is_not(None)
        inspector = case((c.c.source == INSPECTOR_SOURCE, c.c.reporter), else_=None).label("inspector")
        return (select(c.c.grid_code.label("code"), inspector, func.count().label("reports"),
                       func.sum(case((filed, 1), else_=0)).label("filed"),
                       func.sum(case((c.c.rejected_at.is_not(None), 1), else_=0)).label("rejected"),
                       func.sum(case((and_(filed, c.c.source.in_(PUBLIC_SOURCES)), 1), else_=0)).label("public"))
                .where(c.c.reported_at >= period.start, c.c.reported_at < period.end,
                       *([] if scope is None else [where_scope(c, scope)]))
                .group_by(c.c.grid_code, inspector))

    @staticmethod
    def _fold(rows) -> tuple[dict, dict]:
        """(inspector → reports, filed, rejected of their own reports; grid → (filed, public))."""
        reports: dict[str, dict] = {}
        grids: dict[str, tuple[int, int]] = {}
        for row in rows:
            filed, public = grids.get(row.code, (0, 0))
            grids[row.code] = (filed + int(row.filed), public + int(row.public))
            if row.inspector is not None:
                own = reports.setdefault(row.inspector, {"reports": 0, "filed": 0, "rejected": 0})
                own["reports"] += int(row.reports)
                own["filed"] += int(row.filed)
                own["rejected"] += int(row.rejected)
        return reports, grids

    # ------------------------------------------------------------------ assembling
    def _inspectors(self, reports, grids, people, scope: str | None = None) -> tuple[list[dict], dict, int]:
        visits = {}
        for row in people:
            if row.type in ("verified", "rework"):
                n, on_time = visits.get(row.actor, (0, 0))
                visits[row.actor] = (n + int(row.acts), on_time + int(row.on_time or 0))
        rows, grid_rows, rostered = [], {}, set()
        for inspector in self.inspectors_roster:
            ident = inspector["id"]
            rostered.add(ident)
            if scope and not any(covers_code(scope, code) for code in inspector["grids"]):
                continue
            own = [grids.get(code, (0, 0)) for code in inspector["grids"]]
            r = reports.get(ident, {"reports": 0, "filed": 0, "rejected": 0})
            n_visits, on_time = visits.get(ident, (0, 0))
            figures = InspectorFigures(
                reports=r["reports"], filed=r["filed"], rejected=r["rejected"], grid_filed=sum(f for f, _ in own),
                grid_public=sum(p for _, p in own), verifications=n_visits, on_time_verifications=on_time)
            score = figures.score
            rows.append({
                "id": ident, "name": inspector.get("name", ident), "street_code": inspector.get("street_code"),
                "community_code": inspector.get("community_code"), "grids": len(inspector["grids"]),
                "reports": figures.reports, "filed": figures.filed, "rejected": figures.rejected,
                "valid_rate": figures.valid_rate, "grid_filed": figures.grid_filed,
                "grid_public": figures.grid_public, "missed_rate": figures.missed_rate,
                "verifications": figures.verifications, "on_time_verifications": figures.on_time_verifications,
                "on_time_verification_rate": figures.on_time_verification_rate, "on_time_check_rate": None,
                "composite": score.composite, "grade": score.grade,
            })
            for code in inspector["grids"]:
                filed, public = grids.get(code, (0, 0))
                grid_rows[code] = {"inspector": ident, "filed": filed, "public": public}
        unrostered = sum(n for actor, (n, _) in visits.items() if actor not in rostered)
        return rows, grid_rows, unrostered

    @staticmethod
    def _dispatchers(people, returned: dict) -> list[dict]:
        per_actor = {}
        for row in people:
            if row.type == "dispatched":
                n, on_time = per_actor.get(row.actor, (0, 0))
                per_actor[row.actor] = (n + int(row.acts), on_time + int(row.on_time or 0))
        busiest = max((n for n, _ in per_actor.values()), default=0)
        rows = []
        for actor, (n, on_time) in sorted(per_actor.items()):
            figures = DispatcherFigures(dispatches=n, on_time=on_time, returned=int(returned.get(actor, 0)))
            score = figures.score(busiest)
            rows.append({"actor": actor, "dispatches": n, "on_time": on_time, "on_time_rate": figures.on_time_rate,
                         "returned": figures.returned, "accurate_rate": figures.accurate_rate,
                         "volume_share": n / busiest if busiest else None,
                         "composite": score.composite, "grade": score.grade})
        return rows

    @staticmethod
    def _shifts(rows) -> tuple[list[dict], list[dict]]:
        totals = {name: {"filings": 0, "on_time_filings": 0, "closings": 0, "on_time_closings": 0, "staff": {}}
                  for name in SHIFT_NAMES}
        daily: dict[tuple, dict] = {}
        for row in rows:
            kind = "closings" if row.type == "closed" else "filings"
            acts, on_time = int(row.acts), int(row.on_time or 0)
            total = totals[row.shift]
            total[kind] += acts
            total["on_time_" + kind] += on_time
            total["staff"][row.actor] = total["staff"].get(row.actor, 0) + acts
            day = (EPOCH + timedelta(days=int(row.day))).isoformat()
            cell = daily.setdefault((day, row.shift), {"day": day, "shift": row.shift, "filings": 0,
                                                       "on_time_filings": 0, "closings": 0, "on_time_closings": 0})
            cell[kind] += acts
            cell["on_time_" + kind] += on_time
        out = []
        for name in SHIFT_NAMES:
            t = totals[name]
            figures = ShiftFigures(t["filings"], t["on_time_filings"], t["closings"], t["on_time_closings"])
            score = figures.score
            staff = sorted(t["staff"].items(), key=lambda item: (-item[1], item[0]))
            out.append({"shift": name, "filings": figures.filings, "on_time_filings": figures.on_time_filings,
                        "on_time_filing_rate": figures.on_time_filing_rate,
                        "accurate_filing_rate": figures.accurate_filing_rate, "closings": figures.closings,
                        "on_time_closings": figures.on_time_closings,
                        "on_time_closing_rate": figures.on_time_closing_rate,
                        "composite": score.composite, "grade": score.grade,
                        "staff": [actor for actor, _ in staff]})
        days = []
        for (day, shift), cell in sorted(daily.items()):
            f = ShiftFigures(cell["filings"], cell["on_time_filings"], cell["closings"], cell["on_time_closings"])
            days.append({**cell, "on_time_filing_rate": f.on_time_filing_rate,
                         "on_time_closing_rate": f.on_time_closing_rate})
        return out, days
