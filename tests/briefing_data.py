"""Generated history for the briefing tests, written straight into the reporting database.

The briefing reads the reporting database (a public interface), so its tests fill it
the way the worker would: events are folded into ``cases`` rows by the domain's own
projection (:func:`dashboard.domain.projection.apply_event`) and both tables are written
in bulk.  Each day's volume, a quiet day, a surge day and planted local surges (a grid ×
category with many more cases than its history) are chosen by the test, so the facts the
briefing must state are known.
"""
from __future__ import annotations

import json
import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from shapely.geometry import shape
from sqlalchemy import insert

from dashboard.domain.events import CaseEvent
from dashboard.domain.lifecycle import EventType
from dashboard.domain.projection import apply_event
from datasource.store import schema

HOURLY = (0.15, 0.10, 0.08, 0.07, 0.08, 0.15, 0.35, 0.70, 1.30, 1.90, 2.10, 1.80,
          1.00, 1.20, 1.80, 2.00, 1.80, 1.20, 0.70, 0.50, 0.45, 0.35, 0.25, 0.20)
SOURCES = (("inspector", 0.74), ("hotline12345", 0.15), ("app", 0.05), ("phone", 0.03), ("camera", 0.03))


@dataclass
class Surge:
    """``n`` extra cases of ``category`` in ``grid`` on ``day`` (a planted local surge)."""

    day: date
    grid: str
    category: str
    n: int


@dataclass
class Town:
    """A seeded generator of case histories on the scenario's real grids."""

    scenario: object
    seed: int = 7
    events: list[CaseEvent] = field(default_factory=list)
    places: dict[str, tuple[str, str, str]] = field(default_factory=dict)

    def __post_init__(self):
        self.rng = random.Random(self.seed)
        self.tz = self.scenario.calendar.tz
        features = self.scenario.grids_geojson["features"]
        self.grids = [f["properties"] for f in features]
        self.points = {f["properties"]["code"]: shape(f["geometry"]).representative_point().coords[0] for f in features}
        # Places differ: a gamma-distributed propensity per grid, so history is informative.
        self.grid_weights = [self.rng.gammavariate(1.2, 1.0) for _ in self.grids]
        self.categories = list(self.scenario.categories.values())
        self.category_weights = [c.weight for c in self.categories]
        self.serials: dict[date, int] = {}

    # ------------------------------------------------------------------ generation
    def history(self, first: date, last: date, per_day: float, now: datetime, volumes: dict | None = None,
                surges: list[Surge] = ()) -> "Town":
        """Cases reported on every day from ``first`` to ``last`` (``volumes`` overrides a
        day's mean), plus ``surges``; their events up to ``now``."""
        day = first
        while day <= last:
            mean = (volumes or {}).get(day, per_day * (1.0 if self.scenario.calendar.is_working_day(day) else 0.55))
            for _ in range(self._poisson(mean)):
                self.case(self._moment(day), now)
            day += timedelta(days=1)
        for s in surges:
            for _ in range(s.n):
                self.case(self._moment(s.day), now, grid=s.grid, category=s.category)
        return self

    def case(self, reported: datetime, now: datetime, grid: str | None = None, category: str | None = None,
             urgency: str | None = None, source: str | None = None, stages: int | None = None,
             handle_hours: float | None = None) -> str:
        """One case reported at ``reported`` and its story up to ``now``; its id."""
        rng = self.rng
        props = self.grids[rng.choices(range(len(self.grids)), self.grid_weights)[0]] if grid is None else \
            next(g for g in self.grids if g["code"] == grid)
        cat = category or rng.choices(self.categories, self.category_weights)[0].code
        if urgency is None:
            urgency = "urgent" if rng.random() < (0.35 if cat.startswith("E04") else 0.03) else "normal"
        source = source or rng.choices([s for s, _ in SOURCES], [w for _, w in SOURCES])[0]
        local = reported.astimezone(self.tz).date()
        self.serials[local] = serial = self.serials.get(local, 0) + 1
        case_id = f"DC{local:%Y%m%d}{serial:06d}"
        self.places[case_id] = (props["code"], props["community_code"], props["street_code"])
        lon, lat = self.points[props["code"]]
        steps = [("reported", reported, {"category": cat, "lon": lon, "lat": lat, "description": "生成的案件",
                                         "source": source, "urgency": urgency})]
        at = reported + timedelta(minutes=rng.uniform(5, 50))
        if rng.random() < 0.04:
            steps.append(("rejected", at, {"reason": "重复上报"}))
        else:
            department = self.scenario.department_for(cat, props["street_code"])
            steps.append(("filed", at, {}))
            at += timedelta(minutes=rng.uniform(5, 80))
            steps.append(("dispatched", at, {"department": department}))
            if rng.random() < 0.03:
                at += timedelta(minutes=rng.uniform(20, 120))
                steps.append(("returned", at, {"reason": "非本部门职责"}))
                at += timedelta(minutes=rng.uniform(5, 60))
                steps.append(("dispatched", at, {"department": department}))
            hours = handle_hours if handle_hours is not None else rng.lognormvariate(math.log(5), 0.9)
            at += timedelta(hours=hours)
            steps.append(("handled", at, {}))
            if rng.random() < 0.05:
                at += timedelta(hours=rng.uniform(0.5, 3))
                steps.append(("rework", at, {"reason": "未处理干净"}))
                at += timedelta(hours=rng.uniform(1, 8))
                steps.append(("handled", at, {}))
            at += timedelta(hours=rng.uniform(0.5, 4))
            steps.append(("verified", at, {}))
            at += timedelta(minutes=rng.uniform(5, 90))
            steps.append(("closed", at, {}))
        if stages is not None:
            steps = steps[:stages]
        for kind, when, body in steps:
            if when > now:
                break
            self.events.append(CaseEvent(uuid.UUID(int=rng.getrandbits(128)).hex, case_id, EventType(kind), when,
                                         "tester", body))
        return case_id

    def _moment(self, day: date) -> datetime:
        hour = self.rng.choices(range(24), HOURLY)[0]
        local = datetime.combine(day, time(hour), self.tz) + timedelta(seconds=self.rng.uniform(0, 3599.999))
        return local.astimezone(timezone.utc)

    def _poisson(self, mean: float) -> int:
        if mean > 50:
            return max(0, round(self.rng.gauss(mean, math.sqrt(mean))))
        limit, n, product = math.exp(-mean), 0, self.rng.random()
        while product > limit:
            n += 1
            product *= self.rng.random()
        return n

    # ------------------------------------------------------------------ writing
    def write(self, engine) -> dict:
        """Fold the events into case rows (domain projection) and write both tables."""
        rows: dict[str, dict] = {}
        event_rows = []
        for e in sorted(self.events, key=lambda e: (e.at, e.case_id)):
            rows[e.case_id] = apply_event(rows.get(e.case_id), e, self.scenario, self.places[e.case_id])
            event_rows.append({"event_id": e.event_id, "stream_id": None, "case_id": e.case_id, "type": e.type.value,
                               "at": e.at, "actor": e.actor, "body": json.dumps(e.body, ensure_ascii=False)})
        case_rows = list(rows.values())
        with engine.begin() as connection:
            for i in range(0, len(event_rows), 20000):
                connection.execute(insert(schema.case_events), event_rows[i:i + 20000])
            for i in range(0, len(case_rows), 20000):
                connection.execute(insert(schema.cases), case_rows[i:i + 20000])
        self.events = []
        return {"cases": len(case_rows), "events": len(event_rows)}
