"""The wall's shared live snapshot on a real system (Redis + SQLite and PostgreSQL).

Each figure the wall shows is checked against the reporting tables themselves; deltas
are checked by publishing events, draining the worker and asking "what changed since".
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from dashboard.domain.indicators import department_score
from datasource.store import schema
from dashboard.domain.lifecycle import LOOP_STAGE_NAMES as LOOP, OPEN_STAGE_NAMES as MARKER_STAGES
from datasource.services.wall import LiveSnapshot
from datasource.tools.map_layers import grid_codes
from tests.helpers import TEST_NOW, event, publish

NOW = TEST_NOW  # the system fixture's clock: "now" for the wall's today and overdue


def report(case_id, minutes_ago, description="暴露垃圾", lon=116.4035, lat=39.9135, category="E0102"):
    return event(case_id, "reported", NOW - timedelta(minutes=minutes_ago), category=category, lon=lon, lat=lat,
                 description=description, source="inspector")


def step(case_id, kind, minutes_ago, **body):
    return event(case_id, kind, NOW - timedelta(minutes=minutes_ago), **body)


def closed_loop(case_id, minutes_ago, rework=False):
    """A whole loop for sanitation, five minutes per step (one rework if asked)."""
    m = minutes_ago
    events = [report(case_id, m), step(case_id, "filed", m - 2), step(case_id, "dispatched", m - 4, department="sanitation"),
              step(case_id, "handled", m - 6)]
    if rework:
        events += [step(case_id, "rework", m - 7, reason="未清理干净"), step(case_id, "handled", m - 8)]
    return events + [step(case_id, "verified", m - 9), step(case_id, "closed", m - 10)]


def seed(system) -> list:
    """Overdue reports, fresh reports, dispatched work and two closed loops (one with rework)."""
    ids = iter(f"DC{NOW:%Y%m%d}{n:06d}" for n in range(1, 100))
    events = []
    events += [report(next(ids), 45) for _ in range(4)]                        # reported 45 min ago: overdue
    events += [report(next(ids), 3, lon=116.42, lat=39.93) for _ in range(3)]  # fresh
    for _ in range(3):                                                          # dispatched to sanitation
        case = next(ids)
        events += [report(case, 20), step(case, "filed", 18), step(case, "dispatched", 16, department="sanitation")]
    events += closed_loop(next(ids), 30) + closed_loop(next(ids), 28, rework=True)
    publish(system.stream, events)
    assert system.worker().drain().dead == 0
    return events


def sql(system, statement):
    with system.engine.connect() as c:
        return c.execute(statement).all()


def test_counts_flow_overdue_and_ticker_match_the_tables(system):
    events = seed(system)
    live = LiveSnapshot(system, interval=0)
    tick = live.get()
    cases = schema.cases
    by_stage = dict(sql(system, select(cases.c.stage, func.count()).group_by(cases.c.stage)))
    assert [row[0] for row in tick.stages] == [by_stage.get(s, 0) for s in LOOP]
    tz = system.scenario.calendar.tz
    today = Counter(e.type.value for e in events if e.at.astimezone(tz).date() == NOW.astimezone(tz).date())
    assert [row[1] for row in tick.stages] == [today.get(s, 0) for s in LOOP]
    assert tick.side[:3] == [today.get("rejected", 0), today.get("returned", 0), today.get("rework", 0)]
    overdue = dict(sql(system, select(cases.c.stage, func.count()).where(
        cases.c.stage.in_(schema.OPEN_STAGES), cases.c.deadline_at <= NOW).group_by(cases.c.stage)))
    assert overdue.get("reported") == 4
    assert [row[2] for row in tick.stages] == [overdue.get(s, 0) for s in LOOP]
    # Grids: the open cases per grid add up, and the overdue ones sit where the cases are.
    assert sum(tick.grid_open) == sum(by_stage.get(s, 0) for s in schema.OPEN_STAGES)
    assert sum(tick.grid_overdue) == sum(overdue.values())
    open_grids = dict(sql(system, select(cases.c.grid_code, func.count()).where(cases.c.stage.in_(schema.OPEN_STAGES))
                          .group_by(cases.c.grid_code)))
    codes = grid_codes(system.scenario)
    assert {codes[i]: n for i, n in enumerate(tick.grid_open) if n} == open_grids
    # Markers: every open case, with its stage and deadline.
    assert len(tick.markers) == sum(open_grids.values())
    marker = next(m for m in tick.markers.values() if MARKER_STAGES[m[3]] == "dispatched")
    assert marker[5] > marker[4] > 0 and marker[6] == "E0102"
    # Ticker: newest first, straight from case_events.
    newest = sql(system, select(schema.case_events.c.id, schema.case_events.c.case_id)
                 .order_by(schema.case_events.c.id.desc()).limit(live.ticker_size))
    assert [(r[0], r[2]) for r in tick.ticker] == [tuple(r) for r in newest]
    assert tick.health[1:4] == [1, 1, 0]  # Redis up, database up, not stale


def test_department_board_follows_the_evaluation_formula(system):
    seed(system)
    tick = LiveSnapshot(system, interval=0).get()
    rows = {r[0]: r for r in tick.board}
    assert set(rows) == {"sanitation"}           # the only department with open cases
    dept, open_n, overdue, on_time, rework, closure, score, grade, ratio = rows["sanitation"]
    assert open_n == 3
    # Two cases closed in the window, both handled on time, one rework; the three open ones
    # are not yet due (their handling deadline lies hours ahead).
    expected = department_score(due=2, closed=2, handled=2, handled_on_time=2, reworks=1)
    assert (on_time, rework, closure) == (100.0, 50.0, 100.0)
    assert (score, grade) == (expected.composite, expected.grade) == (85.0, "B")
    assert ratio == round(1.0 / 0.9, 3)          # on-time 100 % against its 90 % target (CityScore ratio)


def test_deltas_carry_only_what_changed(system):
    seed(system)
    live = LiveSnapshot(system, interval=0)
    first = live.payload(None)
    v = first["v"]
    quiet = live.payload(v)          # nothing happened since: a newer tick (interval 0), only its header
    assert set(quiet) == {"v", "t", "h"} and quiet["v"] == v + 1
    assert first["full"] == 1 and len(first["m"]) == len(live.get().markers)
    # A new report, the dispatch of a filed case and the closing of a verified one.
    new_case = f"DC{NOW:%Y%m%d}000500"
    filed = f"DC{NOW:%Y%m%d}000501"
    publish(system.stream, [report(new_case, 1, lon=116.41, lat=39.92),
                            report(filed, 10), step(filed, "filed", 9)])
    system.worker().drain()
    middle = live.payload(v)["v"]
    publish(system.stream, [step(filed, "dispatched", 1, department="sanitation")])
    system.worker().drain()
    delta = live.payload(v)          # merged over two ticks
    assert "full" not in delta
    changed = {m[0]: m for m in delta["m"]["u"]}
    assert set(changed) == {new_case, filed}
    assert MARKER_STAGES[changed[filed][3]] == "dispatched" and MARKER_STAGES[changed[new_case][3]] == "reported"
    assert delta["m"]["r"] == []
    assert [row[2] for row in delta["k"]][:2] == [filed, filed] and len(delta["k"]) == 4
    assert delta["s"][0][0] >= 1 and 0 < len(delta["g"]) <= 2
    one_step = live.payload(middle)
    assert {m[0] for m in one_step["m"]["u"]} == {filed} and len(one_step["k"]) == 1
    # Closing removes the marker.
    closing = [step(filed, "handled", 0), step(filed, "verified", 0), step(filed, "closed", 0)]
    publish(system.stream, closing)
    system.worker().drain()
    last = live.payload(delta["v"])
    assert last["m"]["r"] == [filed] and last["m"]["u"] == []
    # A viewer too far behind (or new) gets the whole state again.
    assert live.payload(-5)["full"] == 1


def test_one_computation_per_tick_for_many_concurrent_viewers(system):
    seed(system)
    shift = [0.0]
    live = LiveSnapshot(system, interval=1.0, clock=lambda: time.time() + shift[0])
    viewers = 48
    barrier = threading.Barrier(viewers)
    answers, errors = [], []

    def viewer():
        try:
            barrier.wait(timeout=30)
            answers.append(live.payload(None)["v"])
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    for round_ in (1, 2):
        threads = [threading.Thread(target=viewer) for _ in range(viewers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        assert live.computations == round_
        if round_ == 1:
            # No snapshot yet: everyone waited for the single first computation.
            assert Counter(answers) == {1: viewers}
        if round_ == 1:
            shift[0] += 1.5  # the next tick is due
    # While one viewer recomputed, the others were served the previous tick at once
    # (never more than one tick old) instead of queuing behind the lock.
    assert set(answers) <= {1, 2} and 2 in answers
    assert live.get().version == 2 and live.computations == 2


def test_health_reports_a_backlog_as_stale(system):
    seed(system)
    shift = [0.0]
    live = LiveSnapshot(system, interval=0, clock=lambda: time.time() + shift[0])
    assert live.get().health[3] == 0
    publish(system.stream, [report(f"DC{NOW:%Y%m%d}000900", 1)])   # published, not yet applied
    shift[0] = system.settings.stale_seconds + 5                    # … and waiting too long
    age, redis_ok, db_ok, stale, _ = live.get().health
    assert (redis_ok, db_ok, stale) == (1, 1, 1) and age > system.settings.stale_seconds
    system.worker().drain()
    assert live.get().health[3] == 0 and live.get().health[0] == 0


@pytest.mark.parametrize("crs", ["WGS-84"])
def test_markers_are_converted_for_wgs84_tiles(system, crs):
    from dashboard.domain.crs import gcj02_to_wgs84, wgs84_to_gcj02
    seed(system)
    system.settings = system.settings.with_(tile_url="http://tiles.local/{z}/{x}/{y}.png", tile_crs=crs)
    marker = next(iter(LiveSnapshot(system, interval=0).get().markers.values()))
    row = sql(system, select(schema.cases.c.lon, schema.cases.c.lat).where(schema.cases.c.case_id == marker[0]))[0]
    assert (marker[1], marker[2]) == tuple(round(v, 5) for v in gcj02_to_wgs84(*row))
    # In Beijing the datums differ by a few hundred metres, and the inverse round-trips.
    assert 0.002 < abs(marker[1] - row[0]) < 0.01
    back = wgs84_to_gcj02(*gcj02_to_wgs84(*row))
    assert abs(back[0] - row[0]) < 1e-8 and abs(back[1] - row[1]) < 1e-8
