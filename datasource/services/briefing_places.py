"""The two statistical sections of the briefing: unusual places (the surge test and Gi*
clusters of :mod:`datasource.analysis.hotspots`) and the next day's forecast per street
and category group (:mod:`datasource.analysis.forecast`), fed from the reporting database.
"""
from __future__ import annotations

import threading
from collections import Counter
from datetime import date, timedelta

import numpy as np

from dashboard.domain.briefing import category_group
from dashboard.domain.scope import covers_code, street_of_scope
from datasource.analysis import forecast as fc
from datasource.analysis import hotspots as hs
from datasource.services import briefing_queries as q

MAX_PLACES = 12       # flagged places listed (all of them are drawn on the map)
MAX_CLUSTERS = 5


class Places:
    def __init__(self, scenario):
        self.scenario = scenario
        self.tz = scenario.calendar.tz
        features = scenario.grids_geojson["features"]
        self.grid_codes = [f["properties"]["code"] for f in features]
        self.grid_index = {code: i for i, code in enumerate(self.grid_codes)}
        self.grid_street = [f["properties"]["street_code"] for f in features]
        self.grid_community = [f["properties"]["community_code"] for f in features]
        self.groups = sorted({category_group(c) for c in scenario.categories})
        self.streets = sorted(scenario.streets)
        self._geometries = [f["geometry"] for f in features]
        self._weights = None
        self._lock = threading.Lock()

    @property
    def weights(self):
        """Queen contiguity of the unit grids (built once, ~0.1 s)."""
        if self._weights is None:
            with self._lock:
                if self._weights is None:
                    self._weights = hs.contiguity(self._geometries)
        return self._weights

    # ------------------------------------------------------------------ unusual places
    def baseline_days(self, connection, day: date, scope: str | None = None) -> tuple[str, list[date], list[tuple]]:
        """The baseline (kind, days, per-day grid × group counts in ``scope``): the same
        weekday of the previous 12 weeks where the district had cases, else (fewer than 4
        such days) every day of the previous 28 with cases (EARS-style).  Which days have
        data is the district's question (a quiet community's zero is a count, not a gap)."""
        weeks = [day - timedelta(days=7 * k) for k in range(1, hs.BASELINE_WEEKS + 1)]
        rows = q.window_counts(connection, weeks, self.tz, ("grid_code", "group"), scope)
        used = self._days_with_data(connection, weeks, rows, scope)
        if len(used) >= hs.MIN_WEEKS:
            return "same_weekday", [weeks[i] for i in sorted(used)], [r for r in rows if r[0] in used]
        recent = [day - timedelta(days=k) for k in range(1, hs.FALLBACK_DAYS + 1)]
        rows = q.window_counts(connection, recent, self.tz, ("grid_code", "group"), scope)
        used = self._days_with_data(connection, recent, rows, scope)
        return "recent_days", [recent[i] for i in sorted(used)], [r for r in rows if r[0] in used]

    def _days_with_data(self, connection, days: list[date], rows: list[tuple], scope: str | None) -> set[int]:
        if not scope:
            return {w for w, *_ in rows}
        return {w for w, *_ in q.window_counts(connection, days, self.tz, ())}

    def unusual(self, connection, day: date, today_rows: list[dict], complete: bool, scope: str | None = None) -> dict:
        kind, days, base_rows = self.baseline_days(connection, day, scope)
        out = {"level": hs.LEVEL, "baseline": kind, "baseline_days": [d.isoformat() for d in days],
               "weeks": hs.BASELINE_WEEKS, "places": [], "clusters": [], "flagged_grids": [], "cluster_grids": [],
               "flagged_streets": [], "family": 0, "partial_day": not complete}
        if len(days) < 7 and kind == "recent_days":
            return {**out, "available": False, "reason": "short_history"}
        today = Counter((r["grid_code"], category_group(r["category_code"])) for r in today_rows)
        base = Counter()
        for _w, grid, group, n in base_rows:
            base[(grid, group)] += int(n)
        day_total, base_total = sum(today.values()), sum(base.values())
        cells = sorted(set(today) | set(base))
        street_today, street_base = Counter(), Counter()
        for (grid, group) in cells:
            street = grid[:9]
            street_today[(street, group)] += today.get((grid, group), 0)
            street_base[(street, group)] += base.get((grid, group), 0)
        street_cells = sorted(set(street_today) | set(street_base))
        keys = [("grid", g, c) for g, c in cells] + [("street", s, c) for s, c in street_cells]
        observed = [today.get(k, 0) for k in cells] + [street_today[k] for k in street_cells]
        baseline = [base.get(k, 0) for k in cells] + [street_base[k] for k in street_cells]
        test = hs.surge_test(observed, baseline, day_total, base_total)
        flagged = np.flatnonzero(test.flagged)
        places = sorted(({"level": keys[i][0], "code": keys[i][1], "group": keys[i][2],
                          "street": keys[i][1][:9], "community": keys[i][1][:12] if keys[i][0] == "grid" else None,
                          "observed": int(test.observed[i]), "expected": round(float(test.expected[i]), 2),
                          "p": float(test.p[i])} for i in flagged), key=lambda p: (p["p"], -p["observed"], p["code"]))
        out.update(family=test.family, places=places[:MAX_PLACES], flagged_count=len(places),
                   flagged_grids=sorted({p["code"] for p in places if p["level"] == "grid"}),
                   flagged_streets=sorted({p["code"] for p in places if p["level"] == "street"}))
        out.update(self._clusters(today, base, day_total, base_total, seed=day.toordinal(), scope=scope))
        out["available"] = True
        return out

    def _clusters(self, today: Counter, base: Counter, day_total: int, base_total: int, seed: int,
                  scope: str | None = None) -> dict:
        """Gi* hot spots of the grids' excess, all categories together (seeded by the day, so
        a briefing is the same every time it is made); a sub-centre's clusters keep its own
        grids only (outside them every count is zero: nothing of another area is shown)."""
        n = len(self.grid_codes)
        y, b = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        for (grid, _group), count in today.items():
            if grid in self.grid_index:
                y[self.grid_index[grid]] += count
        for (grid, _group), count in base.items():
            if grid in self.grid_index:
                b[self.grid_index[grid]] += count
        found = hs.gi_star_clusters(y, b, day_total, base_total, self.weights, seed=seed)
        expected = b * (day_total / base_total) if base_total else np.zeros(n)
        clusters = []
        inside = [covers_code(scope, code) for code in self.grid_codes]
        areas = [([i for i in m if inside[i]], [i for i in a if inside[i]]) for m, a in zip(found.groups, found.areas)]
        areas = [(m, a) for m, a in areas if m and a]
        for members, area in areas[:MAX_CLUSTERS]:
            streets = Counter(self.grid_street[i] for i in area)
            clusters.append({"hot": [self.grid_codes[i] for i in members], "grids": [self.grid_codes[i] for i in area],
                             "street": streets.most_common(1)[0][0], "streets": sorted(streets),
                             "observed": int(y[area].sum()), "expected": round(float(expected[area].sum()), 1),
                             "z": round(float(found.z[members].max()), 2)})
        return {"clusters": clusters, "cluster_count": len(areas),
                "cluster_grids": sorted({self.grid_codes[i] for _m, area in areas for i in area})}

    # ------------------------------------------------------------------ forecast
    def forecast(self, connection, day: date, scope: str | None = None) -> dict:
        """Tomorrow (``day`` + 1) per street × category group, from the days up to ``day``
        (a sub-centre: its own cases, its street's series only)."""
        span = fc.WINDOW + fc.BACKTEST_DAYS
        first = day - timedelta(days=span - 1)
        streets = [street_of_scope(scope)] if scope else self.streets
        series = [(s, g) for s in streets for g in self.groups]
        position = {key: i for i, key in enumerate(series)}
        y = np.zeros((len(series), span))
        for d, street, group, n in q.daily_counts(connection, first, span, self.tz, ("street_code", "group"), scope):
            i = position.get((street, group))
            if i is not None and 0 <= d < span:
                y[i, d] += n
        totals = y.sum(axis=0)
        started = int(np.flatnonzero(totals > 0)[0]) if totals.any() else span
        y = y[:, started:]
        days = [first + timedelta(days=started + i) for i in range(y.shape[1])]
        target = day + timedelta(days=1)
        calendar = self.scenario.calendar
        out = {"day": target.isoformat(), "weekday": target.weekday(), "working_day": calendar.is_working_day(target),
               "level": fc.LEVEL, "window": fc.WINDOW, "backtest_days": fc.BACKTEST_DAYS, "history_days": len(days)}
        if len(days) < 14:
            return {**out, "available": False, "reason": "short_history"}
        classes = np.array([fc.day_class(d, calendar) for d in days])
        target_class = fc.day_class(target, calendar)
        window = slice(max(0, len(days) - fc.WINDOW), len(days))
        model = fc.fit(y[:, window], classes[window])
        pred = fc.predict(model, target_class)
        by_street = [np.array([position[(s, g)] for g in self.groups]) for s in streets]
        by_group = [np.array([position[(s, g)] for s in streets]) for g in self.groups]
        street_pred = fc.aggregate(model, pred, by_street, target_class)
        groups = fc.aggregate(model, pred, by_group, target_class)
        total = fc.aggregate(model, pred, [np.arange(len(series))], target_class)
        accuracy = fc.backtest(y, classes, by_street)

        def rows(codes, p):
            return [{"code": c, "mean": round(float(p.mean[i]), 1), "low": int(p.low[i]), "high": int(p.high[i])}
                    for i, c in enumerate(codes)]
        out.update({
            "available": True,
            "total": rows(["all"], total)[0],
            "streets": rows(streets, street_pred),
            "groups": rows(self.groups, groups),
            "matrix": {s: {g: round(float(pred.mean[position[(s, g)]]), 1) for g in self.groups} for s in streets},
            "dispersion": round(model.dispersion, 4), "common": round(model.common, 4),
            "accuracy": {"days": accuracy.days, "mape_total": accuracy.mape_total, "mape_streets": accuracy.mape_groups,
                         "coverage": accuracy.coverage, "coverage_streets": accuracy.coverage_groups,
                         "coverage_total": accuracy.coverage_total,
                         "daily": [{"day": days[t].isoformat(), "actual": a, "mean": round(m, 1), "low": lo, "high": hi}
                                   for t, a, m, lo, hi in accuracy.daily]},
        })
        return out
