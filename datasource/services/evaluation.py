"""Department evaluation over a period (综合评价): what ``/departments``, ``/departments/<code>``,
``GET /api/v1/departments`` and the CSV/Excel exports all call — one query, three doors.

Every method returns plain data (lists of dicts of numbers, text and aware datetimes).  The
figures are aggregated in SQL (:mod:`datasource.services.evaluation_queries`); Python only
adds up the per-day groups, computes working hours for the window's handled cases
(:mod:`datasource.services.workhours`) and applies the domain's formulas
(:func:`dashboard.domain.evaluation.evaluate`, which calls the wall's
:func:`~dashboard.domain.indicators.department_score`).  The definitions are written once,
in :mod:`dashboard.domain.evaluation`.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

import numpy as np
import pandas as pd

from dashboard.domain.evaluation import DEPARTMENT_TABLES, Period, evaluate
from dashboard.domain.limits import traffic_light
from datasource.services import department_rollup as rollup
from datasource.services import evaluation_queries as q
from datasource.services.visits import satisfaction_rates
from datasource.services.workhours import working_hours

LIST_LIMIT = 2000


class UnknownDepartment(LookupError):
    """No department has this code."""


class DepartmentEvaluation:
    def __init__(self, system, use_rollup: bool = True):
        self.system = system
        #: read the whole district's overview from the daily roll-up (False: from the cases,
        #: as a sub-centre's is — the benchmark's and the equality tests' comparison)
        self.use_rollup = use_rollup
        self.days = rollup.DepartmentDays(system)
        self.scenario = system.scenario
        self.calendar = self.scenario.calendar
        self.tz = self.calendar.tz

    @property
    def engine(self):
        """Reads only: the read replica when there is one (writes go through ``system.engine``)."""
        return self.system.read_engine

    # ------------------------------------------------------------------ helpers
    def today(self, now: datetime | None = None) -> date:
        return (now or datetime.now(timezone.utc)).astimezone(self.tz).date()

    def window(self, period: Period) -> tuple[datetime, datetime]:
        """[lo, hi): local midnight of the first day to local midnight after the last, in UTC
        (the period's own instants, in the working calendar's zone)."""
        zoned = period.zoned(self.tz)
        return zoned.start, zoned.end

    def _connect(self, lo: datetime, hi: datetime):
        """A read connection for one report.  On PostgreSQL its transaction gets room to group
        in memory (a month of cases is ~40,000 rows; the default 4 MB ``work_mem`` makes the
        planner sort on disk), no JIT (compiling costs more than these queries run) and no
        parallel workers (they made the planner skip the small partial index of returned and
        reworked cases for a parallel scan of the whole window)."""
        connection = self.engine.connect()
        dialect = connection.dialect.name
        if dialect == "postgresql":
            connection.exec_driver_sql("SET LOCAL work_mem = '64MB'")
            connection.exec_driver_sql("SET LOCAL jit = off")
            connection.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
        return connection

    def _names(self, code: str) -> dict:
        dept = self.scenario.departments.get(code)
        if dept is None:
            return {"name": code, "name_en": code, "kind": "professional"}
        return {"name": dept.name_zh, "name_en": dept.name_en, "kind": dept.kind}

    def department_codes(self) -> list[str]:
        """Professional departments first, then street offices, each in the scenario's order."""
        depts = list(self.scenario.departments.values())
        return [d.code for d in depts if d.kind != "street"] + [d.code for d in depts if d.kind == "street"]

    @staticmethod
    def _day(value) -> date:
        return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])

    def _handling(self, packed: dict) -> dict:
        """key → (median, p90) working hours from first dispatch to the latest handling, from
        each key's packed ``first:handled,…`` texts (see ``evaluation_queries.packed_handling``)."""
        keys = list(packed)
        texts = [",".join(p for p in parts if p) for parts in packed.values()]
        out = {}
        for key, seconds in zip(keys, rollup.handling_seconds(self.calendar, texts)):
            figures = rollup.median_p90(seconds)
            if figures is not None:
                out[key] = figures
        return out

    def _row(self, totals: dict, oldest: datetime | None, now: datetime) -> dict:
        row = {k: int(totals.get(k) or 0) for k in q.ADDITIVE}
        row.update(evaluate(row["due"], row["closed"], row["handled"], row["handled_on_time"], row["reworks"]))
        age = (now - oldest).total_seconds() / 86400 if oldest is not None and row["backlog"] else None
        row["backlog_age_days"] = None if age is None else round(max(age, 0.0), 1)
        return row

    @staticmethod
    def _add(into: dict, group: dict) -> None:
        for k in q.ADDITIVE:
            into[k] = into.get(k, 0) + int(group.get(k) or 0)
        oldest = q.utc(group.get("oldest_waiting"))
        if oldest is not None and (into.get("oldest") is None or oldest < into["oldest"]):
            into["oldest"] = oldest

    # ------------------------------------------------------------------ every department
    def overview(self, period: Period, now: datetime | None = None, scope: str | None = None) -> dict:
        """Every department's figures over ``period``, with a daily series of its cases.

        ``departments``: one row per department (professional first, then street offices)
        with the columns of ``TABLES["departments"]`` plus ``name_en`` and ``series``
        (cases first dispatched on each day of the period).  ``scope`` (a sub-centre's street
        or community code) counts only the cases of that area."""
        now = now or datetime.now(timezone.utc)
        lo, hi = self.window(period)
        dates = period.dates()
        if scope is None and self.use_rollup:
            totals, series, returns, handling = self._from_rollup(period, lo, hi, now)
        else:
            totals, series, returns, handling = self._from_cases(period, lo, hi, now, scope)
        satisfaction = satisfaction_rates(self.engine, lo, hi, "department", scope)   # issue 11
        codes = self.department_codes()
        codes += sorted(d for d in set(totals) | set(returns) if d and d not in codes)
        rows = []
        for code in codes:
            t = totals.get(code, {})
            row = {"code": code, **self._names(code), **self._row(t, t.get("oldest"), now)}
            row["returns"] = returns.get(code, 0)
            row["satisfaction"] = satisfaction.get(code)
            row["handling_median_h"], row["handling_p90_h"] = handling.get(code, (None, None))
            row["series"] = series.get(code, [0] * len(dates))
            rows.append(row)
        return {"period": period, "dates": dates, "now": now, "departments": rows}

    def _from_cases(self, period: Period, lo, hi, now: datetime, scope: str | None):
        """(totals, series, returns, handling) per department, grouped from the period's cases."""
        with self._connect(lo, hi) as connection:
            groups = q.by_department_day(connection, lo, hi, now, self.tz, scope=scope)
            returns = q.returns_by_department(connection, lo, hi, scope)
        packed: dict[str, list] = {}
        for g in groups:
            packed.setdefault(g["department"], []).append(g["handling"])
        totals, series = self._per_department(groups, period)
        return totals, series, returns, self._handling(packed)

    def _from_rollup(self, period: Period, lo, hi, now: datetime):
        """The same four from the daily roll-up (refreshed first) and the cases waiting now."""
        self.days.refresh()
        with self._connect(lo, hi) as connection:
            days = rollup.DepartmentDays.rows(connection, period.first, period.last)
            waiting = q.waiting_by_department(connection, lo, hi, now)
        totals, series = self._per_department(days, period)
        returns: dict[str, int] = {}
        arrays: dict[str, list] = {}
        for d in days:
            if d["returns"]:
                returns[d["department"]] = returns.get(d["department"], 0) + d["returns"]
            if d["handling"]:
                arrays.setdefault(d["department"], []).append(rollup.unpack(d["handling"]))
        for w in waiting:
            self._add(totals.setdefault(w["department"], {}), w)
        handling = {dept: rollup.median_p90(np.concatenate(parts)) for dept, parts in arrays.items()}
        return totals, series, returns, handling

    def _per_department(self, groups: list[dict], period: Period) -> tuple[dict, dict]:
        """Totals and daily series (cases due per day) per department of per-day groups."""
        index = {d: i for i, d in enumerate(period.dates())}
        totals: dict[str, dict] = {}
        series: dict[str, list[int]] = {}
        for g in groups:
            dept = g["department"]
            self._add(totals.setdefault(dept, {}), g)
            line = series.setdefault(dept, [0] * len(index))
            i = index.get(self._day(g["day"]))
            if i is not None:
                line[i] += int(g["due"])
        return totals, series

    # ------------------------------------------------------------------ one department
    def department(self, code: str, period: Period, now: datetime | None = None,
                   tables=("summary",) + DEPARTMENT_TABLES, scope: str | None = None) -> dict:
        """One department over ``period``: ``summary`` (its row of the overview), ``trend``
        (per day), ``categories``, ``streets``, and — now, whatever the period — ``open``
        and ``overdue`` cases, plus ``events`` (returns and reworks with their reasons).
        ``tables`` limits the work to the tables asked for (an export asks for one)."""
        if code not in self.scenario.departments:
            raise UnknownDepartment(code)
        now = now or datetime.now(timezone.utc)
        lo, hi = self.window(period)
        out: dict = {"code": code, **self._names(code), "period": period, "now": now}
        wanted = set(tables)
        with self._connect(lo, hi) as connection:
            if wanted & {"summary", "trend", "categories", "streets"}:
                groups = q.by_day_category_street(connection, lo, hi, now, self.tz, code, scope)
                out.update(self._breakdowns(groups, period, now))
            if "summary" in wanted:
                handling = self._handling({code: [g["handling"] for g in groups]})
                out["summary"]["returns"] = q.returns_by_department(connection, lo, hi, scope).get(code, 0)
                out["summary"]["handling_median_h"], out["summary"]["handling_p90_h"] = handling.get(code, (None, None))
            if "open" in wanted:
                out["open"] = [self._case(r, now) for r in q.open_cases(connection, code, LIST_LIMIT, scope)]
            if "overdue" in wanted:
                out["overdue"] = [self._case(r, now) for r in q.overdue_cases(connection, code, now, LIST_LIMIT, scope)]
            if "events" in wanted:
                out["events"] = [self._event(r) for r in q.returns_and_reworks(connection, lo, hi, code, LIST_LIMIT, scope)]
        return {k: v for k, v in out.items() if k not in ("summary",) + DEPARTMENT_TABLES or k in wanted}

    def _breakdowns(self, groups: list[dict], period: Period, now: datetime) -> dict:
        days: dict[date, dict] = {d: {} for d in period.dates()}
        categories: dict[str, dict] = {}
        streets: dict[str, dict] = {}
        total: dict = {}
        for g in groups:
            self._add(days.setdefault(self._day(g["day"]), {}), g)
            self._add(categories.setdefault(g["category"], {}), g)
            self._add(streets.setdefault(g["street"], {}), g)
            self._add(total, g)
        summary = {"code": None, **self._row(total, total.get("oldest"), now)}
        trend = [{"day": d, **self._row(t, None, now)} for d, t in sorted(days.items())]
        cats = [{"category": code, "name": self._category(code, "zh"), "name_en": self._category(code, "en"),
                 **self._row(t, None, now)} for code, t in categories.items()]
        street_name = self.scenario.streets.get
        strs = [{"street": code, "name": street_name(code, code), "name_en": street_name(code, code),
                 **self._row(t, None, now)} for code, t in streets.items()]
        cats.sort(key=lambda r: (-r["due"], r["category"]))
        strs.sort(key=lambda r: (-r["due"], r["street"]))
        return {"summary": summary, "trend": trend, "categories": cats, "streets": strs}

    def _category(self, code: str, lang: str) -> str:
        category = self.scenario.categories.get(code)
        if category is None:
            return code
        return category.name_en if lang == "en" else category.name_zh

    def _place(self, row: dict) -> dict:
        code = row.get("category_code")
        return {"category_name": self._category(code, "zh"), "category_name_en": self._category(code, "en"),
                "street_name": self.scenario.streets.get(row.get("street_code"), row.get("street_code"))}

    def _case(self, row: dict, now: datetime) -> dict:
        out = {k: (q.utc(v) if k.endswith("_at") else v) for k, v in row.items()}
        out.update(self._place(row))
        out["light"] = "none" if row["stage"] == "suspended" else traffic_light(now, out["warn_at"], out["deadline_at"])
        deadline = out["handle_deadline_at"]
        out["overdue_hours"] = (round((now - deadline).total_seconds() / 3600, 1)
                                if deadline is not None and row["stage"] == "dispatched" and deadline < now else None)
        return out

    def _event(self, row: dict) -> dict:
        try:
            body = json.loads(row["body"] or "{}")
        except ValueError:
            body = {}
        out = {"at": q.utc(row["at"]), "type": row["type"], "case_id": row["case_id"], "actor": row["actor"],
               "reason": str(body.get("reason") or ""), "category_code": row["category_code"],
               "street_code": row["street_code"]}
        out.update(self._place(row))
        return out

    def table(self, name: str, period: Period, code: str | None = None, now: datetime | None = None,
              scope: str | None = None) -> list[dict]:
        """The rows of one table (``departments``, or one of a department's tables): the
        same queries as the pages, for the exports."""
        if name == "departments":
            return self.overview(period, now, scope)["departments"]
        if name not in DEPARTMENT_TABLES:
            raise KeyError(name)
        return self.department(code, period, now, tables=(name,), scope=scope)[name]

    # ------------------------------------------------------------------ the API's answer
    API_FIELDS = ("code", "name", "name_en", "kind", "due", "handled", "handled_on_time", "on_time_rate", "closed",
                  "closure_rate", "reworks", "rework_rate", "returns", "extensions", "overdue_now", "backlog",
                  "backlog_age_days", "handling_median_h", "handling_p90_h", "closure_points", "on_time_points",
                  "rework_points", "volume_points", "score", "grade")

    def api_rows(self, period: Period, now: datetime | None = None, scope: str | None = None) -> list[dict]:
        """``GET /api/v1/departments``: the overview's rows, JSON-ready (rates as fractions)."""
        rows = self.overview(period, now, scope)["departments"]
        return [{k: (round(r[k], 4) if isinstance(r[k], float) and k.endswith("_rate") else r[k])
                 for k in self.API_FIELDS} for r in rows]

