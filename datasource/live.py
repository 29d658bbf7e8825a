"""The wall's live snapshot: computed at most once per tick, shared by every viewer.

Why one object: fifty wall displays polling every second must not cost fifty times the
database work.  :meth:`LiveSnapshot.get` returns the current :class:`Tick`; when it is older
than the tick interval, the first caller recomputes it under a lock while the others keep
reading the previous one (it is at most one tick old), so the cost per tick is independent
of the number of viewers.  It is also independent of history: the snapshot keeps the
*open* cases in memory, seeded once from the stage index and then updated from the events
applied since the last tick (``case_events.id > last``), and reads the stage strip from the
worker's incremental aggregates (see :mod:`datasource.live_queries`).

What a viewer receives is a *delta*: :meth:`LiveSnapshot.payload` answers "what changed
since version N" with only the changed markers, the grids whose numbers moved, the new
ticker rows and the counts when they changed — or the whole state for a new viewer.  The
last ``history`` deltas are kept, and each answer is memoised per (from, to) version.
The payload is plain JSON-able data; its keys are documented in :func:`LiveSnapshot.payload`.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy.exc import SQLAlchemyError

from dashboard.domain.crs import converter
from dashboard.domain.indicators import department_score
from dashboard.domain.lifecycle import LOOP_STAGES
from . import live_queries as q
from .live_geo import DATA_CRS, grid_codes

log = logging.getLogger("citygrid.live")

LOOP = [s.value for s in LOOP_STAGES]
#: Marker stage index (what the client colours by): the open stages in loop order.
MARKER_STAGES = ("reported", "filed", "dispatched", "handled", "verified", "suspended")
#: Stages in which a case belongs to its department's workload.
DEPARTMENT_STAGES = frozenset({"dispatched", "handled", "verified", "suspended"})
SIDE_EVENTS = ("rejected", "returned", "rework")
DESCRIPTION_CHARS = 40


def _epoch(value: datetime | None) -> int:
    return int(value.timestamp()) if value is not None else 0


@dataclass
class Delta:
    """What changed from ``version - 1`` to ``version``."""

    version: int
    markers: dict = field(default_factory=dict)     # case id → encoded marker, or None = removed
    grids: dict = field(default_factory=dict)       # grid index → (open, overdue)
    counts: bool = False
    board: bool = False
    ticker_before: int = 0                         # newest ticker event id before this tick


@dataclass
class Tick:
    """One computed snapshot (the current state, and how old it is)."""

    version: int
    at: float                                      # epoch seconds of the computation
    health: list                                   # [age s, redis ok, db ok, stale, newest event age s]
    stages: list                                   # per LOOP stage: [now, today, overdue]
    side: list                                     # [rejected today, returned today, rework today, suspended now]
    grid_open: list
    grid_overdue: list
    markers: dict                                  # case id → encoded marker
    ticker: list                                   # newest first: [event id, at ms, case, type, cat, street, text]
    board: list                                    # worst first: [dept, open, overdue, on-time, rework, closure, score, grade]


class LiveSnapshot:
    """The shared per-tick state of the wall (thread-safe; one computation per tick)."""

    def __init__(self, system, interval: float | None = None, history: int = 120, ticker_size: int = 14,
                 board_seconds: float = 15.0, resync_seconds: float = 300.0, window_days: int = 30,
                 event_cap: int = 20_000, clock=time.time):
        self.system, self.settings, self.scenario = system, system.settings, system.scenario
        self.interval = interval if interval is not None else self.settings.tick_ms / 1000.0
        self.ticker_size, self.board_seconds = ticker_size, board_seconds
        self.resync_seconds, self.window = resync_seconds, timedelta(days=window_days)
        self.event_cap, self.clock = event_cap, clock
        self.computations = 0
        self._lock = threading.Lock()
        self._memo_lock = threading.Lock()
        self._tick: Tick | None = None
        self._history: deque[Delta] = deque(maxlen=history)
        self._memo: dict[int, dict] = {}
        self._probe: q.RedisProbe | None = None
        codes = grid_codes(self.scenario)
        self.grid_index = {code: i for i, code in enumerate(codes)}
        self.street_index = {code: i for i, code in enumerate(self.scenario.streets)}
        self._convert = converter(DATA_CRS, self.settings.tile_crs) if self.settings.tile_url else None
        # Mutable state, touched only under self._lock by _compute.
        self._open: dict[str, dict] = {}
        self._markers: dict[str, list] = {}
        self._last_event = 0
        self._seeded_at = float("-inf")
        self._board_at = float("-inf")
        self._board: list = []
        self._counts: tuple = ()
        self._ticker: list = []
        self._newest_stream_ms: int | None = None

    # -- reading ---------------------------------------------------------------------------
    def get(self) -> Tick:
        """The current snapshot, recomputed if older than the interval (once for all callers)."""
        tick = self._tick
        if tick is not None and self.clock() - tick.at < self.interval:
            return tick
        # Only one caller computes; the others carry on with the previous snapshot rather than
        # queue behind the lock (no viewer waits for a tick it does not need).
        if self._lock.acquire(blocking=tick is None):
            try:
                tick = self._tick
                if tick is None or self.clock() - tick.at >= self.interval:
                    self._compute()
            finally:
                self._lock.release()
        return self._tick

    def payload(self, since: int | None = None) -> dict:
        """What a viewer at version ``since`` needs to reach the current version.

        Keys: ``v`` version; ``t`` server time (ms, for the client's clock); ``h`` health
        [age s, redis ok, db ok, stale, newest event age s]; ``full`` 1 when the whole
        state follows.  Then, only when changed: ``s`` stage strip [[now, today, overdue]
        ×6], ``x`` side counts, ``b`` department board, ``k`` ticker rows (newest first);
        ``g`` grids — full: {"o": [open…], "d": [overdue…]} by grid index, delta:
        [[index, open, overdue]…]; ``m`` markers — full: [marker…], delta: {"u": [marker…],
        "r": [case id…]}.  A marker is [case id, lon, lat, stage index, warn s, deadline s,
        category, street index, description]."""
        tick = self.get()
        header = {"v": tick.version, "t": int(tick.at * 1000), "h": tick.health}
        if since == tick.version:
            return header
        with self._memo_lock:
            memo = self._memo
            if memo.get("v") != tick.version:
                if memo.get("v", 0) > tick.version:  # a reader still holding an older tick: no memo
                    return {**header, **self._body(tick, since)}
                memo = self._memo = {"v": tick.version}
            body = memo.get(since)
            if body is None:
                body = memo[since] = self._body(tick, since)
        return {**header, **body}

    def _body(self, tick: Tick, since: int | None) -> dict:
        # tuple() copies the deque in one C call, atomic under the GIL while _compute appends.
        deltas = [d for d in tuple(self._history)
                  if isinstance(since, int) and since < d.version <= tick.version]
        complete = bool(deltas) and deltas[0].version == since + 1 and deltas[-1].version == tick.version
        if not complete:
            return {"full": 1, "s": tick.stages, "x": tick.side, "b": tick.board, "k": tick.ticker,
                    "g": {"o": tick.grid_open, "d": tick.grid_overdue}, "m": list(tick.markers.values())}
        markers: dict = {}
        grids: dict = {}
        for d in deltas:
            markers.update(d.markers)
            grids.update(d.grids)
        body: dict = {}
        if any(d.counts for d in deltas):
            body["s"], body["x"] = tick.stages, tick.side
        if any(d.board for d in deltas):
            body["b"] = tick.board
        newer = [row for row in tick.ticker if row[0] > deltas[0].ticker_before]
        if newer:
            body["k"] = newer
        if grids:
            body["g"] = [[i, o, v] for i, (o, v) in sorted(grids.items())]
        if markers:
            body["m"] = {"u": [m for m in markers.values() if m is not None],
                         "r": [case for case, m in markers.items() if m is None]}
        return body

    # -- computing -------------------------------------------------------------------------
    def _probe_client(self) -> q.RedisProbe:
        if self._probe is None:
            self._probe = q.RedisProbe(self.system.redis_url, self.settings.stream, self.settings.group)
        return self._probe

    def _compute(self) -> None:
        now = self.clock()
        self.computations += 1
        previous = self._tick
        delta = Delta(version=(previous.version + 1) if previous else 1,
                      ticker_before=self._ticker[0][0] if self._ticker else 0)
        probe = self._probe_client()
        redis_ok = probe.ping()
        oldest_ms = None
        if redis_ok:
            try:
                oldest_ms = probe.oldest_unprocessed_ms()
            except Exception as exc:  # noqa: BLE001 - a probe failure is a health fact, not a crash
                log.warning("stream backlog probe failed: %s", exc)
                redis_ok = False
        try:
            stages, side = self._refresh(now, delta)
            db_ok = True
        except SQLAlchemyError as exc:
            log.warning("live snapshot: database unreachable: %s", str(exc).splitlines()[0])
            db_ok = False
            stages, side = (previous.stages, previous.side) if previous else ([[0, 0, 0] for _ in LOOP], [0, 0, 0, 0])
        grid_open, grid_overdue = self._grid_numbers(now)
        if previous is None:
            delta.grids = {}
        else:
            delta.grids = {i: (grid_open[i], grid_overdue[i]) for i in range(len(grid_open))
                           if grid_open[i] != previous.grid_open[i] or grid_overdue[i] != previous.grid_overdue[i]}
        # Age of the data: zero while the worker keeps up; otherwise how long the oldest
        # unprocessed event has waited.  A quiet stream is not stale data.
        age = max(0.0, now - oldest_ms / 1000.0) if oldest_ms else 0.0
        newest_age = round(max(0.0, now - self._newest_stream_ms / 1000.0), 1) if self._newest_stream_ms else None
        stale = (not redis_ok) or (not db_ok) or age > self.settings.stale_seconds
        health = [round(age, 1), int(redis_ok), int(db_ok), int(stale), newest_age]
        self._tick = Tick(delta.version, now, health, stages, side, grid_open, grid_overdue, dict(self._markers),
                          list(self._ticker), list(self._board))
        self._history.append(delta)

    def _refresh(self, now: float, delta: Delta) -> tuple[list, list]:
        """Read what changed since the last tick (all reads first, then update the state)."""
        engine = self.system.engine
        reseed = now - self._seeded_at >= self.resync_seconds
        with engine.connect() as c:
            newest = q.newest_event(c)
            if newest is not None and newest[0] < self._last_event:  # the database was rebuilt
                reseed = True
            if reseed:
                events = []
                rows = q.open_cases(c)
                last = newest[0] if newest else 0
            else:
                events = q.events_after(c, self._last_event, self.event_cap)
                if len(events) >= self.event_cap:  # far behind (e.g. a backfill): cheaper to reseed
                    reseed, events, rows = True, [], q.open_cases(c)
                    last = newest[0] if newest else 0
                else:
                    rows = q.cases_by_id(c, {case for _, case, _ in events})
                    last = events[-1][0] if events else self._last_event
            ticker = self._ticker
            if newest is not None and (not ticker or ticker[0][0] != newest[0]):
                ticker = [self._ticker_row(r) for r in q.latest_events(c, self.ticker_size)]
            counts = q.stage_counts(c)
            today = datetime.fromtimestamp(now, self.scenario.calendar.tz).date()
            flow = q.flow_of_day(c, today)
            board_due = now - self._board_at >= self.board_seconds
            closed = q.closed_since(c, datetime.fromtimestamp(now, timezone.utc) - self.window) if board_due else None
        # -- apply (no more I/O below: a failed read above leaves the state untouched) --
        if reseed:
            before = self._markers
            self._open = {r["case_id"]: r for r in rows}
            self._markers = {case: self._marker(row) for case, row in self._open.items()}
            self._seeded_at = now
            delta.markers = {case: m for case, m in self._markers.items() if before.get(case) != m}
            delta.markers.update({case: None for case in before if case not in self._markers})
        else:
            for row in rows:
                case = row["case_id"]
                if row["stage"] in q.OPEN:
                    self._open[case] = row
                    marker = self._marker(row)
                    if self._markers.get(case) != marker:
                        self._markers[case] = delta.markers[case] = marker
                elif case in self._open:
                    del self._open[case], self._markers[case]
                    delta.markers[case] = None
        self._last_event = last
        if newest is not None:
            self._newest_stream_ms = q.stream_ms(newest[1]) or self._newest_stream_ms
        delta.board = False
        if closed is not None:
            board = self._department_board(closed, now)
            delta.board = board != self._board
            self._board, self._board_at = board, now
        if ticker is not self._ticker:
            self._ticker = ticker
        stages, side = self._strip(counts, flow, now)
        key = (tuple(map(tuple, stages)), tuple(side))
        delta.counts = key != self._counts
        self._counts = key
        return stages, side

    # -- shaping ---------------------------------------------------------------------------
    def _point(self, lon: float, lat: float) -> tuple[float, float]:
        if self._convert is not None:
            lon, lat = self._convert(lon, lat)
        return round(lon, 5), round(lat, 5)

    def _marker(self, row: dict) -> list:
        lon, lat = self._point(row["lon"], row["lat"])
        stage = row["stage"]
        return [row["case_id"], lon, lat, MARKER_STAGES.index(stage) if stage in MARKER_STAGES else 0,
                _epoch(row["warn_at"]), _epoch(row["deadline_at"]), row["category_code"],
                self.street_index.get(row["street_code"], -1), (row["description"] or "")[:DESCRIPTION_CHARS]]

    def _ticker_row(self, r: dict) -> list:
        return [r["id"], int(r["at"].timestamp() * 1000), r["case_id"], r["type"], r["category_code"] or "",
                self.street_index.get(r["street_code"], -1), (r["description"] or "")[:60]]

    @staticmethod
    def _overdue(row: dict, now: float) -> bool:
        deadline = row["deadline_at"]
        return deadline is not None and deadline.timestamp() <= now

    def _strip(self, counts: dict, flow: dict, now: float) -> tuple[list, list]:
        overdue = Counter(row["stage"] for row in self._open.values() if self._overdue(row, now))
        stages = [[counts.get(s, 0), flow.get(s, 0), overdue.get(s, 0)] for s in LOOP]
        side = [flow.get(kind, 0) for kind in SIDE_EVENTS] + [counts.get("suspended", 0)]
        return stages, side

    def _grid_numbers(self, now: float) -> tuple[list, list]:
        n = len(self.grid_index)
        open_, overdue = [0] * n, [0] * n
        for row in self._open.values():
            i = self.grid_index.get(row["grid_code"])
            if i is None:
                continue
            open_[i] += 1
            if self._overdue(row, now):
                overdue[i] += 1
        return open_, overdue

    def _department_board(self, closed: dict, now: float) -> list:
        """DOMAIN §4 department composite over a rolling window, worst first.

        due = cases closed in the window + open cases whose handling deadline has passed;
        on-time = handled by the deadline / handled; rework = reworks / due."""
        open_n, overdue_n, due_open = Counter(), Counter(), Counter()
        handled, on_time, reworks = Counter(), Counter(), Counter()
        for row in self._open.values():
            dept = row["department_code"]
            if not dept or row["stage"] not in DEPARTMENT_STAGES:
                continue
            open_n[dept] += 1
            overdue_n[dept] += self._overdue(row, now)
            deadline = row["handle_deadline_at"]
            if deadline is not None and deadline.timestamp() <= now:
                due_open[dept] += 1
                reworks[dept] += row["rework_count"] or 0
            if row["handled_on_time"] is not None:
                handled[dept] += 1
                on_time[dept] += bool(row["handled_on_time"])
        rows = []
        for dept in open_n:
            window = closed.get(dept, q.ClosedWindow(0, 0, 0, 0))
            due = window.closed + due_open[dept]
            score = department_score(due, window.closed, window.handled + handled[dept],
                                     window.handled_on_time + on_time[dept], window.reworks + reworks[dept])
            rows.append([dept, open_n[dept], overdue_n[dept], _pct(score.on_time_rate), _pct(score.rework_rate),
                         _pct(score.closure_rate), score.composite, score.grade])
        rows.sort(key=lambda r: (r[6], -r[2], r[0]))
        return rows

    def close(self) -> None:
        if self._probe is not None:
            self._probe.close()


def _pct(rate: float | None) -> float | None:
    return None if rate is None else round(100 * rate, 1)
