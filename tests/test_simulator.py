"""The simulator against real Redis and SQLite: history through the real event path, live
traffic through the checked append, and the inspectors every case names.

One 3-day backfill (module fixture, SQLite) serves most tests.  Its window is chosen from the
working calendar, not from the day the suite runs: it ends at the latest working-day morning
(at or before the tests' fixed clock) whose three days before are all working days, so every
open stage is populated and most cases have closed whether the clock says Monday, Sunday
night or the Spring Festival (``make test-clocks`` runs the suite at those).
"""
from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
import redis
from sqlalchemy import func, select

from dashboard.domain.events import parse_entry
from dashboard.domain.lifecycle import EventType
from dashboard.settings import Settings
from datasource.store import schema
from datasource.simulation.backfill import OPEN_STAGES, event_types_by_case, generate_history
from datasource.simulation.clock import TimeText, WorkClock
from datasource.simulation.inspectors import generate_inspectors
from datasource.simulation.traffic import LiveSimulator
from datasource.simulation.backfill import backfill
from datasource.simulation.traffic import simulate
from datasource.redis.stream import Conflict
from tests.helpers import TEST_NOW, FixedClock, event


WINDOW_DAYS = 3


def working_window_end(calendar, before: datetime, days: int = WINDOW_DAYS) -> datetime:
    """10:30 local on the latest day at or before ``before`` such that it and the ``days`` days
    before it are all working days: the ``days`` days before it are pure working time."""
    local = before.astimezone(calendar.tz)
    moment = local.replace(hour=10, minute=30, second=0, microsecond=0)
    if moment > local:
        moment -= timedelta(days=1)
    while not all(calendar.is_working_day(moment.date() - timedelta(days=k)) for k in range(days + 1)):
        moment -= timedelta(days=1)
    return moment.astimezone(timezone.utc)


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory, redis_server_url):
    """A SQLite system with 3 days of history (seed 1) and its backfill figures."""
    from datasource.system import System
    tmp = tmp_path_factory.mktemp("sim")
    key = f"test:{uuid.uuid4().hex[:10]}:events"
    settings = Settings(data_dir=tmp, redis_url=redis_server_url, database_url=f"sqlite:///{tmp}/x.db", stream=key)
    system = System(settings, clock=FixedClock()).start()
    now = system.clock.at = working_window_end(system.scenario.calendar, TEST_NOW)  # the system's present
    figures = backfill(system, WINDOW_DAYS, seed=1, now=now)
    yield system, figures, now
    system.close()
    client = redis.Redis.from_url(redis_server_url)
    for k in client.scan_iter(match=key + "*", count=1000):
        client.delete(k)


def count(engine, *where) -> int:
    with engine.connect() as c:
        return c.execute(select(func.count()).select_from(schema.cases).where(*where)).scalar()


def dead_letters(engine) -> list:
    with engine.connect() as c:
        return c.execute(select(schema.dead_letters.c.reason)).scalars().all()


def test_backfill_fills_every_stage_through_the_worker(backfilled):
    system, figures, now = backfilled
    cases = schema.cases.c
    assert 3 * 1330 * 0.8 < figures["cases"] < 3 * 1330 * 1.2
    assert figures["dead_letters"] == 0 and dead_letters(system.engine) == []
    assert count(system.engine) == figures["cases"]
    for stage in OPEN_STAGES:
        assert count(system.engine, cases.stage == stage) > 0, stage
    assert count(system.engine, cases.stage.in_(OPEN_STAGES), cases.deadline_at < now) > 0  # overdue
    # Three days of pure working time close most cases (64 % with seed 1; a window spanning a
    # weekend or a holiday closes far fewer — test_closures_follow_the_working_calendar).
    assert count(system.engine, cases.stage == "closed") > figures["cases"] * 0.55
    assert count(system.engine, cases.stage == "rejected") > 0
    assert count(system.engine, cases.return_count > 0) > 0
    assert count(system.engine, cases.rework_count > 0) > 0
    assert count(system.engine, cases.extension_count > 0) > 0
    assert count(system.engine, cases.handled_on_time.is_(False)) > 0
    assert figures["open"]["dispatched"] == count(system.engine, cases.stage == "dispatched")


def test_sources_and_urgency_are_in_proportion(backfilled):
    system, figures, _ = backfilled
    with system.engine.connect() as c:
        sources = Counter(dict(c.execute(select(schema.cases.c.source, func.count())
                                         .group_by(schema.cases.c.source)).all()))
        urgent = c.execute(select(func.count()).select_from(schema.cases)
                           .where(schema.cases.c.urgency == "urgent")).scalar()
    total = figures["cases"]
    assert 0.65 < sources["inspector"] / total < 0.85
    assert 0.12 < sources["hotline12345"] / total < 0.25
    assert sources["app"] > 0 and sources["camera"] > 0
    assert 0.02 < urgent / total < 0.09


def test_command_side_matches_the_projection(backfilled):
    """The checked append left every case's hash; it agrees with the projected row."""
    system, _, _ = backfilled
    with system.engine.connect() as c:
        rows = c.execute(select(schema.cases.c.case_id, schema.cases.c.stage, schema.cases.c.version,
                                schema.cases.c.last_actor).order_by(schema.cases.c.case_id)).all()
    pipe = system.redis.pipeline(transaction=False)
    for case_id, *_ in rows:
        pipe.hmget(system.stream.case_key(case_id), "stage", "version", "actor")
    hashes = [(stage.decode(), int(version), actor.decode()) for stage, version, actor in pipe.execute()]
    assert hashes == [(stage, version, actor) for _, stage, version, actor in rows]
    with system.engine.connect() as c:
        suspended = c.execute(select(schema.cases.c.case_id).where(schema.cases.c.stage == "suspended")).scalars().first()
    assert system.stream.case_state(suspended)["suspended_from"] in ("filed", "dispatched")


def test_serial_counters_continue_after_the_history(backfilled):
    system, _, now = backfilled
    day = now.astimezone(system.scenario.calendar.tz).date()
    with system.engine.connect() as c:
        last = c.execute(select(func.max(schema.cases.c.case_id))
                         .where(schema.cases.c.case_id.like(f"DC{day:%Y%m%d}%"))).scalar()
    assert int(system.stream.client.get(f"{system.stream.prefix}seq:{day:%Y%m%d}")) == int(last[-6:])


def test_every_stream_entry_is_valid_and_times_are_ordered(backfilled):
    system, _, now = backfilled
    entries = [e for batch in system.stream.read_all() for e in batch]
    assert all(fields.get(b"v", b"").isdigit() for _, fields in entries)   # all through the check
    events = [parse_entry(fields, system.locator.bbox) for _, fields in entries[:3000]]
    assert all(e.at <= now for e in events)
    assert [e.at for e in events] == sorted(e.at for e in events)
    reported = next(e for e in events if e.type is EventType.REPORTED)
    assert set(reported.body) == {"category", "lon", "lat", "description", "source", "urgency"}


def test_backfill_refuses_a_stream_that_holds_events(backfilled):
    system, _, _ = backfilled
    with pytest.raises(ValueError, match="already holds"):
        backfill(system, 1)


def test_generation_is_deterministic(scenario):
    from datasource.follower.locator import GridLocator
    locator, now = GridLocator(scenario), datetime(2026, 11, 24, 2, 30, tzinfo=timezone.utc)
    first = generate_history(scenario, locator, 0.5, seed=4, now=now)
    again = generate_history(scenario, locator, 0.5, seed=4, now=now)
    other = generate_history(scenario, locator, 0.5, seed=5, now=now)
    assert list(first.states) == list(again.states)
    assert event_types_by_case(first) == event_types_by_case(again)
    assert first.events == again.events
    assert event_types_by_case(first) != event_types_by_case(other)


def test_simulate_reports_new_cases_and_moves_open_ones(backfilled):
    system, _, _ = backfilled
    before = count(system.engine)
    figures = simulate(system, 50, 3, seed=7)
    stats = system.worker().drain()
    assert figures["events"] == 150
    assert figures["reported"] > 0 and count(system.engine) >= before + figures["reported"]
    moved = sum(n for kind, n in figures.items() if kind in {t.value for t in EventType} - {"reported"})
    assert moved > 50
    assert stats.dead == 0 and dead_letters(system.engine) == []


def test_a_case_moved_by_someone_else_is_dropped_on_conflict(backfilled):
    system, _, _ = backfilled
    simulator = LiveSimulator(system, seed=11)
    case = next(c for c in simulator.open._items if c.stage == "dispatched")
    stale = simulator.model.next_step(simulator.rng, case, now=int(system.time()))
    operator = event(case.case_id, "extended", system.now(), "operator",
                     until=(system.now() + timedelta(days=30)).isoformat())
    assert not isinstance(system.stream.append(operator), Conflict)
    assert simulator._append(case, stale) == "conflict"
    assert case.case_id not in simulator.open._index


def test_half_a_day_backfills_cleanly_on_both_databases(system, clock):
    figures = backfill(system, 0.5, seed=2)          # up to the system's clock, whatever day it says
    assert figures["cases"] > 200 and figures["dead_letters"] == 0
    assert count(system.engine) == figures["cases"]
    with system.engine.connect() as c:
        first, last = c.execute(select(func.min(schema.cases.c.reported_at), func.max(schema.cases.c.updated_at))).one()
    first, last = (t if t.tzinfo else t.replace(tzinfo=timezone.utc) for t in (first, last))
    assert clock() - timedelta(hours=12) <= first and clock() - timedelta(hours=2) < last <= clock()


def test_closures_follow_the_working_calendar(scenario):
    """Cases close in working time: three days of it close most cases, the same three days
    over a weekend fewer, over the Spring Festival holiday almost none (fixed dates, seed 1)."""
    from datasource.follower.locator import GridLocator
    locator, tz = GridLocator(scenario), scenario.calendar.tz

    def closed_share(end: datetime) -> float:
        history = generate_history(scenario, locator, WINDOW_DAYS, seed=1, now=end)
        return sum(state["stage"] == "closed" for state in history.states.values()) / history.cases

    working = closed_share(working_window_end(scenario.calendar, datetime(2026, 11, 20, 12, 0, tzinfo=tz)))
    weekend = closed_share(datetime(2026, 11, 23, 10, 30, tzinfo=tz))      # Monday: Fri, Sat, Sun before it
    holiday = closed_share(datetime(2026, 2, 21, 10, 30, tzinfo=tz))       # 春节: Feb 15-23 off
    assert working > 0.55 and 0.15 < weekend < 0.35 and holiday < 0.05


def test_inspectors_cover_every_grid_exactly_once(scenario):
    grids = {f["properties"]["code"]: f["properties"] for f in scenario.grids_geojson["features"]}
    covered = Counter(grid for inspector in scenario.inspectors for grid in inspector["grids"])
    assert set(covered) == set(grids) and set(covered.values()) == {1}
    for inspector in scenario.inspectors:
        assert inspector["id"] == f"INS-{inspector['community_code']}-{inspector['id'].rsplit('-', 1)[1]}"
        assert {grids[g]["community_code"] for g in inspector["grids"]} == {inspector["community_code"]}
        assert inspector["name"] and inspector["street_code"] == inspector["community_code"][:9]
    assert 400 <= len(scenario.inspectors) <= 470
    assert generate_inspectors(scenario.root) == json.loads((scenario.root / "inspectors.json").read_text())


def test_fast_clocks_agree_with_the_domain_calendar(scenario):
    calendar, rng = scenario.calendar, random.Random(8)
    now = datetime(2026, 9, 24, 2, 30, tzinfo=timezone.utc)
    clock, text = WorkClock.around(calendar, now - timedelta(days=20), now, margin_days=30), TimeText(calendar.tz)
    for _ in range(3000):
        start = int((now + timedelta(days=rng.uniform(-30, 40))).timestamp())
        minutes = rng.choice([0, 60, 480, 510, 2550, rng.uniform(0, 6000)])
        expected = calendar.add_working(datetime.fromtimestamp(start, calendar.tz), minutes).timestamp()
        assert clock.add(start, minutes) == pytest.approx(expected, abs=1e-6)
        assert text(start) == datetime.fromtimestamp(start, calendar.tz).isoformat()


def test_the_backfill_stops_when_the_check_refuses_an_event(scenario, redis_server_url, stream_key):
    """The backfill appends through the check too: a case the command side already knows
    cannot be reported again, and the backfill says which one."""
    from datasource.follower.locator import GridLocator
    from datasource.simulation.backfill import append_history
    from datasource.redis.stream import EventStream
    history = generate_history(scenario, GridLocator(scenario), 0.1, seed=4,
                               now=datetime(2026, 11, 24, 2, 30, tzinfo=timezone.utc))
    stream = EventStream(redis.Redis.from_url(redis_server_url), stream_key)
    first = history.events[0][1]
    stream.client.hset(stream.case_key(first), mapping={"stage": "closed", "version": 7})
    with pytest.raises(RuntimeError, match=f"first: reported of {first} \\(stage, stage closed, version 7\\)"):
        append_history(stream, history)
    assert stream.length() == len(history.events) - sum(1 for e in history.events if e[1] == first)
