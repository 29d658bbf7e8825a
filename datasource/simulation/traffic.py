"""Live traffic: a steady trickle of new reports and next steps, as the field produces them.

The simulator behaves like the field's many actors at once.  It loads the open cases from
the reporting database, keeps them in memory, and at ``rate`` events per second either
reports a new case or moves a random open case one natural step on (the same
:class:`StoryModel` as the backfill, stamped "now").  Every event goes through the CHECKED
append, like an operator's click: if someone else moved the case meanwhile (an operator in
the UI), the append is refused with a ``Conflict`` and the simulator simply forgets that case.

A healthy district is in a steady state: what is reported gets filed, dispatched, handled,
verified and closed at the same pace, so every stage's backlog stays level.  Two controls
keep it so.  The share of new reports is steered so that the open backlog as a whole stays
near where it started; and the case to move is drawn stage by stage, each stage weighted
by how full it is against its own starting level (``n / target``).  A stage that fills up
is then worked faster and one that empties slower — per case, a stage's pace is 1/target,
so by Little's law its level settles at its target.  (Drawing a case uniformly instead
would give every stage the same pace, so a few hundred cases waiting minutes to be filed
would pile up like the thousands waiting days to be handled: the old demo's 发现 68 → 310.)

``load`` simulates a bad day: reports then come ``load`` times as often as the centre can
take them (the steering is off), and every stage's backlog grows in proportion.
"""
from __future__ import annotations

import random
import time
from collections import Counter
from datetime import datetime, timezone

from sqlalchemy import select

from dashboard.domain.events import CaseEvent
from dashboard.domain.lifecycle import EventType
from datasource.store import schema
from datasource.redis.stream import Conflict
from datasource.simulation.inspectors import inspector_by_grid, inspectors_for
from datasource.simulation.places import PlaceSampler
from datasource.simulation.story import (EXTEND_SHARE, RETURN_SHARE, REWORK_SHARE, SUSPEND_SHARE, Case,
                                         StoryModel, uuid4_hex)

OPEN_STAGES = ("reported", "filed", "dispatched", "handled", "verified", "suspended")
ARRIVAL_SHARE = 1 / 6.2          # one report per ~6.2 events: a case's average number of events
ARRIVAL_BOUNDS = (0.02, 0.9)
MIN_BACKLOG = 200                # what an empty system grows to
#: how an empty system's backlog splits over the stages (a working day's afternoon)
EMPTY_MIX = {"reported": 0.04, "filed": 0.04, "dispatched": 0.72, "handled": 0.10, "verified": 0.08,
             "suspended": 0.02}
MIN_STAGE = 5                    # no stage's target below this: an empty stage still moves
_KEPT = 1 - 0.04                 # ≈4% are rejected at filing and never go further
#: steps taken in each stage per case reported, from the story's shares: returns and rework
#: send cases round again, extensions are steps that stay, and few cases are ever suspended.
#: A stage is drawn in proportion to this × its fill, so that at its target it is left
#: exactly as often as it is entered.
STEP_SHARE = {"reported": 1.0, "filed": _KEPT * (1 + RETURN_SHARE),
              "dispatched": _KEPT * (1 + RETURN_SHARE + REWORK_SHARE) * (1 + EXTEND_SHARE + SUSPEND_SHARE),
              "handled": _KEPT * (1 + REWORK_SHARE), "verified": _KEPT, "suspended": _KEPT * SUSPEND_SHARE}
LOAD_CHUNK = 5000
#: closed public cases wait in the pool for their return visit (回访): held near this many, and
#: drawn with the share of closures that get one (12345, app and phone reports ≈ 30 %)
VISIT_TARGET, VISIT_SHARE = 20, 0.3


class OpenCases:
    """The open cases in memory, by stage, with O(1) random pick, move and removal."""

    def __init__(self):
        self._stages: dict[str, list[Case]] = {stage: [] for stage in OPEN_STAGES}
        self._index: dict[str, tuple[str, int]] = {}   # case id → (stage, position)

    def __len__(self) -> int:
        return len(self._index)

    @property
    def _items(self) -> list[Case]:
        return [case for cases in self._stages.values() for case in cases]

    def count(self, stage: str) -> int:
        return len(self._stages.get(stage, ()))

    def counts(self) -> dict[str, int]:
        return {stage: len(cases) for stage, cases in self._stages.items()}

    def add(self, case: Case) -> None:
        pool = self._stages.setdefault(case.stage, [])
        self._index[case.case_id] = (case.stage, len(pool))
        pool.append(case)

    def remove(self, case: Case) -> None:
        where = self._index.pop(case.case_id, None)
        if where is None:
            return
        stage, i = where
        pool = self._stages[stage]
        last = pool.pop()
        if last is not case:
            pool[i] = last
            self._index[last.case_id] = (stage, i)

    def moved(self, case: Case) -> None:
        """``case`` changed stage: file it under its new one."""
        where = self._index.get(case.case_id)
        if where is not None and where[0] != case.stage:
            self.remove(case)
            self.add(case)

    def pick(self, rng: random.Random, weights: dict[str, float] | None = None) -> Case:
        """A random case; with ``weights``, first a stage in proportion to its weight."""
        if weights is None:
            i = int(rng.random() * len(self))
            for cases in self._stages.values():
                if i < len(cases):
                    return cases[i]
                i -= len(cases)
        stages = [s for s, w in weights.items() if w > 0 and self._stages.get(s)]
        total = sum(weights[s] for s in stages)
        u = rng.random() * total
        for stage in stages:
            u -= weights[stage]
            if u < 0:
                break
        cases = self._stages[stage]
        return cases[int(rng.random() * len(cases))]


def stage_targets(pool: OpenCases) -> dict[str, int]:
    """Each open stage's level to hold: where it started (an empty system: MIN_BACKLOG split)."""
    counts = pool.counts()
    if len(pool) < MIN_BACKLOG:
        counts = {stage: max(n, round(MIN_BACKLOG * EMPTY_MIX[stage])) for stage, n in counts.items()}
    return {stage: max(n, MIN_STAGE) for stage, n in counts.items()}


def _text(value) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _ts(value) -> int | None:
    """Epoch seconds of a DB time (SQLite hands back naive UTC, PostgreSQL aware times)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return int(value.timestamp())


def load_open_cases(system, model: StoryModel) -> OpenCases:
    """Open cases of the reporting DB whose command-side stage agrees (others are in flux)."""
    c = schema.cases
    query = select(c.c.case_id, c.c.stage, c.c.category_code, c.c.urgency, c.c.department_code, c.c.grid_code,
                   c.c.street_code, c.c.source, c.c.return_count, c.c.rework_count, c.c.extension_count,
                   c.c.suspended_from, c.c.deadline_at, c.c.stage_entered_at, c.c.updated_at, c.c.component_code
                   ).where(c.c.stage.in_(OPEN_STAGES)).order_by(c.c.case_id)
    with system.engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    pool = OpenCases()
    for i in range(0, len(rows), LOAD_CHUNK):
        chunk = rows[i:i + LOAD_CHUNK]
        pipe = system.stream.client.pipeline(transaction=False)
        for row in chunk:
            pipe.hmget(system.stream.case_key(row["case_id"]), "stage", "version")
        for row, (stage, version) in zip(chunk, pipe.execute()):
            if _text(stage) == row["stage"] and row["category_code"] in model.scenario.categories:
                pool.add(restore_case(model, row, int(version)))
    return pool


def restore_case(model: StoryModel, row, version: int) -> Case:
    """The model's memory of a case, rebuilt from its ``cases`` row and command-side version."""
    urgency = row["urgency"] if row["urgency"] in ("normal", "urgent") else "normal"
    deadline = _ts(row["deadline_at"]) if row["stage"] == "dispatched" else None
    return Case(row["case_id"], row["category_code"], urgency, row["street_code"], row["grid_code"],
                model.inspector_of_grid.get(row["grid_code"], "inspector"), row["source"],
                stage=row["stage"], entered=_ts(row["stage_entered_at"]) or 0, last_at=_ts(row["updated_at"]) or 0,
                version=version, department=row["department_code"], deadline=deadline,
                extended_from=deadline if row["extension_count"] and deadline else None,
                suspended_from=row["suspended_from"], returned=bool(row["return_count"]),
                suspended_once=bool(row["suspended_from"]), reworks=row["rework_count"] or 0,
                limits=model.limits[(row["category_code"], urgency)],
                maintainer=model.components.maintainer.get(row["component_code"])
                if model.components is not None and row.get("component_code") else None)


class LiveSimulator:
    """One live producer: decides, appends (checked) and remembers, one event at a time."""

    def __init__(self, system, seed: int | None = None, load: float = 1.0):
        if load <= 0:
            raise ValueError(f"load must be positive, not {load}")
        self.system, self.stream, self.load = system, system.stream, load
        self.rng = random.Random(seed)
        self.ids = random.Random(None if seed is None else f"live-ids-{seed}")
        self.model = StoryModel(system.scenario, inspector_by_grid(inspectors_for(system.scenario)))
        self.places = PlaceSampler(system.scenario, system.locator)
        self.open = load_open_cases(system, self.model)
        self.targets = stage_targets(self.open)
        self.target = sum(self.targets.values())
        self.counts: Counter = Counter()

    def arrival_share(self) -> float:
        """Report more when the backlog shrank, less when it grew; on a bad day, ``load`` times
        what the centre keeps up with, whatever the backlog."""
        low, high = ARRIVAL_BOUNDS
        if self.load != 1.0:
            return min(high, max(low, ARRIVAL_SHARE * self.load))
        # the open stages only: closed cases waiting for their return visit are no backlog
        open_now = sum(self.open.count(stage) for stage in OPEN_STAGES)
        return min(high, max(low, ARRIVAL_SHARE * self.target / max(open_now, 1)))

    def stage_weights(self) -> dict[str, float]:
        """How likely the next step is taken in each stage: its fill against its target."""
        weights = {stage: self.open.count(stage) / target * STEP_SHARE[stage]
                   for stage, target in self.targets.items()}
        weights["closed"] = self.open.count("closed") / VISIT_TARGET * VISIT_SHARE   # return visits due
        return weights

    def tick(self) -> str:
        """Produce one event now; what happened (an event type or 'conflict')."""
        now = int(self.system.time())
        if not len(self.open) or self.rng.random() < self.arrival_share():
            case, step = self._new_case(now)
        else:
            case = self.open.pick(self.rng, self.stage_weights())
            step = self.model.next_step(self.rng, case, now=now)
            if step is None:
                self.open.remove(case)
                return "skipped"
        outcome = self._append(case, step)
        self.counts[outcome] += 1
        return outcome

    def _new_case(self, now: int) -> tuple[Case, tuple]:
        kind = self.model.draw_kind(self.rng, now)
        place = self.places.sample(self.rng, [kind[0]])[0]
        case_id = self.stream.next_case_id(datetime.fromtimestamp(now, self.model.tz).date())
        return self.model.report(self.rng, case_id, now, place, kind)

    def _append(self, case: Case, step: tuple) -> str:
        kind, at, actor, body = step
        event = CaseEvent(uuid4_hex(self.ids), case.case_id, EventType(kind),
                          datetime.fromtimestamp(at, self.model.tz), actor, dict(body))
        result = self.stream.append(event, expect_version=case.version if case.version else None)
        if isinstance(result, Conflict):   # someone else moved it: forget the case
            self.open.remove(case)
            return "conflict"
        was_new = not case.version
        self.model.apply(case, step)
        if was_new:
            self.open.add(case)
        elif not case.is_open:
            self.open.remove(case)
        else:
            self.open.moved(case)
        return kind


def simulate(system, rate: float, duration: float | None, seed: int | None = None, stop=None,
             progress=None, load: float = 1.0) -> dict:
    """Publish live events at ``rate`` per second for ``duration`` seconds (None/0: until ``stop``).

    ``stop`` is a ``threading.Event``; ``progress(1)`` is called per event; ``load`` above 1
    is a bad day (reports ``load`` times as often as the centre keeps up with).  Returns the
    counts per event type, conflicts, the open cases at the end and the seconds taken.
    """
    if rate <= 0:
        raise ValueError(f"rate must be positive, not {rate}")
    if not duration and stop is None:
        raise ValueError("simulate without a duration needs a stop event")
    simulator = LiveSimulator(system, seed, load)
    started = time.monotonic()
    total = int(round(rate * duration)) if duration else None
    n = 0
    while total is None or n < total:
        if stop is not None and stop.is_set():
            break
        delay = started + n / rate - time.monotonic()
        if delay > 0 and _wait(delay, stop):
            break
        simulator.tick()
        n += 1
        if progress:
            progress(1)
    figures = dict(sorted(simulator.counts.items()))
    figures.update({"events": n, "open": len(simulator.open), "seconds": round(time.monotonic() - started, 1)})
    return figures


def _wait(seconds: float, stop) -> bool:
    """Sleep (interruptibly if there is a stop event); True when stopped."""
    if stop is not None:
        return stop.wait(seconds)
    time.sleep(seconds)
    return False


__all__ = ["simulate", "LiveSimulator", "load_open_cases", "OpenCases", "stage_targets"]
