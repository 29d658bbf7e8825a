"""The worker's fast paths give what the plain rules give (issue 15, the worker's per-CPU rate).

* The warning point and the deadline of a stage are found in one walk over the working
  calendar (:meth:`WorkingClock.ends`): the same instants as two walks.
* The writers store exactly the rows the domain computed: every ``cases`` row in the
  database equals the last row :func:`dashboard.domain.projection.apply_event` gave for
  its case, column for column, on SQLite (``executemany`` per set of changed columns) and
  on PostgreSQL (one ``json_to_recordset`` UPDATE per batch) — with small batches, so
  that nearly every event updates a row an earlier batch wrote.
* A time becomes the same SQLite text through the memo, whether met first or again.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dashboard.domain.limits import WARN_SHARE, Limit, WorkingClock
from datasource.follower.projector import Projector
from datasource.follower.worker import Worker
from datasource.store import partitions, schema
from datasource.store.fastwrite import sqlite_time
from tests.streams import _plain, publish, snapshot, story_stream

ZONES = [timezone.utc, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.datetimes(min_value=datetime(2024, 12, 20), max_value=datetime(2027, 1, 10),
                          timezones=st.sampled_from(ZONES)),
       unit=st.sampled_from(["minutes", "hours", "work_hours", "work_days"]),
       amount=st.one_of(st.floats(0.01, 400), st.sampled_from([0.5, 1.0, 2.0, 8.0, 10.0, 48.0])))
def test_warning_point_and_deadline_in_one_walk_equal_two_walks(scenario, start, unit, amount):
    clock, limit = WorkingClock(scenario.calendar), Limit(amount, unit)
    warn, deadline = clock.ends(limit, start)
    assert (warn, deadline) == (clock.end(limit, start, WARN_SHARE), clock.end(limit, start))
    assert warn.utcoffset() == clock.end(limit, start, WARN_SHARE).utcoffset()
    assert deadline.utcoffset() == clock.end(limit, start).utcoffset()


class RecordingProjector(Projector):
    """Keeps the last row the domain computed for every case it wrote."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.domain_rows: dict[str, dict] = {}

    def _apply_fresh(self, connection, fresh, result):
        changes, rows = super()._apply_fresh(connection, fresh, result)
        self.domain_rows.update((row["case_id"], row) for row in rows)
        return changes, rows


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_the_cases_table_holds_the_rows_the_domain_computed(system):
    # A story of 40 cases and 600 entries: every event type, retries, reused ids, poison.
    rng = random.Random(20261130)
    entries = story_stream(rng.choice, 40, 600)
    publish(system.redis, system.stream.key, entries)
    # Drained in batches of 1 to 17 entries: a case's events fall into many batches, so
    # most of them update a row (the update statements), in every mix of changed columns.
    projector = RecordingProjector(system.engine, system.scenario, system.locator)
    worker = Worker(system.stream, "speed", projector, consumer="w", batch_size=1)
    worker.ensure_group()
    while True:
        worker.batch_size = rng.randint(1, 17)
        if not worker.step():
            break
    assert worker.blocked is None and worker.lag() == 0
    # The table is the domain's rows, column for column (times compared as UTC instants).
    table = snapshot(system.engine)["cases"]
    columns = [c.name for c in schema.cases.columns]
    domain = [tuple(_plain(row[n]) for n in columns) for _, row in sorted(projector.domain_rows.items())]
    assert len(table) == len(domain) > 20
    assert table == domain
    # The story went through the columns an update sets to a flag, back to nothing, or counts.
    rows = projector.domain_rows.values()
    assert {"closed", "dispatched", "rejected", "suspended"} <= {r["stage"] for r in rows}
    assert {True, False, None} == {r["handled_on_time"] for r in rows}
    assert all(sum(r[n] for r in rows) for n in ("return_count", "rework_count", "visit_count", "extension_count"))
    assert any(r["suspended_from"] for r in rows)


def test_a_time_is_the_same_sqlite_text_first_and_again():
    instant = datetime(2026, 11, 30, 12, 0, 0, 7, tzinfo=timezone(timedelta(hours=8)))
    first = sqlite_time(instant)
    assert first == "2026-11-30 04:00:00.000007"
    assert sqlite_time(instant.astimezone(timezone.utc)) == first == sqlite_time(instant)
    assert sqlite_time(datetime(2026, 11, 30, tzinfo=timezone.utc)) == "2026-11-30 00:00:00.000000"
    assert sqlite_time(None) is None
    with pytest.raises(ValueError, match="naive datetime"):
        sqlite_time(datetime(2026, 11, 30))


@settings(max_examples=300, deadline=None)
@given(instants=st.lists(st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2098, 12, 31),
                                      timezones=st.sampled_from(ZONES)), max_size=20))
def test_the_months_a_batch_needs_are_each_instants_month_and_its_neighbours_within_the_margin(instants):
    expected = {(x.year, x.month) for at in instants for x in (at, at - partitions.MARGIN, at + partitions.MARGIN)}
    assert partitions.months_of_instants(instants) == expected
