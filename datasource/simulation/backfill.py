"""History for an empty system: months of realistic cases, through the real event path.

The backfill appends what producers would have appended, in time order, through the same
checked Lua append as every command (a whole batch of events per call), so the command
side's per-case view is left by the check itself and agrees with the stream; it then sets
the per-day serial counters and lets the real worker project the stream.  So the
reporting database is filled exactly as in production, and a ``rebuild`` from the stream
gives the same tables.

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

import orjson
try:
    import hiredis
except ImportError:  # pragma: no cover - hiredis is a declared dependency
    hiredis = None
from sqlalchemy import func, select

from dashboard.domain.codes import case_id as make_case_id
from datasource.redis.stream import APPEND_LUA, EventStream
from datasource.store import schema
from datasource.simulation.inspectors import inspector_by_grid, inspectors_for
from datasource.simulation.places import PlaceSampler
from datasource.simulation.story import StoryModel, uuid4_hex

CASES_PER_DAY = 1330
#: relative arrival intensity per local hour: quiet nights, peaks mid-morning and mid-afternoon.
HOURLY = (0.15, 0.10, 0.08, 0.07, 0.08, 0.15, 0.35, 0.70, 1.30, 1.90, 2.10, 1.80,
          1.00, 1.20, 1.80, 2.00, 1.80, 1.20, 0.70, 0.50, 0.45, 0.35, 0.25, 0.20)
DAY_OFF_FACTOR = 0.55   # weekends and public holidays
ORDER = 1 << 26         # sort key = time * ORDER + sequence number (unique, time first)
#: Events per script call: a call holds ~15 hours of 90 days' history, so most cases appear
#: in it several times and their hash is read and written once (see APPEND_LUA).
BATCH = 10_000
OPEN_STAGES = ("reported", "filed", "dispatched", "handled", "verified", "suspended")


@dataclass
class History:
    """Generated history: events in stream order and what the command side must know."""

    events: list[tuple] = field(default_factory=list)   # (sort key, case id, type, actor, body)
    states: dict[str, dict] = field(default_factory=dict)   # case → the hash the check should leave
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
    """Append the events through the checked path (batches of one Lua call each, which also
    leave every case's command-side hash) and set the per-day serial counters.

    Raises ``RuntimeError`` if the check refuses any event: the generator and the domain
    disagree, and a history with holes would be worse than none."""
    ids = random.Random(f"event-ids-{seed}")
    with _no_gc():
        refused = _append_events(stream, history, ids, history.model.iso)
        pipe = stream.client.pipeline(transaction=False)
        for day, serial in history.serials.items():
            pipe.set(f"{stream.prefix}seq:{day:%Y%m%d}", serial)
        pipe.execute()
    if refused:
        n, (case, kind, conflict) = len(refused), refused[0]
        raise RuntimeError(f"the checked append refused {n} generated events, first: {kind} of {case} "
                           f"({conflict.reason}, stage {conflict.stage}, version {conflict.version})")


def _append_events(stream, history: History, ids: random.Random, iso) -> list[tuple]:
    """All events, BATCH per script call; the refused ones as (case id, type, Conflict)."""
    pipe = ScriptPipe(stream)
    events, refused = history.events, []
    case_key = stream.case_key
    for start in range(0, len(events), BATCH):
        chunk = events[start:start + BATCH]
        keys, args = [], []
        for key, case, kind, actor, body in chunk:
            at = key // ORDER
            keys.append(case_key(case))
            args += (uuid4_hex(ids), case, kind, iso(at), actor, orjson.dumps(body), at * 1_000_000, b"", b"0")
        refused += pipe.send(chunk, keys, args)
    refused += pipe.flush()
    return refused


class ScriptPipe:
    """Batches of checked appends sent as packed EVALSHA commands, one batch in flight: the
    next batch is built in Python while Redis runs the script on the previous one.

    With hiredis the command (~100,000 arguments) is packed in C, several times faster than
    redis-py's encoder; without it each batch is one ordinary script call."""

    def __init__(self, stream):
        self.stream, self.client = stream, stream.client
        # Packed commands need one stream on one plain server; partitions go through append_args.
        fast = hiredis and isinstance(stream, EventStream) and hasattr(self.client, "connection_pool")
        self.sha = self.client.script_load(APPEND_LUA).encode() if fast else None
        self.connection, self.waiting = None, None

    def send(self, chunk: list, keys: list, args: list) -> list[tuple]:
        """Send one batch; the refusals of the batch sent before it."""
        if self.sha is None:
            outcomes = self.stream.append_args([c for _, c, *_ in chunk], args)
            return [(case, kind, o) for (_, case, kind, _, _), o in zip(chunk, outcomes) if not isinstance(o, str)]
        if self.connection is None:
            self.connection = self.client.connection_pool.get_connection()
        try:
            self.connection.send_packed_command(
                [hiredis.pack_command((b"EVALSHA", self.sha, len(keys) + 1, self.stream.key, *keys,
                                       b"0", len(chunk), b"1", self.stream.id_spec, *args))])
        except BaseException:
            self._release(broken=True)
            raise
        refused = self.flush(keep=True)
        self.waiting = chunk
        return refused

    def flush(self, keep: bool = False) -> list[tuple]:
        """Read the reply of the batch in flight; its refusals."""
        refused = []
        if self.waiting is not None:
            chunk, self.waiting = self.waiting, None
            try:
                reply = self.connection.read_response()
            except BaseException:
                self._release(broken=True)   # unread replies would poison the next user
                raise
            refused = self._refusals(chunk, reply)
        if not keep:
            self._release()
        return refused

    def _refusals(self, chunk: list, reply: list) -> list[tuple]:
        """(case, type, Conflict) per refused event of ``chunk`` (the quiet reply lists only
        those, each led by its 1-based index)."""
        out = []
        for index, *item in reply:
            _, case, kind, _, _ = chunk[int(index) - 1]
            out.append((case, kind, self.stream.outcome(case, item)))
        return out

    def _release(self, broken: bool = False) -> None:
        if self.connection is not None:
            if broken:
                self.connection.disconnect()
            self.client.connection_pool.release(self.connection)
            self.connection = None


def backfill(system, days: float, seed: int = 1, now: datetime | None = None, progress=None) -> dict:
    """Generate ``days`` of history before ``now`` into an EMPTY stream and project it.

    ``progress(n)`` is told of every batch of ``n`` events projected by the worker.
    Returns figures: cases, events, open backlog per stage, overdue, seconds per phase and
    the worker's events per second.  Raises ``ValueError`` if the stream holds events,
    ``RuntimeError`` if the check refused a generated event.

    The append and the drain run one after the other: the worker drained no faster while
    the append ran (each of its Redis calls waits behind a running batch script).
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
    figures = {"cases": history.cases, "events": len(history.events)}
    append_history(stream, history, seed)
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
