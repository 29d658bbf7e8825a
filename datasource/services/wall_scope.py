"""Sub-centre walls: the live snapshot cut to one street or community, on the server.

A user scoped to a street (``citygrid users add … --scope 110101001``) gets the wall of their
area only, and a district playlist may show a street view (``street-110101001``).  The cut is
made here, on the server, from the same shared snapshot — never by hiding things in the
browser: a street wall receives only its street's markers, grids, ticker rows, alarms, stage
counts and department board.

Which places a scope covers is :mod:`dashboard.domain.scope`'s rule (grid codes start with their
community and street codes); this module turns it into a set of grid indexes once per scope.
The few figures the in-memory open cases cannot give — today's flow, the closed total, the
department window — are read per watched scope in a background thread every
``refresh_seconds`` (:class:`ScopeData`), so no viewer's request waits for them.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from dashboard.domain.lifecycle import LOOP_STAGE_NAMES
from dashboard.domain.scope import covers_code, level
from datasource.services import wall_queries as q
from datasource.services.wall_state import board

log = logging.getLogger("citygrid.live")

SIDE_EVENTS = ("rejected", "returned", "rework")


@dataclass
class ScopeData:
    """What the database says about one scope (refreshed aside)."""

    flow: dict = field(default_factory=dict)       # event type → count since local midnight
    closed_total: int | None = None                # cases closed so far (streets: live_counts)
    closed: dict = field(default_factory=dict)     # department → ClosedWindow in the rolling window
    at: float = float("-inf")                      # when it was read (epoch s)


class Scopes:
    """The scopes being watched, their grid sets and their aside-read figures."""

    def __init__(self, system, grid_codes: list[str], window: timedelta, refresh_seconds: float = 2.0,
                 forget_seconds: float = 120.0, clock=time.time):
        self.system, self.window = system, window
        self.refresh_seconds, self.forget_seconds, self.clock = refresh_seconds, forget_seconds, clock
        self.grid_codes = grid_codes
        self._grids: dict[str, frozenset] = {}
        self._seen: dict[str, float] = {}            # scope → last asked for (epoch s)
        self._data: dict[str, ScopeData] = {}
        self._thread: threading.Thread | None = None

    # -- which scopes ------------------------------------------------------------------------
    def grids(self, scope: str) -> frozenset:
        """Grid indexes inside ``scope`` (the domain's prefix rule, computed once)."""
        cached = self._grids.get(scope)
        if cached is None:
            cached = self._grids[scope] = frozenset(i for i, code in enumerate(self.grid_codes)
                                                    if covers_code(scope, code))
        return cached

    def watch(self, scope: str) -> bool:
        """Note that a viewer asked for ``scope``; True when it is new (not computed yet)."""
        new = scope not in self._seen
        self._seen[scope] = self.clock()
        if new:
            self._load(scope)
        return new

    def watched(self) -> list[str]:
        """The scopes asked for recently (older ones are forgotten: nobody watches them)."""
        now = self.clock()
        for scope, seen in list(self._seen.items()):
            if now - seen > self.forget_seconds:
                self._seen.pop(scope, None)
                self._data.pop(scope, None)
        return list(self._seen)

    # -- their numbers -------------------------------------------------------------------------
    def numbers(self, scope: str, cases: dict, at: float) -> tuple[list, list, list]:
        """(stages, side, board) of ``scope`` from the open cases in memory and its ScopeData."""
        allowed = self.grids(scope)
        data = self._data.get(scope) or ScopeData()
        now, overdue, inside = Counter(), Counter(), []
        for c in cases.values():
            if c.grid in allowed:
                inside.append(c)
                now[c.stage] += 1
                if 0 < c.deadline <= at:
                    overdue[c.stage] += 1
        stages = [[data.closed_total if s == "closed" else now.get(s, 0), data.flow.get(s, 0), overdue.get(s, 0)]
                  for s in LOOP_STAGE_NAMES]
        side = [data.flow.get(kind, 0) for kind in SIDE_EVENTS] + [now.get("suspended", 0)]
        return stages, side, board(inside, data.closed, at)

    def refresh_aside(self) -> None:
        """Re-read every watched scope's figures in a thread of its own when they are due."""
        now = self.clock()
        due = [s for s in self.watched() if now - self._data.get(s, ScopeData()).at >= self.refresh_seconds]
        if not due or (self._thread and self._thread.is_alive()):
            return
        self._thread = threading.Thread(target=lambda: [self._load(s) for s in due], name="wall-scopes", daemon=True)
        self._thread.start()

    def _load(self, scope: str) -> None:
        system = self.system
        tz = system.scenario.calendar.tz
        local = system.now().astimezone(tz)
        midnight = datetime.combine(local.date(), datetime.min.time(), tzinfo=tz)
        try:
            with system.engine.connect() as c:
                flow = q.scoped_flow(c, midnight, scope)
                total = q.street_counts(c, scope).get("closed", 0) if level(scope) == "street" else None
                closed = q.closed_since(c, system.now() - self.window, scope)
        except SQLAlchemyError as exc:
            log.warning("scope %s not refreshed: %s", scope, str(exc).splitlines()[0])
            return
        self._data[scope] = ScopeData(flow, total, closed, self.clock())


def cut(body: dict, full: bool, allowed: frozenset, gone: dict, recent: list, ticker_size: int,
        ticker_before: int) -> dict:
    """The district ``body`` of a payload cut to the grids in ``allowed`` (see
    :meth:`datasource.services.wall.LiveSnapshot.payload` for the keys).

    ``gone`` maps removed case ids to their grid (a removal is sent only inside the scope);
    ``recent`` is the snapshot's ring of recent ticker rows (newest first), from which the
    scope's own ticker is taken; stage counts and the board are the caller's."""
    out: dict = {"full": 1} if full else {}
    markers = body.get("m")
    if markers is not None:
        if full:
            out["m"] = [m for m in markers if m[9] in allowed]
        else:
            u = [m for m in markers["u"] if m[9] in allowed]
            r = [case for case in markers["r"] if gone.get(case, -1) in allowed]
            if u or r:
                out["m"] = {"u": u, "r": r}
    grids = body.get("g")
    if grids is not None:
        if full:
            out["g"] = {key: [n if i in allowed else 0 for i, n in enumerate(values)] for key, values in grids.items()}
        else:
            changed = [g for g in grids if g[0] in allowed]
            if changed:
                out["g"] = changed
    rows = [row for row in recent if row[7] in allowed and (full or row[0] > ticker_before)][:ticker_size]
    if full or rows:
        out["k"] = rows
    if "a" in body:
        out["a"] = [a for a in body["a"] if a[6] in allowed]
    return out
