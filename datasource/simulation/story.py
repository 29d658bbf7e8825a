"""The story of a case: which events it goes through, by whom, and when.

One model serves both producers.  :meth:`StoryModel.next_step` proposes the next natural
event of a case from its current stage: the backfill asks it for the event's time too
(drawn around the stage's time limit on the working calendar), the live simulator stamps
it "now".  The model is pure given a ``random.Random``: same draws, same story.

Calibration (from the field's published figures, see DOMAIN.md): ≈5% urgent, ≈75% found
by inspectors and ≈18% first reported by the public through hotline 12345; ≈4% rejected at
filing; ≈3% returned by the department and re-dispatched; ≈6% fail verification (rework);
≈2% get an extension and ≈1% are suspended for days.  Each stage's duration is a lognormal
share of its time limit; handling is slowed by the department's ``speed`` factor, so slow
departments are often overdue — the thing the wall must show.

Return visits (回访, issue 11): every case first reported by the public (12345, the app) is
called back about a day after closure; the answers follow Dongcheng's published figures
(satisfaction — satisfied or basically satisfied — ≈ 50 %, Q1 2018: 47.8 / 46.5 / 52.1 %), and
one unsatisfied visit in four reopens the case for rework.  Departments write what they did
when they report a case handled (a handling note is required of people since issue 11).
"""
from __future__ import annotations

import json
import math
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate

from datasource.simulation.clock import TimeText, WorkClock
from datasource.simulation.places import Place
from datasource.tools.componentgen import component_index
from datasource.simulation.texts import (HANDLE_NOTES, REJECT_REASONS, RETURN_REASONS, REWORK_REASONS, SUSPEND_REASONS,
                                        VISIT_NOTES, description)

DISPATCHERS = tuple(f"dispatcher-{i:02d}" for i in range(1, 7))
SUPERVISORS = tuple(f"supervisor-{i:02d}" for i in range(1, 7))
PUBLIC_REPORTERS = {"hotline12345": "12345", "app": "app", "camera": "camera"}

#: source mix by time of day: (inspector, hotline12345, app, camera) cumulative shares.
DAY_SOURCES = tuple(accumulate((0.78, 0.15, 0.045, 0.025)))
NIGHT_SOURCES = tuple(accumulate((0.40, 0.45, 0.05, 0.10)))
SOURCE_NAMES = ("inspector", "hotline12345", "app", "camera")
REJECT_SHARE = {"inspector": 0.025, "hotline12345": 0.08, "app": 0.10, "camera": 0.06}
URGENT_SHARE, URGENT_SHARE_HIGH = 0.035, 0.35   # the latter where the limits table has urgent entries

RETURN_SHARE, SUSPEND_SHARE, EXTEND_SHARE = 0.03, 0.01, 0.02
REWORK_SHARE, REWORK_AGAIN_SHARE = 0.06, 0.02
#: stage → (median, sigma) of the time spent in it, as a share of its limit.
SHARES = {"reported": (0.30, 0.75), "filed": (0.30, 0.60), "dispatched": (0.55, 0.55),
          "handled": (0.40, 0.60), "verified": (0.25, 0.60)}
LOG_SHARES = {stage: (math.log(median), sigma) for stage, (median, sigma) in SHARES.items()}
SUSPENDED_DAYS = (3.0, 0.6)
#: return visits (issue 11): sources visited, (median, sigma) of the days after closure, the
#: answers' cumulative shares (satisfied, basically, unsatisfied) and the unsatisfied reopened
VISITED_SOURCES = ("hotline12345", "app")
VISIT_DAYS = (0.8, 0.5)
VISIT_RESULTS = (("satisfied", 0.30), ("basically", 0.50), ("unsatisfied", 1.0))
REOPEN_SHARE = 0.25
LIMITED_STAGES = tuple(SHARES)
#: event type → stage it leads to (None: unchanged; "@resume": back where it was suspended).
TARGET = {"reported": "reported", "filed": "filed", "rejected": "rejected", "dispatched": "dispatched",
          "returned": "filed", "handled": "handled", "verified": "verified", "rework": "dispatched",
          "closed": "closed", "extended": None, "suspended": "suspended", "resumed": "@resume",
          "visited": None, "reopened": "dispatched"}
FINAL = ("closed", "rejected")
EMPTY: dict = {}   # shared body of events that carry nothing (never mutated)


@dataclass(slots=True)
class Case:
    """What the model remembers about one case between its events."""

    case_id: str
    category: str
    urgency: str
    street: str
    grid: str
    inspector: str
    source: str = "inspector"
    stage: str = ""
    entered: int = 0              # epoch seconds the current stage began
    last_at: int = 0
    version: int = 0
    last_type: str = ""
    last_actor: str = ""
    department: str | None = None
    deadline: int | None = None   # handling deadline of the current dispatch
    extended_from: int | None = None
    suspended_from: str | None = None   # as the command side keeps it (never cleared)
    returned: bool = False
    suspended_once: bool = False
    reworks: int = 0
    limits: dict | None = None    # stage → (counts working time?, amount per unit share)
    maintainer: str | None = None  # the maintainer of the component the case names (issue 16)
    visit: str = ""               # return visit due: "call" after a public case's closure, "reopen" after an unsatisfied one

    @property
    def is_open(self) -> bool:
        """Whether the case has more to come (closed public cases: their return visit)."""
        return self.stage not in FINAL or bool(self.visit)


Step = tuple  # (event type, at epoch seconds, actor, body)


class StoryModel:
    """Draws new cases and their next events for one scenario."""

    def __init__(self, scenario, inspector_of_grid: dict[str, str], start: datetime | None = None,
                 end: datetime | None = None):
        self.scenario, self.calendar = scenario, scenario.calendar
        self.tz = scenario.calendar.tz
        end = end or datetime.now(self.tz)
        self.clock = WorkClock.around(self.calendar, start or end - timedelta(days=1), end)
        self.minutes_per_day = self.calendar.minutes_per_day
        self.iso = TimeText(self.tz)   # epoch seconds → the stream's time text (local, with offset)
        self.inspector_of_grid = inspector_of_grid
        codes = list(scenario.categories)
        self.codes, self.cumulative = codes, list(accumulate(scenario.categories[c].weight for c in codes))
        urgent = _categories_with_urgent_limits(scenario)
        self.urgent_share = {c: URGENT_SHARE_HIGH if c in urgent else URGENT_SHARE for c in codes}
        self.speed = {code: d.speed for code, d in scenario.departments.items()}
        self.limits = {(c, u): self._stage_limits(c, u) for c in codes for u in ("normal", "urgent")}
        self.street_names = scenario.streets
        self.components = component_index(scenario)   # component cases name the nearest one (issue 16)
        self._handlers = {"reported": self._from_reported, "filed": self._from_filed,
                          "dispatched": self._from_dispatched, "handled": self._from_handled,
                          "verified": self._from_verified, "suspended": self._from_suspended,
                          "closed": self._from_closed}

    # -- new cases -----------------------------------------------------------------
    def draw_kind(self, rng, at: int) -> tuple[str, str, str]:
        """(category, urgency, source) of a case reported at ``at``."""
        category = self.codes[bisect_right(self.cumulative, rng.random() * self.cumulative[-1])]
        urgency = "urgent" if rng.random() < self.urgent_share[category] else "normal"
        hour = (at + self.iso.offset(at)) // 3600 % 24   # the offset of that instant (daylight saving)
        mix = DAY_SOURCES if 7 <= hour < 22 else NIGHT_SOURCES
        source = SOURCE_NAMES[min(bisect_right(mix, rng.random() * mix[-1]), 3)]
        return category, urgency, source

    def report(self, rng, case_id: str, at: int, place: Place, kind: tuple[str, str, str]) -> tuple[Case, Step]:
        """A new case and its ``reported`` event."""
        category, urgency, source = kind
        inspector = self.inspector_of_grid.get(place.grid, "inspector")
        case = Case(case_id, category, urgency, place.street, place.grid, inspector, source,
                    limits=self.limits[(category, urgency)])
        label = place.label or self.street_names.get(place.street, "") + "辖区"
        body = {"category": category, "lon": place.lon, "lat": place.lat,
                "description": description(rng, category, self.scenario.categories[category].name_zh, label),
                "source": source, "urgency": urgency}
        if self.components is not None and self.scenario.categories[category].kind == "component":
            code = self.components.nearest(category, place.lon, place.lat)
            if code:   # the report names the component; dispatch will go to its maintainer
                body["component"] = code
                case.maintainer = self.components.maintainer.get(code)
        return case, ("reported", at, inspector if source == "inspector" else PUBLIC_REPORTERS[source], body)

    # -- the next event ----------------------------------------------------------------
    def next_step(self, rng, case: Case, now: int | None = None) -> Step | None:
        """The next natural event of ``case``; at ``now`` if given, else at a drawn time."""
        handler = self._handlers.get(case.stage)
        step = handler(rng, case, now) if handler is not None else None
        if step is None:
            return None
        kind, at, actor, body = step
        if now is None and at <= case.last_at:
            at = case.last_at + 1
        return kind, at, actor, body

    def _from_reported(self, rng, case, now):
        at = now or self._after(rng, case, "reported")
        if rng.random() < REJECT_SHARE.get(case.source, 0.04):
            return "rejected", at, self._staff(rng, SUPERVISORS, at), {"reason": rng.choice(REJECT_REASONS)}
        return "filed", at, self._staff(rng, SUPERVISORS, at), EMPTY

    def _from_filed(self, rng, case, now):
        at = now or self._after(rng, case, "filed")
        department = self._other_department(rng, case) if case.returned else \
            (case.maintainer if case.maintainer in self.scenario.departments else
             self.scenario.department_for(case.category, case.street))
        return "dispatched", at, self._staff(rng, DISPATCHERS, at), {"department": department}

    def _from_dispatched(self, rng, case, now):
        u = rng.random() if case.extended_from is None else 1.0
        if u < RETURN_SHARE and not case.returned and not case.reworks:
            at = now or self._after(rng, case, "dispatched", rng.uniform(0.05, 0.3))
            return "returned", at, case.department, {"reason": rng.choice(RETURN_REASONS)}
        if u < RETURN_SHARE + SUSPEND_SHARE and not case.suspended_once:
            at = now or self._after(rng, case, "dispatched", rng.uniform(0.1, 0.6))
            return "suspended", at, self._staff(rng, SUPERVISORS, at), {"reason": rng.choice(SUSPEND_REASONS)}
        if u < RETURN_SHARE + SUSPEND_SHARE + EXTEND_SHARE and case.deadline is not None:
            at = now or self._after(rng, case, "dispatched", rng.uniform(0.5, 0.95))
            until = self._later(max(case.deadline, at), rng.choice((1, 2, 3)))
            return "extended", at, self._staff(rng, SUPERVISORS, at), {"until": self.iso(until)}
        return "handled", now or self._handled_at(rng, case), case.department, {"note": rng.choice(HANDLE_NOTES)}

    def _from_handled(self, rng, case, now):
        at = now or self._after(rng, case, "handled")
        if rng.random() < (REWORK_AGAIN_SHARE if case.reworks else REWORK_SHARE):
            return "rework", at, case.inspector, {"reason": rng.choice(REWORK_REASONS)}
        return "verified", at, case.inspector, EMPTY

    def _from_verified(self, rng, case, now):
        at = now or self._after(rng, case, "verified")
        return "closed", at, self._staff(rng, SUPERVISORS, at), EMPTY

    def _from_closed(self, rng, case, now):
        """The return visit of a public case (and the reopening an unsatisfied one may bring)."""
        if not case.visit:
            return None
        if case.visit == "reopen":
            return "reopened", now or case.last_at + 1, case.last_actor, {"reason": "回访不满意，重新处置"}
        median, sigma = VISIT_DAYS
        at = now or case.entered + int(86400 * median * math.exp(rng.gauss(0.0, sigma)))
        u = rng.random()
        result = next(name for name, share in VISIT_RESULTS if u < share)
        body = {"result": result, "note": rng.choice(VISIT_NOTES[result])}
        if result == "unsatisfied" and rng.random() < REOPEN_SHARE:
            body["reopen"] = True   # as the visits service writes it: a ``reopened`` event follows
        return "visited", at, self._staff(rng, SUPERVISORS, at), body

    def _from_suspended(self, rng, case, now):
        median, sigma = SUSPENDED_DAYS
        at = now or case.entered + int(86400 * median * math.exp(rng.gauss(0.0, sigma)))
        return "resumed", at, self._staff(rng, SUPERVISORS, at), EMPTY

    # -- applying an event to the model's memory ---------------------------------------
    def apply(self, case: Case, step: Step) -> None:
        """Move ``case`` on by ``step`` (as the command side's Lua script would)."""
        kind, at, actor, body = step
        target = TARGET[kind]
        if target == "@resume":
            target = case.suspended_from or "filed"
        elif target == "suspended":
            case.suspended_from, case.suspended_once = case.stage, True
        if kind == "dispatched":
            case.department = body["department"]
        elif kind == "returned":
            case.returned = True
        elif kind == "rework":
            case.reworks += 1
        elif kind == "extended":
            case.extended_from, case.deadline = case.deadline, self.parse_iso(body["until"])
        elif kind == "closed":
            case.visit = "call" if case.source in VISITED_SOURCES else ""
        elif kind == "visited":
            case.visit = "reopen" if body.get("reopen") else ""
        elif kind == "reopened":
            case.visit, case.reworks = "", case.reworks + 1
        if target is not None and (target != case.stage or kind == "rework"):
            case.stage, case.entered = target, at
            if target == "dispatched":
                case.deadline, case.extended_from = self._after(None, case, "dispatched", 1.0), None
        case.last_at, case.version, case.last_type, case.last_actor = at, case.version + 1, kind, actor

    def command_state(self, case: Case) -> dict:
        """The case hash the checked-append Lua script would have left for ``case``."""
        state = {"stage": case.stage, "version": case.version, "actor": case.last_actor,
                 "at": self.iso(case.last_at), "type": case.last_type}
        if case.suspended_from:
            state["suspended_from"] = case.suspended_from
        return state

    # -- time ---------------------------------------------------------------------------
    def _after(self, rng, case: Case, stage: str, share: float | None = None) -> int:
        """``share`` of the stage's limit after the case entered it (drawn when None)."""
        if share is None:
            mu, sigma = LOG_SHARES[stage]
            share = math.exp(rng.gauss(mu, sigma))
        working, amount = case.limits[stage]
        if working:
            return int(self.clock.add(case.entered, amount * share))
        return case.entered + int(amount * share)

    def _stage_limits(self, category: str, urgency: str) -> dict[str, tuple[bool, float]]:
        """stage → (working time?, working minutes or natural seconds of the whole limit)."""
        out = {}
        for stage in LIMITED_STAGES:
            limit = self.scenario.limits.limit(stage, category, urgency)
            if limit is None:
                out[stage] = (False, 3600.0)   # an unlimited stage: an hour's scale
            elif limit.unit in ("minutes", "hours"):
                out[stage] = (False, limit.amount * (60 if limit.unit == "minutes" else 3600))
            else:
                out[stage] = (True, limit.amount * (60 if limit.unit == "work_hours" else self.minutes_per_day))
        return out

    def _handled_at(self, rng, case: Case) -> int:
        if case.extended_from is not None and case.deadline is not None:
            return int(case.extended_from + (case.deadline - case.extended_from) * rng.uniform(0.05, 1.2))
        mu, sigma = LOG_SHARES["dispatched"]
        return self._after(rng, case, "dispatched", self.speed.get(case.department, 1.0) * math.exp(rng.gauss(mu, sigma)))

    def _later(self, at: int, work_days: int) -> int:
        return int(self.clock.add(at, work_days * self.minutes_per_day))

    @staticmethod
    def parse_iso(text: str) -> int:
        return int(datetime.fromisoformat(text).timestamp())

    # -- people -------------------------------------------------------------------------
    def _staff(self, rng, pool: tuple[str, ...], at: int) -> str:
        """One of the two people of ``pool`` on the 8-hour shift covering ``at``."""
        shift = (at + self.iso.offset(at)) // 3600 % 24 // 8
        return pool[(2 * shift + (rng.random() < 0.5)) % len(pool)]

    def _other_department(self, rng, case: Case) -> str:
        """Where a returned case goes next: the street office, or a professional department."""
        street_office = f"street-{case.street}"
        if case.department != street_office and street_office in self.scenario.departments:
            return street_office
        options = [c for c, d in self.scenario.departments.items() if d.kind == "professional" and c != case.department]
        return rng.choice(options)


def _categories_with_urgent_limits(scenario) -> set[str]:
    """Categories whose own time limits distinguish an urgent case (burst mains, open covers …)."""
    config = json.loads((scenario.root / "time_limits.json").read_text(encoding="utf-8"))
    return {category for category, stages in config.get("categories", {}).items()
            if any("urgent" in by_urgency for by_urgency in stages.values())}


def uuid4_hex(rng) -> str:
    """A version-4 UUID as 32 hex digits, drawn from ``rng``: event ids that repeat with the seed."""
    bits = rng.getrandbits(128)
    bits = (bits & ~(0xF000 << 64) | (0x4000 << 64)) & ~(0xC000 << 48) | (0x8000 << 48)
    return "%032x" % bits
