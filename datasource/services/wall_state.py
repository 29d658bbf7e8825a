"""The open cases the wall keeps in memory, and what it derives from them every tick.

Why in memory: the map's markers, the overdue counts (per stage, grid and department) and
the department board all depend on the *open* cases only — a few thousand rows however
long the history — and on the clock (a case turns overdue without any event).  Holding
them as compact records (times as epoch seconds) lets every tick recount them in a
millisecond or two, and lets the snapshot tell each viewer which markers changed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dashboard.domain.evaluation import target_ratio
from dashboard.domain.indicators import department_score
from dashboard.domain.lifecycle import OPEN_STAGE_NAMES

#: Marker stage index (what the browser colours by): the open stages in loop order.
#: Stages in which a case belongs to its department's workload.
DEPARTMENT_STAGES = frozenset({"dispatched", "handled", "verified", "suspended"})
DESCRIPTION_CHARS = 40


def epoch(value: datetime | None) -> int:
    """Seconds since the epoch (0 for none)."""
    return int(value.timestamp()) if value is not None else 0


@dataclass(slots=True)
class OpenCase:
    grid: int                    # index in the static grid layer (-1: unknown grid)
    stage: str
    deadline: int                # deadline of the current stage, epoch s (0: none)
    department: str | None
    handle_deadline: int         # deadline of the last dispatch, epoch s (0: none)
    handled_on_time: bool | None
    rework_count: int
    category: str | None = None
    urgency: str | None = None


@dataclass(frozen=True)
class ClosedWindow:
    """One department's cases closed within the rolling window (from the database)."""

    closed: int
    handled: int
    handled_on_time: int
    reworks: int


class OpenCases:
    """Open cases by id, with their encoded markers (see :meth:`marker`)."""

    def __init__(self, grid_index: dict[str, int], street_index: dict[str, int], convert=None):
        self.grid_index, self.street_index, self.convert = grid_index, street_index, convert
        self.cases: dict[str, OpenCase] = {}
        self.markers: dict[str, list] = {}
        self.gone: dict[str, int] = {}      # cases removed by the last update/reseed → their grid index

    def __len__(self) -> int:
        return len(self.cases)

    def marker(self, row: dict) -> list:
        """[case id, lon, lat, stage index, warn s, deadline s, category, street index, text, grid index]."""
        lon, lat = row["lon"], row["lat"]
        if self.convert is not None:
            lon, lat = self.convert(lon, lat)
        stage = row["stage"]
        return [row["case_id"], round(lon, 5), round(lat, 5), OPEN_STAGE_NAMES.index(stage) if stage in OPEN_STAGE_NAMES else 0,
                epoch(row["warn_at"]), epoch(row["deadline_at"]), row["category_code"],
                self.street_index.get(row["street_code"], -1), (row["description"] or "")[:DESCRIPTION_CHARS],
                self.grid_index.get(row["grid_code"], -1)]

    def _record(self, row: dict) -> OpenCase:
        return OpenCase(self.grid_index.get(row["grid_code"], -1), row["stage"], epoch(row["deadline_at"]),
                        row["department_code"], epoch(row["handle_deadline_at"]), row["handled_on_time"],
                        row["rework_count"] or 0, row["category_code"], row.get("urgency"))

    def reseed(self, rows: list[dict]) -> dict:
        """Replace everything by ``rows`` (all open cases); the marker changes (None = removed)."""
        before = self.markers
        self.cases = {r["case_id"]: self._record(r) for r in rows}
        self.markers = {r["case_id"]: self.marker(r) for r in rows}
        changes = {case: m for case, m in self.markers.items() if before.get(case) != m}
        self.gone = {case: m[9] for case, m in before.items() if case not in self.markers}
        changes.update({case: None for case in self.gone})
        return changes

    def update(self, rows: list[dict], open_stages) -> dict:
        """Apply the current rows of changed cases; the marker changes (None = removed)."""
        changes: dict = {}
        self.gone = {}
        for row in rows:
            case = row["case_id"]
            if row["stage"] in open_stages:
                self.cases[case] = self._record(row)
                marker = self.marker(row)
                if self.markers.get(case) != marker:
                    self.markers[case] = changes[case] = marker
            elif case in self.cases:
                self.gone[case] = self.markers[case][9]
                del self.cases[case], self.markers[case]
                changes[case] = None
        return changes

    def numbers(self, now: float, grids: int) -> tuple[list, list, dict]:
        """Open and overdue cases per grid index, and overdue cases per stage, at ``now``."""
        open_, overdue = [0] * grids, [0] * grids
        by_stage: dict[str, int] = {}
        for c in self.cases.values():
            grid = c.grid
            if grid >= 0:
                open_[grid] += 1
            if 0 < c.deadline <= now:
                by_stage[c.stage] = by_stage.get(c.stage, 0) + 1
                if grid >= 0:
                    overdue[grid] += 1
        return open_, overdue, by_stage

    def board(self, closed: dict[str | None, ClosedWindow], now: float) -> list:
        """The department board over every open case (see :func:`board`)."""
        return board(self.cases.values(), closed, now)


def board(cases, closed: dict[str | None, ClosedWindow], now: float) -> list:
    """DOMAIN §4 department composite over the rolling window, worst first.

    due = cases closed in the window + open cases whose handling deadline has passed;
    on-time = handled by the deadline / handled; rework = reworks / due.  Rows:
    [department, open, overdue now, on-time %, rework %, closure %, score, grade, on-time ratio to
    its target (≥ 1 meets it, CityScore-style; None without handled cases)]."""
    acc: dict[str, list] = {}  # department → [open, overdue, due open, handled, on time, reworks]
    for c in cases:
        dept = c.department
        if not dept or c.stage not in DEPARTMENT_STAGES:
            continue
        a = acc.get(dept)
        if a is None:
            a = acc[dept] = [0, 0, 0, 0, 0, 0]
        a[0] += 1
        if 0 < c.deadline <= now:
            a[1] += 1
        if 0 < c.handle_deadline <= now:
            a[2] += 1
            a[5] += c.rework_count
        if c.handled_on_time is not None:
            a[3] += 1
            a[4] += c.handled_on_time
    rows = []
    empty = ClosedWindow(0, 0, 0, 0)
    for dept, (open_n, overdue_n, due_open, handled, on_time, reworks) in acc.items():
        window = closed.get(dept, empty)
        due = window.closed + due_open
        score = department_score(due, window.closed, window.handled + handled, window.handled_on_time + on_time,
                                 window.reworks + reworks)
        rows.append([dept, open_n, overdue_n, _pct(score.on_time_rate), _pct(score.rework_rate),
                     _pct(score.closure_rate), score.composite, score.grade,
                     target_ratio("on_time_rate", score.on_time_rate)])
    rows.sort(key=lambda r: (r[6], -r[2], r[0]))
    return rows


def _pct(rate: float | None) -> float | None:
    return None if rate is None else round(100 * rate, 1)
