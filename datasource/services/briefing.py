"""The leaders' daily briefing as plain data: what the page, the PDF and ``citygrid
briefing`` all show (README "Daily briefing").

:meth:`BriefingService.build` answers one JSON-ready dict for a local day: headline
figures with their changes (definitions in :mod:`dashboard.domain.briefing`), hourly
inflow, category groups, streets, the department ranking of the day's cohort, the oldest
overdue cases, the day's emergencies with their outcome, unusual places (the stated test
of :mod:`datasource.analysis.hotspots`) and the next day's forecast
(:mod:`datasource.analysis.forecast`).  Names are not resolved here: the dict carries
codes, and :class:`Names` turns them into words in either language.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from dashboard.domain import briefing as rules
from dashboard.domain.indicators import department_score
from dashboard.i18n import t
from datasource.services import briefing_queries as q

CACHE_SECONDS = 60
OLDEST_OVERDUE = 10


@dataclass(frozen=True)
class Window:
    """A day's window ``[start, start + elapsed)``: the whole day, or — for today — the part
    that has passed (comparison days are cut at the same clock time)."""

    day: date
    start: datetime
    end: datetime


class BriefingService:
    def __init__(self, system):
        self.system = system
        self.scenario = system.scenario
        self.tz = self.scenario.calendar.tz
        self._cache: dict[tuple[date, str | None], tuple[float, dict]] = {}
        self._lock = threading.Lock()
        self._places = None

    # ------------------------------------------------------------------ public
    def now(self) -> datetime:
        clock = getattr(self.system, "now", None)   # an injectable business clock, where the system has one
        return clock() if callable(clock) else datetime.now(timezone.utc)

    def today(self, now: datetime | None = None) -> date:
        return (now or self.now()).astimezone(self.tz).date()

    def resolve(self, text: str | None, now: datetime | None = None) -> date:
        """A date asked for (``YYYY-MM-DD``, ``yesterday``, ``today``); BriefingDateError otherwise."""
        return rules.resolve_day(text, self.today(now))

    def build(self, day: date, now: datetime | None = None, cache: bool = True, scope: str | None = None) -> dict:
        """The briefing of local ``day`` as of ``now`` over ``scope`` (a street or community
        code; None = the district), cached for a minute per day and scope."""
        fixed_now = now is not None
        now = now or self.now()
        key = (day, scope or None)
        if cache and not fixed_now:
            hit = self._cache.get(key)
            if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
                return hit[1]
        with self._lock:   # one computation at a time: a morning's readers share it
            hit = self._cache.get(key)
            if cache and not fixed_now and hit and time.monotonic() - hit[0] < CACHE_SECONDS:
                return hit[1]
            data = self._build(day, now, scope or None)
            if not fixed_now:
                self._cache[key] = (time.monotonic(), data)
            return data

    # ------------------------------------------------------------------ assembly
    def _build(self, day: date, now: datetime, scope: str | None) -> dict:
        started = time.perf_counter()
        start, end = rules.day_bounds(day, self.tz)
        out = {"day": day.isoformat(), "scope": scope, "weekday": day.weekday(), "working_day": self.scenario.calendar.is_working_day(day),
               "as_of": now.isoformat(), "tz": self.scenario.calendar.timezone, "complete": end <= now}
        if start > now:
            return {**out, "empty": True, "reason": "future"}
        elapsed = min(end, now) - start
        windows = {"day": Window(day, start, start + elapsed)}
        for name, back in rules.COMPARISONS:
            other = day - timedelta(days=back)
            other_start, _ = rules.day_bounds(other, self.tz)
            windows[name] = Window(other, other_start, other_start + elapsed)
        engine = self.system.read_engine   # reads only: the read replica when there is one
        with engine.connect() as connection:
            # "No data" is the system's (nothing recorded that day), not a quiet street's.
            if not q.any_event(connection, start, min(end, now)):
                return {**out, "empty": True, "reason": "no_data"}
            figures = {name: self._day_figures(connection, w, now, now - start, scope) for name, w in windows.items()}
            today = figures["day"]
            out.update({
                "empty": False,
                "headlines": self._headlines(figures),
                "cohort": today["cohort_counts"],
                "hourly": {name: f["hourly"] for name, f in figures.items()},
                "groups": _compare(figures, "groups"),
                "categories": _compare(figures, "categories")[:10],
                "streets": _compare(figures, "streets"),
                "departments": self._departments(today["cohort"]),
                "overdue_cases": self._oldest_overdue(connection, today["overdue_rows"], windows["day"].end),
                "emergencies": self._emergencies(connection, today["new_rows"], now),
            })
            places = self.places
            out["unusual"] = places.unusual(connection, day, today["new_rows"], out["complete"], scope)
            out["forecast"] = places.forecast(connection, day, scope) if out["complete"] else {
                "available": False, "reason": "day_not_over"}
        out["seconds"] = round(time.perf_counter() - started, 3)
        return out

    @property
    def places(self):
        if self._places is None:
            from datasource.services.briefing_places import Places
            self._places = Places(self.scenario)
        return self._places

    def _day_figures(self, connection, w: Window, now: datetime, age: timedelta, scope: str | None) -> dict:
        """Everything counted for one window (the day itself or a comparison day) in ``scope``."""
        counts = q.event_counts(connection, w.start, w.end, ("reported", "filed", "closed"), scope)
        rows = q.new_cases(connection, w.start, w.end, scope)
        cutoff = min(now, w.start + age)   # cohort rates at the same age as the day's own
        cohort = q.cohort(connection, w.start, w.end, scope)
        closed = sum(1 for c in cohort if c["closed_at"] is not None and c["closed_at"] <= cutoff)
        handled = [c for c in cohort if c["stage"] in rules.HANDLED_STAGES and c["handled_at"] <= cutoff]
        on_time = sum(1 for c in handled if c["handled_on_time"])
        open_rows = q.open_at(connection, w.end, self.scenario, now, scope)
        overdue = [r for r in open_rows if rules.is_overdue(r["stage"], r["deadline_at"], w.end)]
        hourly = [0] * 24
        for r in rows:
            hourly[r["reported_at"].astimezone(self.tz).hour] += 1
        return {
            "counts": counts, "new": len(rows), "new_rows": rows, "cohort": cohort, "overdue_rows": overdue,
            "cohort_counts": {"due": len(cohort), "closed": closed, "handled": len(handled), "on_time": on_time},
            "public": sum(1 for r in rows if rules.is_public(r["source"])),
            "hourly": hourly,
            "groups": Counter(rules.category_group(r["category_code"]) for r in rows),
            "categories": Counter(r["category_code"] for r in rows),
            "streets": Counter(r["street_code"] for r in rows),
        }

    @staticmethod
    def _headlines(figures: dict) -> dict:
        def values(f: dict) -> dict:
            c = f["cohort_counts"]
            return {"new": f["new"], "filed": f["counts"]["filed"], "dispatched": c["due"],
                    "closed": f["counts"]["closed"], "closure_rate": rules.ratio(c["closed"], c["due"]),
                    "on_time_rate": rules.ratio(c["on_time"], c["handled"]), "overdue": len(f["overdue_rows"]),
                    "public_share": rules.ratio(f["public"], f["new"])}
        now = values(figures["day"])
        bases = {name: values(figures[name]) for name, _ in rules.COMPARISONS}
        out = {}
        for name in rules.HEADLINES:
            rate = name in rules.RATES
            entry = {"value": now[name]}
            for comparison, _ in rules.COMPARISONS:
                ch = rules.change(now[name], bases[comparison][name], rate)
                entry[comparison] = {"base": ch.base, "delta": ch.delta, "relative": ch.relative,
                                     "direction": rules.direction(ch.delta, name)}
            out[name] = entry
        return out

    @staticmethod
    def _departments(cohort: list[dict]) -> list[dict]:
        """DOMAIN.md §4's department composite over the day's cohort, best first."""
        acc: dict[str, list[int]] = {}
        for c in cohort:
            a = acc.setdefault(c["department_code"] or "", [0, 0, 0, 0, 0])
            a[0] += 1
            a[1] += c["closed_at"] is not None
            handled = c["stage"] in rules.HANDLED_STAGES
            a[2] += handled
            a[3] += handled and bool(c["handled_on_time"])
            a[4] += int(c["rework_count"] or 0)
        rows = []
        for code, (due, closed, handled, on_time, reworks) in acc.items():
            score = department_score(due, closed, handled, on_time, reworks)
            rows.append({"code": code, "due": due, "closed": closed, "handled": handled, "on_time": on_time,
                         "reworks": reworks, "closure_rate": score.closure_rate, "on_time_rate": score.on_time_rate,
                         "rework_rate": score.rework_rate, "score": score.composite, "grade": score.grade})
        rows.sort(key=lambda r: (-r["score"], -r["due"], r["code"]))
        return rows

    def _oldest_overdue(self, connection, overdue: list[dict], at: datetime) -> list[dict]:
        """The cases longest past their deadline at ``at``, with where they stand now."""
        oldest = sorted(overdue, key=lambda r: (r["deadline_at"], r["case_id"]))[:OLDEST_OVERDUE]
        now_rows = q.cases_by_id(connection, [r["case_id"] for r in oldest], ("case_id", "stage", "closed_at"))
        return [{"case_id": r["case_id"], "category": r["category_code"], "street": r["street_code"],
                 "grid": r["grid_code"], "department": r["department_code"], "stage": r["stage"],
                 "urgency": r["urgency"], "deadline_at": r["deadline_at"].isoformat(),
                 "overdue_minutes": int((at - r["deadline_at"]).total_seconds() // 60),
                 "stage_now": (now_rows.get(r["case_id"]) or {}).get("stage")} for r in oldest]

    def _emergencies(self, connection, rows: list[dict], now: datetime) -> list[dict]:
        """突发事件 of the day (event class 04, urgent) and how each one went."""
        urgent = sorted((r for r in rows if rules.is_emergency(r["category_code"], r["urgency"])),
                        key=lambda r: r["reported_at"])
        ids = [r["case_id"] for r in urgent]
        events = q.case_events_of(connection, ids)
        state = q.cases_by_id(connection, ids, ("case_id", "stage", "department_code", "deadline_at",
                                                 "handled_on_time"))
        out = []
        for r in urgent:
            first = {}
            for kind, at, _actor, _body in events.get(r["case_id"], []):
                first.setdefault(kind, at)
            s = state.get(r["case_id"], {})
            reported = r["reported_at"]

            def minutes(kind):
                return int((first[kind] - reported).total_seconds() // 60) if kind in first else None
            out.append({"case_id": r["case_id"], "category": r["category_code"], "street": r["street_code"],
                        "grid": r["grid_code"], "reported_at": reported.isoformat(), "stage": s.get("stage"),
                        "department": s.get("department_code"), "to_dispatch_min": minutes("dispatched"),
                        "to_handle_min": minutes("handled"), "to_close_min": minutes("closed"),
                        "handled_on_time": s.get("handled_on_time"),
                        "overdue": rules.is_overdue(s.get("stage") or "closed", s.get("deadline_at"), now)})
        return out


def _compare(figures: dict, key: str) -> list[dict]:
    """Counts of ``key`` on the day beside the comparison days, largest first."""
    codes = set(figures["day"][key])
    for name, _ in rules.COMPARISONS:
        codes |= set(figures[name][key])
    rows = [{"code": code, "n": figures["day"][key].get(code, 0),
             **{name: figures[name][key].get(code, 0) for name, _ in rules.COMPARISONS}} for code in codes]
    rows.sort(key=lambda r: (-r["n"], -r["last_week"], r["code"]))
    return rows


class Names:
    """Codes → words in one language, from the scenario (and the i18n catalogue for the
    category groups, which the scenario files do not name)."""

    def __init__(self, scenario, lang: str):
        self.scenario, self.lang = scenario, lang
        self._communities = None

    def street(self, code: str | None) -> str:
        return self.scenario.streets.get(code or "", code or "—")

    def department(self, code: str | None) -> str:
        d = self.scenario.departments.get(code or "")
        if d is None:
            return code or "—"
        return d.name_en if self.lang == "en" else d.name_zh

    def category(self, code: str | None) -> str:
        c = self.scenario.categories.get(code or "")
        if c is None:
            return code or "—"
        return c.name_en if self.lang == "en" else c.name_zh

    def group(self, code: str) -> str:
        key = f"briefing.group.{code}"
        text = t(key, self.lang)
        return code if text == key else text

    def area(self, scope: str | None) -> str:
        """The name of a sub-centre's area (a street, or a community with its street)."""
        if not scope:
            return ""
        if len(scope) == 9:
            return self.street(scope)
        return self.street(scope[:9]) + self.community(scope)

    def community(self, code: str | None) -> str:
        if self._communities is None:
            self._communities = {f["properties"]["code"]: f["properties"]["name"]
                                 for f in self.scenario.communities_geojson["features"]}
        return self._communities.get(code or "", code or "—")
