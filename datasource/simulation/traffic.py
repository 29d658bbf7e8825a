"""Live traffic: a steady trickle of new reports and next steps, as the field produces them.

The simulator behaves like the field's many actors at once.  It loads the open cases from
the reporting database, keeps them in memory, and at ``rate`` events per second either
reports a new case or moves a random open case one natural step on (the same
:class:`StoryModel` as the backfill, stamped "now").  Every event goes through the CHECKED
append, like an operator's click: if someone else moved the case meanwhile (an operator in
the UI), the append is refused with a ``Conflict`` and the simulator simply forgets that case.

The share of new reports is steered so that the open backlog stays near where it started.
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
from datasource.simulation.story import Case, StoryModel, uuid4_hex

OPEN_STAGES = ("reported", "filed", "dispatched", "handled", "verified", "suspended")
ARRIVAL_SHARE = 1 / 6.2          # one report per ~6.2 events: a case's average number of events
ARRIVAL_BOUNDS = (0.02, 0.9)
MIN_BACKLOG = 200                # what an empty system grows to
LOAD_CHUNK = 5000


class OpenCases:
    """The open cases in memory, with O(1) random pick and removal."""

    def __init__(self):
        self._items: list[Case] = []
        self._index: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._items)

    def add(self, case: Case) -> None:
        self._index[case.case_id] = len(self._items)
        self._items.append(case)

    def remove(self, case: Case) -> None:
        i = self._index.pop(case.case_id, None)
        if i is None:
            return
        last = self._items.pop()
        if last is not case:
            self._items[i] = last
            self._index[last.case_id] = i

    def pick(self, rng: random.Random) -> Case:
        return self._items[int(rng.random() * len(self._items))]


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

    def __init__(self, system, seed: int | None = None):
        self.system, self.stream = system, system.stream
        self.rng = random.Random(seed)
        self.ids = random.Random(None if seed is None else f"live-ids-{seed}")
        self.model = StoryModel(system.scenario, inspector_by_grid(inspectors_for(system.scenario)))
        self.places = PlaceSampler(system.scenario, system.locator)
        self.open = load_open_cases(system, self.model)
        self.target = max(len(self.open), MIN_BACKLOG)
        self.counts: Counter = Counter()

    def arrival_share(self) -> float:
        """Report more when the backlog shrank, less when it grew."""
        low, high = ARRIVAL_BOUNDS
        return min(high, max(low, ARRIVAL_SHARE * self.target / max(len(self.open), 1)))

    def tick(self) -> str:
        """Produce one event now; what happened (an event type or 'conflict')."""
        now = int(self.system.time())
        if not len(self.open) or self.rng.random() < self.arrival_share():
            case, step = self._new_case(now)
        else:
            case = self.open.pick(self.rng)
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
        return kind


def simulate(system, rate: float, duration: float | None, seed: int | None = None, stop=None,
             progress=None) -> dict:
    """Publish live events at ``rate`` per second for ``duration`` seconds (None/0: until ``stop``).

    ``stop`` is a ``threading.Event``; ``progress(1)`` is called per event.  Returns the
    counts per event type, conflicts, the open cases at the end and the seconds taken.
    """
    if rate <= 0:
        raise ValueError(f"rate must be positive, not {rate}")
    if not duration and stop is None:
        raise ValueError("simulate without a duration needs a stop event")
    simulator = LiveSimulator(system, seed)
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


__all__ = ["simulate", "LiveSimulator", "load_open_cases", "OpenCases"]
