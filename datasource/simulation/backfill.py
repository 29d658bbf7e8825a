"""History for an empty system: months of realistic cases, through the real event path.

The backfill writes what producers would have written — entries in the Redis stream, in
time order — plus the command side's per-case view and the per-day serial counters, and
then lets the real worker project them.  So the reporting database is filled exactly as
in production, and a ``rebuild`` from the stream gives the same tables.

Events after ``now`` are not written: the present has an open backlog in every stage,
some of it overdue, as a wall on a real morning would.

Speed matters (90 days ≈ 120,000 cases ≈ 720,000 events): the generator keeps one small
mutable object per case and one tuple per event, and the field dicts are built only
while appending.
"""
from __future__ import annotations

import gc
import math
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from itertools import chain

import orjson
try:
    import hiredis
except ImportError:  # pragma: no cover - hiredis is a declared dependency
    hiredis = None
from sqlalchemy import func, select

from dashboard.domain.codes import case_id as make_case_id
from datasource.store import schema
from datasource.simulation.inspectors import inspector_by_grid, inspectors_for
from datasource.simulation.places import PlaceSampler
from datasource.simulation.story import StoryModel, uuid4_hex

CASES_PER_DAY = 1330
#: relative arrival intensity per local hour: quiet nights, peaks mid-morning and mid-afternoon.
HOURLY = (0.15, 0.10, 0.08, 0.07, 0.08, 0.15, 0.35, 0.70, 1.30, 1.90, 2.10, 1.80,
          1.00, 1.20, 1.80, 2.00, 1.80, 1.20, 0.70, 0.50, 0.45, 0.35, 0.25, 0.20)
DAY_OFF_FACTOR = 0.55   # weekends and public holidays
PIPELINE = 5000
ORDER = 1 << 26         # sort key = time * ORDER + sequence number (unique, time first)
OPEN_STAGES = ("reported", "filed", "dispatched", "handled", "verified", "suspended")


@dataclass
class History:
    """Generated history: events in stream order and what the command side must know."""

    events: list[tuple] = field(default_factory=list)   # (sort key, case id, type, actor, body)
    states: dict[str, dict] = field(default_factory=dict)
    serials: dict[date, int] = field(default_factory=dict)
    model: StoryModel | None = None

    @property
    def cases(self) -> int:
        return len(self.states)


def arrivals(rng: random.Random, calendar, start: datetime, end: datetime,
             per_day: float = CASES_PER_DAY) -> list[int]:
    """Report times (epoch seconds, sorted) in [start, end) with the daily rhythm."""
    slots = _hour_slots(calendar, start, end)
    total_weight = sum(weight for _, _, weight in slots)
    scale = per_day * (end - start).total_seconds() / 86400 / total_weight if total_weight else 0.0
    times: list[int] = []
    for begin, length, weight in slots:
        for _ in range(_poisson(rng, weight * scale)):
            times.append(begin + int(rng.random() * length))
    times.sort()
    return times


def _hour_slots(calendar, start: datetime, end: datetime) -> list[tuple[int, int, float]]:
    """(begin, seconds, weight) of each (part of a) local hour between start and end."""
    tz = calendar.tz
    first, last = int(start.timestamp()), int(end.timestamp())
    slots, at = [], first
    while at < last:
        local = datetime.fromtimestamp(at, tz)
        stop = min(at + 3600 - (local.minute * 60 + local.second), last)
        factor = 1.0 if calendar.is_working_day(local.date()) else DAY_OFF_FACTOR
        slots.append((at, stop - at, HOURLY[local.hour] * factor * (stop - at) / 3600))
        at = stop
    return slots


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, n, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        n += 1
        product *= rng.random()
    return n


def generate_history(scenario, locator, days: float, seed: int = 1, now: datetime | None = None,
                     per_day: float = CASES_PER_DAY) -> History:
    """All cases reported in the ``days`` before ``now`` and their events up to ``now`` (pure, seeded)."""
    now = now or datetime.now(timezone.utc)
    horizon, start = int(now.timestamp()), now - timedelta(days=days)
    rng = random.Random(seed)
    model = StoryModel(scenario, inspector_by_grid(inspectors_for(scenario)), start, now)
    times = arrivals(rng, scenario.calendar, start, now, per_day)
    kinds = [model.draw_kind(rng, at) for at in times]
    places = PlaceSampler(scenario, locator).sample(rng, [kind[0] for kind in kinds])
    history = History(model=model)
    with _no_gc():
        _tell_stories(rng, model, history, zip(times, kinds, places), horizon)
    return history


def _tell_stories(rng, model: StoryModel, history: History, arrivals_, horizon: int) -> None:
    """Each case's events up to ``horizon``, then all events in time order."""
    events, states, serials = history.events, history.states, history.serials
    seq, days, prefixes = 0, {}, {}
    for at, kind, place in arrivals_:
        day = days.get(at // 900)   # local dates change on quarter hours in every time zone
        if day is None:
            day = days[at // 900] = datetime.fromtimestamp(at, model.tz).date()
            prefixes[day] = make_case_id(day, 1)[:-6]   # "DC20261124": the id less its serial
        serials[day] = serial = serials.get(day, 0) + 1
        case, step = model.report(rng, f"{prefixes[day]}{serial:06d}", at, place, kind)
        while step is not None and step[1] <= horizon:
            events.append((step[1] * ORDER + seq, case.case_id, step[0], step[2], step[3]))
            seq += 1
            model.apply(case, step)
            step = model.next_step(rng, case)
        states[case.case_id] = model.command_state(case)
    events.sort(key=_first)


@contextmanager
def _no_gc():
    """Pause the cyclic garbage collector while building millions of acyclic objects
    (its full passes grow with the heap and would make generation quadratic)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _first(item: tuple) -> int:
    return item[0]


def append_history(stream, history: History, seed: int = 1) -> None:
    """Write the events (pipelined XADD), the per-day serial counters and the case states."""
    ids = random.Random(f"event-ids-{seed}")
    iso = history.model.iso
    with _no_gc():
        _append_events(stream, history, ids, iso)
        pipe = stream.client.pipeline(transaction=False)
        for day, serial in history.serials.items():
            pipe.set(f"{stream.prefix}seq:{day:%Y%m%d}", serial)
        pipe.execute()
        stream.set_case_states(history.states)


def _append_events(stream, history: History, ids: random.Random, iso) -> None:
    pipe = PackedPipeline(stream.client) if hiredis else stream.client.pipeline(transaction=False)
    for n, (key, case, kind, actor, body) in enumerate(history.events, 1):
        stream.append_raw({"event_id": uuid4_hex(ids), "case_id": case, "type": kind, "at": iso(key // ORDER),
                           "actor": actor, "body": orjson.dumps(body)}, pipe)
        if n % PIPELINE == 0:
            pipe.execute()
    pipe.execute()


class PackedPipeline:
    """A pipe for :meth:`EventStream.append_raw` that packs each XADD with hiredis and sends a
    whole batch as one buffer: the same commands as a redis-py pipeline, at about twice
    the rate (redis-py spends ~30 µs of Python per pipelined command on this hardware)."""

    def __init__(self, client):
        self.client, self.parts = client, []

    def xadd(self, name, fields: dict) -> None:
        self.parts.append(hiredis.pack_command((b"XADD", name, b"*", *chain.from_iterable(fields.items()))))

    def execute(self) -> int:
        """Send the batch and read every reply (an error reply raises); the number sent."""
        if not self.parts:
            return 0
        pool = self.client.connection_pool
        connection = pool.get_connection()
        try:
            connection.send_packed_command([b"".join(self.parts)])
            for _ in self.parts:
                connection.read_response()
        except BaseException:
            connection.disconnect()   # unread replies would poison the next user
            raise
        finally:
            pool.release(connection)
        sent, self.parts = len(self.parts), []
        return sent


def backfill(system, days: float, seed: int = 1, now: datetime | None = None, progress=None) -> dict:
    """Generate ``days`` of history before ``now`` into an EMPTY stream and project it.

    ``progress(n)`` is told of every batch of ``n`` events projected by the worker.
    Returns figures: cases, events, open backlog per stage, overdue, seconds per phase and
    the worker's events per second.  Raises ``ValueError`` if the stream holds events.
    """
    stream = system.stream
    held = stream.length()
    if held:
        raise ValueError(f"stream {stream.key} already holds {held} events; backfill needs an empty stream")
    now = now or system.now()
    if now > datetime.now(timezone.utc) + timedelta(hours=1):
        raise ValueError(f"backfill 'now' {now.isoformat()} lies in the future; its events would be refused")
    started = time.perf_counter()
    history = generate_history(system.scenario, system.locator, days, seed, now)
    generated = time.perf_counter()
    append_history(stream, history, seed)
    figures = {"cases": history.cases, "events": len(history.events)}
    del history   # ~250 MB of objects (90 days) the worker's garbage collector would keep scanning
    gc.collect()
    appended = time.perf_counter()
    stats = system.worker().drain(progress=progress)
    drained = time.perf_counter()
    figures["dead_letters"] = stats.dead
    figures.update(backlog(system.engine, now))
    figures.update({"generate_s": round(generated - started, 1), "append_s": round(appended - generated, 1),
                    "drain_s": round(drained - appended, 1),
                    "worker_events_per_s": round(stats.applied / max(drained - appended, 1e-9)),
                    "total_s": round(drained - started, 1)})
    return figures


def backlog(engine, now: datetime) -> dict:
    """Open cases per stage and how many are past their stage deadline, from the reporting DB."""
    cases = schema.cases
    with engine.connect() as connection:
        per_stage = dict(connection.execute(
            select(cases.c.stage, func.count()).where(cases.c.stage.in_(OPEN_STAGES)).group_by(cases.c.stage)).all())
        overdue = connection.execute(select(func.count()).select_from(cases).where(
            cases.c.stage.in_(OPEN_STAGES), cases.c.deadline_at < now)).scalar()
    return {"open": {stage: per_stage.get(stage, 0) for stage in OPEN_STAGES}, "overdue": overdue}


def event_types_by_case(history: History) -> dict[str, list[str]]:
    """case id → its event types in order (for comparing two generations)."""
    out: dict[str, list[str]] = {}
    for _, case, kind, _, _ in history.events:
        out.setdefault(case, []).append(kind)
    return out


__all__ = ["backfill", "generate_history", "append_history", "arrivals", "backlog", "History",
           "event_types_by_case"]
