"""The acts' daily roll-up behind /inspectors (``report_acts_daily``), on SQLite and
PostgreSQL: for any window, its sums equal ``report_acts`` grouped directly; it follows new
events incrementally and a database upgraded with acts already recorded catches up once;
recounting changes nothing; the people report read through it equals the one read from the
acts; the migration goes down and up again."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, func, select

from dashboard.domain.evaluation import Period
from datasource.services import report_rollup as rollup
from datasource.services.report_acts import DAILY, ActFacts
from datasource.services.staff import StaffReport
from datasource.simulation.backfill import append_history, generate_history
from datasource.store import schema
from tests.helpers import event, publish

DAYS, PER_DAY = 5, 300


@pytest.fixture
def history(system):
    now = datetime.now(timezone.utc)
    generated = generate_history(system.scenario, system.locator, DAYS, seed=5, now=now, per_day=PER_DAY)
    append_history(system.stream, generated, seed=5)
    assert system.worker().drain().dead == 0
    tz = system.scenario.calendar.tz
    return system, now.astimezone(tz).date(), tz


def direct(system, period: Period, group: tuple[str, ...]) -> dict:
    """``report_acts`` grouped straight (what the reports read before the roll-up)."""
    a = schema.report_acts
    columns = {"type": a.c.type, "actor": a.c.actor, "day": a.c.start_day, "shift": a.c.shift}
    keys = [columns[g] for g in group]
    statement = (select(*keys, func.count(), func.sum(a.c.on_time))
                 .where(a.c.at >= period.start, a.c.at < period.end, a.c.on_time.is_not(None)).group_by(*keys))
    with system.engine.connect() as c:
        return {tuple(r[:-2]): (int(r[-2]), int(r[-1] or 0)) for r in c.execute(statement)}


def rolled(system, period: Period, group: tuple[str, ...]) -> dict:
    types = ("filed", "rejected", "dispatched", "verified", "rework", "closed")
    with system.engine.connect() as c:
        rows = c.execute(rollup.acts_statement(period.first, period.last, types, group)).all()
    return {tuple(r[:-2]): (int(r[-2]), int(r[-1] or 0)) for r in rows}


def windows(today, tz) -> list[Period]:
    return [Period(today - timedelta(days=DAYS), today, tz=tz), Period(today - timedelta(days=2), today - timedelta(days=2), tz=tz),
            Period(today - timedelta(days=3), today - timedelta(days=1), tz=tz), Period(today, today, tz=tz)]


def test_the_roll_up_sums_equal_the_acts_for_any_window(history):
    system, today, tz = history
    ActFacts(system).refresh()
    for period in windows(today, tz):
        for group in (("type", "actor"), ("type", "day", "shift", "actor")):
            expected = direct(system, period, group)
            assert rolled(system, period, group) == expected, (period, group)
    assert sum(n for n, _ in direct(system, windows(today, tz)[0], ("type",)).values()) > 3 * PER_DAY


def test_it_follows_new_events_and_a_database_upgraded_with_acts_catches_up_once(history):
    system, today, tz = history
    facts = ActFacts(system)
    facts.refresh()
    whole = windows(today, tz)[0]
    before = rolled(system, whole, ("type", "actor"))
    # A database whose acts were recorded before the roll-up existed: empty, no mark.
    with system.engine.begin() as c:
        c.execute(delete(schema.report_acts_daily))
        c.execute(delete(schema.report_state).where(schema.report_state.c.key == DAILY))
    assert rolled(system, whole, ("type", "actor")) == {}
    assert facts.refresh() == 0                        # no new event: only the roll-up's catch-up
    assert rolled(system, whole, ("type", "actor")) == before
    # Counting a day again changes nothing.
    with system.engine.begin() as c:
        rows = c.execute(select(func.count()).select_from(schema.report_acts_daily)).scalar()
        rollup.recount(c, tz, [rollup.day_number(today - timedelta(days=d)) for d in range(DAYS + 1)])
        assert c.execute(select(func.count()).select_from(schema.report_acts_daily)).scalar() == rows
    assert rolled(system, whole, ("type", "actor")) == before
    # New events (more of today): the acts and their days follow, in step with report_acts.
    with system.engine.connect() as c:
        waiting = c.execute(select(schema.cases.c.case_id).where(schema.cases.c.stage == "verified")
                            .order_by(schema.cases.c.case_id).limit(20)).scalars().all()
    assert waiting
    now = datetime.now(timezone.utc) - timedelta(seconds=5)
    publish(system.stream, [event(case_id, "closed", now, "supervisor-09") for case_id in waiting])
    assert system.worker().drain().dead == 0
    assert facts.refresh() == len(waiting)
    for group in (("type", "actor"), ("type", "day", "shift", "actor")):
        assert rolled(system, whole, group) == direct(system, whole, group)
    assert rolled(system, whole, ("type", "actor")) != before


def test_the_people_report_through_the_roll_up_equals_the_one_from_the_acts(history):
    """The district's report reads the roll-up; a sub-centre's reads the acts joined to its
    cases — a street covering … the same formulas: summing every street's dispatchers is
    not the district's (a dispatcher works for all), so compare the district with the acts'
    own statement instead."""
    system, today, tz = history
    period = windows(today, tz)[0]
    report = StaffReport(system, ttl=0)
    district = report.report(period)
    a = schema.report_acts
    raw = select(a.c.type, a.c.actor, func.count(), func.sum(a.c.on_time)).where(
        a.c.at >= period.start, a.c.at < period.end, a.c.on_time.is_not(None),
        a.c.type == "dispatched").group_by(a.c.type, a.c.actor)
    with system.engine.connect() as c:
        dispatches = {actor: (int(n), int(on)) for _t, actor, n, on in c.execute(raw)}
    assert {r["actor"]: (r["dispatches"], r["on_time"]) for r in district["dispatchers"]} == dispatches
    shifts = direct(system, period, ("type", "shift"))
    for row in district["shifts"]:
        filed = [shifts.get((kind, row["shift"]), (0, 0)) for kind in ("filed", "rejected")]
        assert row["filings"] == sum(n for n, _ in filed) and row["on_time_filings"] == sum(o for _, o in filed)
        assert (row["closings"], row["on_time_closings"]) == shifts.get(("closed", row["shift"]), (0, 0))


def test_the_migration_goes_down_and_up(history):
    from alembic import command

    from datasource.store.database import alembic_config
    system, today, tz = history
    ActFacts(system).refresh()
    whole = windows(today, tz)[0]
    before = rolled(system, whole, ("type", "actor"))
    config = alembic_config(system.engine)
    command.downgrade(config, "0003_scope")
    command.upgrade(config, "head")
    ActFacts(system).refresh()           # the first report after the upgrade counts it again
    assert rolled(system, whole, ("type", "actor")) == before
