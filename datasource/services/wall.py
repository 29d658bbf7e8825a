"""The wall's live snapshot: computed a bounded number of times per tick, shared by every viewer.

Why one object: fifty wall displays polling every second must not cost fifty times the
database work.  :meth:`LiveSnapshot.get` returns the current :class:`Tick`; when it is older
than its interval (half a wall tick), the first caller recomputes it under a lock while the
others keep reading the previous one (never older than one interval), so the cost per tick
is independent of the number of viewers.  It is also independent of history: the snapshot keeps the
*open* cases in memory, seeded once from the stage index and then updated from the events
applied since the last tick (``case_events.id > last``), and reads the stage strip from the
worker's incremental aggregates (see :mod:`datasource.services.wall_queries`).

What a viewer receives is a *delta*: :meth:`LiveSnapshot.payload` answers "what changed
since version N" with only the changed markers, the grids whose numbers moved, the new
ticker rows and the counts when they changed — or the whole state for a new viewer.  The
last ``history`` deltas are kept, and each answer is memoised per (from, to) version.
The payload is plain JSON-able data; its keys are documented in :func:`LiveSnapshot.payload`.

Issue 13 added three things: a payload can be cut to a street or community (``scope``, see
:mod:`datasource.services.wall_scope`), it carries the alarm queue (``a``: urgent cases of an
``alarm`` category not yet dispatched nor acknowledged), and :meth:`LiveSnapshot.refresh` lets
the push hub (:mod:`datasource.services.wall_hub`) compute a version on its own cadence and
wake every stream once per change.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from dashboard.domain.crs import converter
from dashboard.domain.lifecycle import LOOP_STAGE_NAMES
from datasource.redis.backlog import stream_ms
from datasource.services import wall_queries as q
from datasource.services.health import Health
from datasource.tools.map_layers import DATA_CRS, grid_codes
from datasource.services.wall_alarms import ALARM_STAGES, acks_key
from datasource.services.wall_scope import Scopes, cut
from datasource.services.wall_state import OpenCases

log = logging.getLogger("citygrid.live")

SIDE_EVENTS = ("rejected", "returned", "rework")
RECENT = 400            # ticker rows kept (a street wall's ticker is taken from them)


@dataclass
class Delta:
    """What changed from ``version - 1`` to ``version``."""

    version: int
    markers: dict = field(default_factory=dict)     # case id → encoded marker, or None = removed
    grids: dict = field(default_factory=dict)       # grid index → (open, overdue)
    counts: bool = False
    board: bool = False
    ticker_before: int = 0                         # newest ticker event id before this tick
    gone: dict = field(default_factory=dict)        # removed case id → its grid index (to cut by scope)
    alarms: bool = False
    scoped: set = field(default_factory=set)       # scopes whose counts or board changed


@dataclass
class Tick:
    """One computed snapshot (the current state, and how old it is)."""

    version: int
    at: float                                      # epoch seconds of the computation
    health: list                                   # [age s, redis ok, db ok, stale, newest event age s]
    stages: list                                   # per LOOP_STAGE_NAMES stage: [now, today, overdue]
    side: list                                     # [rejected today, returned today, rework today, suspended now]
    grid_open: list
    grid_overdue: list
    markers: dict                                  # case id → encoded marker
    ticker: list                                   # newest first: [event id, at ms, case, type, cat, street, text]
    board: list                                    # worst first: [dept, open, overdue, on-time, rework, closure, score, grade, ratio]
    recent: list = field(default_factory=list)     # the last RECENT ticker rows, newest first
    alarms: list = field(default_factory=list)     # the alarm queue, oldest first (see payload)
    scoped: dict = field(default_factory=dict)     # scope → (stages, side, board)
    cases: dict = field(default_factory=dict)      # case id → OpenCase (a copy: the scopes' board)


class LiveSnapshot:
    """The shared per-tick state of the wall (thread-safe; bounded computations per tick).

    ``interval`` defaults to half the wall's tick: a viewer polling once per tick then
    always finds a snapshot younger than its own period (with exactly one tick, polls and
    recomputations alias and a viewer can see data a whole tick old).  Either way the
    number of computations per second is bounded and independent of the number of viewers.
    """

    def __init__(self, system, interval: float | None = None, history: int = 240, ticker_size: int = 12,
                 board_seconds: float = 15.0, resync_seconds: float = 300.0, window_days: int = 30,
                 event_cap: int = 20_000, clock=time.time):
        self.system, self.settings, self.scenario = system, system.settings, system.scenario
        self.interval = interval if interval is not None else self.settings.tick_ms / 2000.0
        self.ticker_size, self.board_seconds = ticker_size, board_seconds
        self.resync_seconds, self.window = resync_seconds, timedelta(days=window_days)
        self.event_cap, self.clock = event_cap, clock
        self.computations = 0
        self._lock = threading.Lock()
        self._memo_lock = threading.Lock()
        self._tick: Tick | None = None
        self._history: deque[Delta] = deque(maxlen=history)
        self._memo: dict = {}
        self._health_probe: Health | None = None
        codes = grid_codes(self.scenario)
        self.scopes = Scopes(system, codes, self.window, clock=clock)
        self._acks: set = set()
        street_index = {code: i for i, code in enumerate(self.scenario.streets)}
        self.grids = len(codes)
        self.street_index = street_index
        convert = converter(DATA_CRS, self.settings.tile_crs) if self.settings.tile_url else None
        # Mutable state, touched only under self._lock (by _compute), except _closed which the
        # board thread replaces in one assignment.
        self._open = OpenCases({code: i for i, code in enumerate(codes)}, street_index, convert)
        self._last_event = 0
        self._seeded_at = float("-inf")
        self._closed: dict | None = None
        self._closed_at = float("-inf")
        self._board_thread: threading.Thread | None = None
        self._counts: tuple = ()
        self._ticker: list = []                    # RECENT rows, newest first
        self._alarm_events: dict = {}
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

    def refresh(self) -> Tick:
        """Compute a new version now unless another thread is computing one (the push hub's
        cadence); the current snapshot either way."""
        if self._lock.acquire(blocking=self._tick is None):
            try:
                self._compute()
            finally:
                self._lock.release()
        return self._tick

    def payload(self, since: int | None = None, scope: str | None = None) -> dict:
        """What a viewer at version ``since`` needs to reach the current version.

        Keys: ``v`` version; ``t`` server time (ms, for the client's clock); ``h`` health
        [age s, redis ok, db ok, stale, newest event age s]; ``full`` 1 when the whole
        state follows.  Then, only when changed: ``s`` stage strip [[now, today, overdue]
        ×6], ``x`` side counts, ``b`` department board, ``k`` ticker rows (newest first);
        ``g`` grids — full: {"o": [open…], "d": [overdue…]} by grid index, delta:
        [[index, open, overdue]…]; ``m`` markers — full: [marker…], delta: {"u": [marker…],
        "r": [case id…]}.  A marker is [case id, lon, lat, stage index, warn s, deadline s,
        category, street index, description, grid index]; ``a`` the alarm queue, oldest
        first: [[case id, lon, lat, category, street index, description, grid index, stage
        index, [[event type, at ms]…], reported at ms]…].

        ``scope`` (a street or community code, already checked by the caller) cuts everything to
        that area, counts and board included."""
        if scope and self.scopes.watch(scope):  # a new scope: compute it before answering
            with self._lock:
                self._compute()
        tick = self.get()
        header = {"v": tick.version, "t": int(tick.at * 1000), "h": tick.health}
        if since == tick.version:
            return header
        history = self._history
        oldest = history[0].version - 1 if history else tick.version
        if not isinstance(since, int) or isinstance(since, bool) or not oldest <= since < tick.version:
            since = None  # new, too far behind or nonsense: the whole state (one memo entry for all)
        key = (scope or None, since)
        with self._memo_lock:
            memo = self._memo
            if memo.get("v") != tick.version:
                if memo.get("v", 0) > tick.version:  # a reader still holding an older tick: no memo
                    return {**header, **self._body(tick, since, scope)}
                memo = self._memo = {"v": tick.version}
            body = memo.get(key)
            if body is None:
                body = memo[key] = self._body(tick, since, scope)
        return {**header, **body}

    def encoded(self, since: int | None = None, scope: str | None = None) -> tuple[dict, str]:
        """:meth:`payload` and its JSON text, the text memoised per version, scope and cursor
        like the body: fifty streams at the same cursor encode it once (the push route)."""
        payload = self.payload(since, scope)
        cursor = "header" if since == payload["v"] else "full" if payload.get("full") else since
        key = ("json", scope or None, cursor)
        with self._memo_lock:
            memo = self._memo
            text = memo.get(key) if memo.get("v") == payload["v"] else None
            if text is None:
                text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
                if memo.get("v") == payload["v"]:
                    memo[key] = text
        return payload, text

    def _body(self, tick: Tick, since: int | None, scope: str | None = None) -> dict:
        # tuple() copies the deque in one C call, atomic under the GIL while _compute appends.
        deltas = [d for d in tuple(self._history)
                  if isinstance(since, int) and since < d.version <= tick.version]
        complete = bool(deltas) and deltas[0].version == since + 1 and deltas[-1].version == tick.version
        if not complete:
            body = {"full": 1, "s": tick.stages, "x": tick.side, "b": tick.board, "k": tick.ticker,
                    "g": {"o": tick.grid_open, "d": tick.grid_overdue}, "m": list(tick.markers.values()),
                    "a": tick.alarms}
            return self._cut(tick, body, True, {}, 0, scope) if scope else body
        markers: dict = {}
        grids: dict = {}
        gone: dict = {}
        for d in deltas:
            markers.update(d.markers)
            grids.update(d.grids)
            gone.update(d.gone)
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
        if any(d.alarms for d in deltas):
            body["a"] = tick.alarms
        if not scope:
            return body
        out = self._cut(tick, body, False, gone, deltas[0].ticker_before, scope)
        if not any(scope in d.scoped for d in deltas):
            out.pop("s", None), out.pop("x", None), out.pop("b", None)
        return out

    def _cut(self, tick: Tick, body: dict, full: bool, gone: dict, ticker_before: int, scope: str) -> dict:
        """``body`` cut to ``scope``, with the scope's own counts and board."""
        out = cut(body, full, self.scopes.grids(scope), gone, tick.recent, self.ticker_size, ticker_before)
        numbers = tick.scoped.get(scope)
        if numbers is None:  # not watched when this tick was computed (a rare race): count now
            numbers = self.scopes.numbers(scope, tick.cases, self.system.time())
        out["s"], out["x"], out["b"] = numbers
        return out

    # -- computing -------------------------------------------------------------------------
    def _health_probe_of(self) -> Health:
        if self._health_probe is None:
            self._health_probe = Health(self.system)
        return self._health_probe

    def _health(self, now: float, db_ok: bool) -> list:
        """[age s, redis ok, db ok, stale, newest event age s], measured now (the rules are
        :class:`~datasource.services.health.Health`'s, shared with ``/api/v1/health``)."""
        health = self._health_probe_of()
        redis_ok, oldest_ms = health.redis_ok(), None
        if redis_ok:
            try:
                oldest_ms = health.oldest_unprocessed_ms()
            except Exception as exc:  # noqa: BLE001 - a probe failure is a health fact, not a crash
                log.warning("stream backlog probe failed: %s", exc)
                redis_ok = False
        age = health.data_age(now, oldest_ms)
        newest = round(max(0.0, now - self._newest_stream_ms / 1000.0), 1) if self._newest_stream_ms else None
        stale = health.is_stale(redis_ok, db_ok, age)
        return [round(age, 1), int(redis_ok), int(db_ok), int(stale), newest]

    def _compute(self) -> None:
        now, at = self.clock(), self.system.time()  # real: ticks, freshness; system: "today", overdue
        self.computations += 1
        previous = self._tick
        delta = Delta(version=(previous.version + 1) if previous else 1,
                      ticker_before=self._ticker[0][0] if self._ticker else 0)
        try:
            counts, flow = self._refresh(now, delta)
            db_ok = True
        except SQLAlchemyError as exc:
            log.warning("live snapshot: database unreachable: %s", str(exc).splitlines()[0])
            counts, flow, db_ok = None, None, False
        grid_open, grid_overdue, overdue = self._open.numbers(at, self.grids)
        if counts is not None:
            stages = [[counts.get(s, 0), flow.get(s, 0), overdue.get(s, 0)] for s in LOOP_STAGE_NAMES]
            side = [flow.get(kind, 0) for kind in SIDE_EVENTS] + [counts.get("suspended", 0)]
        else:  # keep showing the last numbers (the banner says they are not live)
            stages, side = (previous.stages, previous.side) if previous else ([[0, 0, 0] for _ in LOOP_STAGE_NAMES], [0, 0, 0, 0])
        key = (tuple(map(tuple, stages)), tuple(side))
        delta.counts, self._counts = key != self._counts, key
        if previous is not None and (grid_open != previous.grid_open or grid_overdue != previous.grid_overdue):
            delta.grids = {i: (o, d) for i, (o, d, po, pd) in enumerate(zip(grid_open, grid_overdue, previous.grid_open,
                                                                           previous.grid_overdue)) if o != po or d != pd}
        board = self._open.board(self._closed, at) if self._closed is not None else []
        delta.board = previous is None or board != previous.board
        alarms = self._alarms(db_ok)
        delta.alarms = previous is None or alarms != previous.alarms
        cases = dict(self._open.cases)
        scoped = {}
        for scope in self.scopes.watched():
            scoped[scope] = self.scopes.numbers(scope, cases, at)
            if previous is None or previous.scoped.get(scope) != scoped[scope]:
                delta.scoped.add(scope)
        self.scopes.refresh_aside()
        ring = self._ticker
        self._tick = Tick(delta.version, now, self._health(now, db_ok), stages, side, grid_open, grid_overdue,
                          dict(self._open.markers), ring[:self.ticker_size], board, ring, alarms, scoped, cases)
        self._history.append(delta)

    def _alarms(self, db_ok: bool) -> list:
        """The alarm queue, oldest report first: open urgent cases of an ``alarm`` category
        (the scenario's rule) not yet dispatched nor acknowledged, with their timelines."""
        previous = self._tick.alarms if self._tick is not None else []
        if not db_ok:
            return previous
        raises = self.scenario.raises_alarm
        ids = [case for case, c in self._open.cases.items()
               if c.stage in ALARM_STAGES and case not in self._acks and raises(c.category, c.urgency)]
        if not ids:
            return []
        try:
            with self.system.engine.connect() as c:
                lines = q.timelines(c, ids)
        except SQLAlchemyError:
            return previous
        out = []
        for case in ids:
            m = self._open.markers[case]
            events = [[kind, int(at.timestamp() * 1000)] for kind, at in lines.get(case, [])]
            out.append([case, m[1], m[2], m[6], m[7], m[8], m[9], m[3], events, events[0][1] if events else 0])
        out.sort(key=lambda a: (a[9], a[0]))
        return out

    def _refresh(self, now: float, delta: Delta) -> tuple[dict, dict]:
        """Read what changed since the last tick (all reads first, then update the state)."""
        reseed = now - self._seeded_at >= self.resync_seconds
        with self.system.engine.connect() as c:
            newest = q.newest_event(c)
            if newest is not None and newest[0] < self._last_event:  # the database was rebuilt
                reseed = True
            rows = None
            if not reseed:
                events = q.events_after(c, self._last_event, self.event_cap)
                if len(events) < self.event_cap:
                    rows = q.cases_by_id(c, {case for _, case, _ in events})
                    last = events[-1][0] if events else self._last_event
                else:  # far behind (e.g. after a backfill): cheaper to reseed
                    reseed = True
            if reseed:
                rows, last = q.open_cases(c), newest[0] if newest else 0
            ticker = self._ticker
            if newest is not None and (not ticker or ticker[0][0] != newest[0]):
                after = 0 if reseed or not ticker or newest[0] < ticker[0][0] else ticker[0][0]
                fresh = [self._ticker_row(r) for r in q.latest_events(c, RECENT, after)]
                ticker = (fresh + ticker)[:RECENT] if after else fresh
            counts = q.stage_counts(c)
            flow = q.flow_of_day(c, self.system.now().astimezone(self.scenario.calendar.tz).date())
            if self._closed is None:  # the first tick waits for the board; later ones refresh it aside
                self._load_closed(now, c)
        # -- apply (no more I/O below: a failed read above leaves the state untouched) --
        if reseed:
            delta.markers = self._open.reseed(rows)
            self._seeded_at = now
        else:
            delta.markers = self._open.update(rows, q.OPEN)
        delta.gone = dict(self._open.gone)
        self._acks = self._read_acks()
        self._last_event = last
        self._ticker = ticker
        if newest is not None:
            self._newest_stream_ms = stream_ms(newest[1]) or self._newest_stream_ms
        self._refresh_board_aside(now)
        return counts, flow

    def _read_acks(self) -> set:
        """Acknowledged alarms (``…alarm_acks``, written by the acknowledge command)."""
        try:
            keys = self.system.stream.client.hkeys(acks_key(self.system.stream))
            return {k.decode() if isinstance(k, bytes) else k for k in keys}
        except Exception as exc:  # noqa: BLE001 - Redis down: keep the last set (the banner says so)
            log.debug("alarm acknowledgements not read: %s", exc)
            return self._acks

    def _load_closed(self, now: float, connection) -> None:
        self._closed = q.closed_since(connection, self.system.now() - self.window)
        self._closed_at = now

    def _refresh_board_aside(self, now: float) -> None:
        """Re-read the department window every ``board_seconds`` in a thread of its own.

        It is the one read that grows with activity (a month of closed cases, though through
        the ``closed_at`` index); no viewer's request should wait for it."""
        if now - self._closed_at < self.board_seconds or (self._board_thread and self._board_thread.is_alive()):
            return

        def load():
            try:
                with self.system.engine.connect() as c:
                    self._load_closed(now, c)
            except SQLAlchemyError as exc:
                log.warning("department window not refreshed: %s", str(exc).splitlines()[0])

        self._closed_at = now  # do not start another one before this one is due
        self._board_thread = threading.Thread(target=load, name="wall-board", daemon=True)
        self._board_thread.start()

    def _ticker_row(self, r: dict) -> list:
        return [r["id"], int(r["at"].timestamp() * 1000), r["case_id"], r["type"], r["category_code"] or "",
                self.street_index.get(r["street_code"], -1), (r["description"] or "")[:60],
                self._open.grid_index.get(r["grid_code"], -1)]

    def close(self) -> None:
        if self._health_probe is not None:
            self._health_probe.close()
