"""The department evaluation's daily roll-up behind /departments (``report_departments_daily``),
on SQLite and PostgreSQL: for random windows and moments the overview read through it equals
the overview grouped from the cases, figure for figure (medians and p90 included); it follows
new events — a return and a re-dispatch to another department, handlings, closings — by
recounting only what they touched; counting again changes nothing; a clean replay of the
stream into an empty database gives the same roll-up; the migration goes down and up again.
And the quantile rule it uses is pandas' (what the figures were before it)."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings as hsettings, strategies as st
from sqlalchemy import delete, select

from dashboard.domain.evaluation import Period
from datasource.follower.rebuild import rebuild
from datasource.services import department_rollup as rollup
from datasource.services.evaluation import DepartmentEvaluation
from datasource.simulation.backfill import append_history, generate_history
from datasource.store import schema
from datasource.store.database import make_engine
from tests.helpers import event, publish

DAYS, PER_DAY = 10, 150


@pytest.fixture
def history(system):
    now = datetime.now(timezone.utc)
    generated = generate_history(system.scenario, system.locator, DAYS, seed=11, now=now, per_day=PER_DAY)
    append_history(system.stream, generated, seed=11)
    assert system.worker().drain().dead == 0
    return system, now


def both(system, period: Period, now: datetime) -> tuple[list[dict], list[dict]]:
    """(through the roll-up, from the cases) — the overview's rows."""
    rolled = DepartmentEvaluation(system).overview(period, now)["departments"]
    direct = DepartmentEvaluation(system, use_rollup=False).overview(period, now)["departments"]
    return rolled, direct


def table(engine) -> list[tuple]:
    t = schema.report_departments_daily
    with engine.connect() as c:
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                for row in c.execute(select(t).order_by(t.c.day, t.c.department))]


def random_windows(today, tz, n: int, seed: int) -> list[Period]:
    rng = random.Random(seed)
    out = [Period(today - timedelta(days=DAYS), today, tz=tz)]
    for _ in range(n):
        first = today - timedelta(days=rng.randint(0, DAYS + 2))
        out.append(Period(first, min(today, first + timedelta(days=rng.randint(0, DAYS))), tz=tz))
    return out


def test_the_overview_through_the_roll_up_equals_the_one_from_the_cases(history):
    system, now = history
    tz = system.scenario.calendar.tz
    today = now.astimezone(tz).date()
    rng = random.Random(3)
    whole = None
    for period in random_windows(today, tz, 8, seed=1):
        # "now" anywhere from the window's end to two days later: overdue-now moves with it
        moment = now - timedelta(hours=rng.uniform(0, 30)) if period.last == today else now
        rolled, direct = both(system, period, moment)
        assert rolled == direct, period
        whole = whole or rolled
    # the data exercises every figure: handled with times, returns, reworks, overdue, backlog
    for figure in ("due", "handled", "returns", "reworks", "overdue_now", "backlog"):
        assert sum(r[figure] for r in whole) > 0, figure
    assert sum(r["handling_median_h"] is not None for r in whole) >= 3


def test_it_follows_new_events_recounting_only_what_they_touched(history):
    system, now = history
    tz = system.scenario.calendar.tz
    today = now.astimezone(tz).date()
    days = rollup.DepartmentDays(system)
    assert days.refresh() > 0
    assert days.refresh() == 0                                   # nothing new: nothing done
    before = table(system.engine)
    c_ = schema.cases.c
    with system.engine.connect() as c:
        waiting = c.execute(select(c_.case_id, c_.department_code).where(c_.stage == "dispatched")
                            .order_by(c_.first_dispatched_at.desc(), c_.case_id).limit(6)).all()
        verified = c.execute(select(c_.case_id).where(c_.stage == "verified").order_by(c_.case_id)
                             .limit(4)).scalars().all()
    assert len(waiting) == 6 and verified
    at = datetime.now(timezone.utc) - timedelta(seconds=30)
    events = []
    for case_id, dept in waiting[:3]:          # returned, then dispatched to another department
        other = "roads" if dept != "roads" else "sanitation"
        events += [event(case_id, "returned", at, "dept-user", reason="不属于本部门职责"),
                   event(case_id, "dispatched", at + timedelta(seconds=1), "dispatcher-01", department=other)]
    events += [event(case_id, "handled", at + timedelta(seconds=2), "dept-user") for case_id, _ in waiting[3:]]
    events += [event(case_id, "closed", at + timedelta(seconds=3), "supervisor-09") for case_id in verified]
    publish(system.stream, events)
    assert system.worker().drain().dead == 0
    assert days.refresh() == len(events)
    after = table(system.engine)
    assert after != before
    # only the rows of the days those cases were first dispatched changed
    with system.engine.connect() as c:
        first = c.execute(select(c_.first_dispatched_at).where(
            c_.case_id.in_([w[0] for w in waiting] + list(verified)))).scalars().all()
    touched_days = {rollup.day_number(rollup.q.utc(f).astimezone(tz).date()) for f in first}
    assert {r for r in before if r[0] not in touched_days} == {r for r in after if r[0] not in touched_days}
    for period in random_windows(today, tz, 4, seed=2):
        rolled, direct = both(system, period, now)
        assert rolled == direct, period
    # counting every day again (a clean count of this database) changes nothing
    with system.engine.begin() as c:
        c.execute(delete(schema.report_departments_daily))
        c.execute(delete(schema.report_state).where(schema.report_state.c.key == rollup.UPTO))
    assert table(system.engine) == []
    assert days.refresh() > 0
    assert table(system.engine) == after


def test_a_clean_replay_of_the_stream_gives_the_same_roll_up(history, tmp_path: Path):
    system, now = history
    rollup.DepartmentDays(system).refresh()
    clean = make_engine(f"sqlite:///{tmp_path / 'replayed.db'}")
    try:
        rebuild(system, clean)

        class Replayed:                        # the roll-up's keeper only needs these two
            engine = clean
            scenario = system.scenario
        rollup.DepartmentDays(Replayed).refresh()
        assert table(clean) == table(system.engine)
        assert len(table(clean)) > DAYS
    finally:
        clean.dispose()


def test_the_migration_goes_down_and_up(history):
    from alembic import command

    from datasource.store.database import alembic_config
    system, now = history
    tz = system.scenario.calendar.tz
    period = Period(now.astimezone(tz).date() - timedelta(days=DAYS), now.astimezone(tz).date(), tz=tz)
    before = DepartmentEvaluation(system).overview(period, now)
    config = alembic_config(system.engine)
    command.downgrade(config, "0004_partitions")
    command.upgrade(config, "head")
    assert table(system.engine) == []
    assert DepartmentEvaluation(system).overview(period, now) == before   # counted again on first use


@hsettings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 400 * 3600), min_size=1, max_size=80), st.integers(1, 6))
def test_the_quantile_rule_is_pandas(seconds, split):
    """Medians and p90 of the merged per-day arrays equal pandas' group quantiles of the hours
    (how the figures were computed before the roll-up), to the last bit."""
    values = np.array(seconds, dtype=rollup.SECONDS)
    parts = np.array_split(values, split)                   # as if from several days' rows
    hours = pd.Series(values.astype(float) / 3600.0)
    expected = hours.groupby(np.zeros(values.size, int)).quantile([0.5, 0.9]).unstack()
    assert rollup.median_p90(np.concatenate([np.sort(p) for p in parts])) == (
        round(float(expected[0.5].iloc[0]), 2), round(float(expected[0.9].iloc[0]), 2))
    ordered = np.sort(values).astype(float) / 3600.0
    for p in (0.5, 0.9):
        assert rollup.quantile(ordered, p) == float(expected[p].iloc[0])
