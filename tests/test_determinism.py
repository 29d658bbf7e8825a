"""Property: the projection is a pure function of the stream (Hypothesis; SQLite and PostgreSQL).

For random case stories (see :mod:`tests.streams`) drained through the real worker on a
real Redis consumer group with random batch sizes, crashes inside a transaction,
crashes between commit and acknowledgement, and restarts under the same or another
consumer name, every projected table equals a one-shot replay of the same stream,
column for column.  Crashes are injected in-process here so that hundreds of examples
run in seconds; ``test_worker.py`` kills a real worker subprocess with SIGKILL.

One engine per database and test run; tables are emptied between examples.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
import redis
from hypothesis import HealthCheck, example, given, settings, strategies as st

from dashboard.domain.events import InvalidEvent, parse_entry
from dashboard.domain.limits import WorkingClock
from datasource.store.database import make_engine, prepare
from datasource.store.fastwrite import Changes
from datasource.follower.locator import GridLocator
from datasource.follower.projector import Projector
from datasource.follower.worker import Worker
from datasource.redis.stream import EventStream
from tests.conftest import create_pg_database, drop_pg_database
from tests.streams import T0, clear_projection, differences, publish, snapshot, streams

GROUP = "determinism"


class SimulatedCrash(BaseException):
    """The process dies here (BaseException: nothing in the product may catch it)."""


class CrashingProjector(Projector):
    """Dies inside the transaction (after writing part of the batch) when armed."""

    armed = False

    def _apply_fresh(self, connection, fresh, result):
        changes, rows = super()._apply_fresh(connection, fresh, result)
        if self.armed:
            self.armed = False
            self.writer.write(connection, Changes(changes.position, events=changes.events))
            raise SimulatedCrash()
        return changes, rows


class CrashingWorker(Worker):
    """Dies after the commit, before XACK, when armed."""

    armed = False

    def _acknowledge(self, ids) -> None:
        if self.armed:
            self.armed = False
            raise SimulatedCrash()
        super()._acknowledge(ids)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def projection_db(request, tmp_path_factory, scenario):
    """(engine, locator) for one database, prepared once for the whole module."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('determinism') / 'citygrid.db'}"
    else:
        server = request.getfixturevalue("pg_server_url")
        url = create_pg_database(server)
    # Durability is not under test: PostgreSQL need not wait for the disk at each commit.
    options = {} if request.param == "sqlite" else {"connect_args": {"options": "-c synchronous_commit=off"}}
    engine = make_engine(url, **options)
    prepare(engine, scenario)
    yield engine, GridLocator(scenario)
    engine.dispose()
    if request.param == "postgresql":
        drop_pg_database(server, url)


@pytest.fixture(scope="module")
def client(redis_server_url):
    client = redis.Redis.from_url(redis_server_url)
    yield client
    client.close()


# A plan step: (batch size, what happens to that batch).
PLANS = st.lists(st.tuples(st.integers(1, 9), st.sampled_from(
    ["ok"] * 4 + ["crash inside", "crash before ack", "crash inside, new consumer", "crash before ack, new consumer",
                  "error inside, same process"])), max_size=12)


def run_incremental(engine, scenario, locator, client, key: str, plan) -> None:
    """Drain ``key`` through the real worker following ``plan``, crashing where it says."""
    stream = EventStream(client, key)
    names = iter(f"consumer-{i}" for i in range(1000))

    def start(name):
        projector = CrashingProjector(engine, scenario, locator)
        return CrashingWorker(stream, GROUP, projector, consumer=name, batch_size=1, claim_idle_ms=0)

    worker = start(next(names))
    worker.ensure_group()
    steps = iter(plan)
    for _ in range(2000):
        size, what = next(steps, (1000, "ok"))
        worker.batch_size = size
        worker.projector.armed = "inside" in what
        worker.armed = "before ack" in what
        try:
            n = worker.step()
        except SimulatedCrash:
            if "same process" in what:
                continue   # the exception did not kill the process: the same objects go on
            worker = start(next(names) if "new consumer" in what else worker.consumer)
            continue
        if n == 0:   # nothing left to read
            assert worker.blocked is None, worker.blocked
            return
    raise AssertionError("the drain did not finish")


def one_shot(engine, scenario, locator, client, key: str) -> None:
    """The reference: every entry in one batch, read with XRANGE (what ``rebuild`` does)."""
    Projector(engine, scenario, locator).apply_isolating(client.xrange(key))


def check_stream(projection_db, scenario, client, entries, plan) -> None:
    engine, locator = projection_db
    key = f"test:det:{uuid.uuid4().hex[:10]}"
    try:
        publish(client, key, entries)
        clear_projection(engine)
        one_shot(engine, scenario, locator, client, key)
        expected = snapshot(engine)
        clear_projection(engine)
        run_incremental(engine, scenario, locator, client, key, plan)
        got = snapshot(engine)
    finally:
        client.delete(key)
    assert differences(expected, got) == []
    assert expected["projection_state"][0][1] is not None


DISPATCHED_THEN_SUSPENDED = [   # the example: one batch lost the handling deadline
    (int(T0.timestamp() * 1000), {"event_id": "a1", "case_id": "DC20261102000001", "type": "reported",
                                  "at": T0.isoformat(), "actor": "i",
                                  "body": '{"category":"E0102","lon":116.4035,"lat":39.9135}'}),
    (int(T0.timestamp() * 1000) + 1, {"event_id": "a2", "case_id": "DC20261102000001", "type": "filed",
                                      "at": T0.isoformat(), "actor": "s", "body": "{}"}),
    (int(T0.timestamp() * 1000) + 2, {"event_id": "a3", "case_id": "DC20261102000001", "type": "dispatched",
                                      "at": T0.isoformat(), "actor": "o", "body": '{"department":"sanitation"}'}),
    (int(T0.timestamp() * 1000) + 3, {"event_id": "a4", "case_id": "DC20261102000001", "type": "suspended",
                                      "at": T0.isoformat(), "actor": "s", "body": '{"reason":"x"}'}),
]


REFUSED_THEN_ALLOWED = [   # re-delivered after a crash, the refused dispatch must not be re-judged
    DISPATCHED_THEN_SUSPENDED[0], (DISPATCHED_THEN_SUSPENDED[2][0] - 1, DISPATCHED_THEN_SUSPENDED[2][1]),
    (DISPATCHED_THEN_SUSPENDED[2][0], DISPATCHED_THEN_SUSPENDED[1][1]),
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow, HealthCheck.data_too_large])
@example(entries=DISPATCHED_THEN_SUSPENDED, plan=[(2, "ok")])
@example(entries=DISPATCHED_THEN_SUSPENDED, plan=[(3, "crash before ack"), (1, "ok")])
@example(entries=REFUSED_THEN_ALLOWED, plan=[(3, "crash before ack")])
@example(entries=REFUSED_THEN_ALLOWED, plan=[(3, "crash before ack, new consumer")])
@given(entries=streams(), plan=PLANS)
def test_tables_are_a_pure_function_of_the_stream(projection_db, scenario, client, entries, plan):
    check_stream(projection_db, scenario, client, entries, plan)


@settings(max_examples=200, deadline=None)
@given(fields=st.dictionaries(
    st.sampled_from(["event_id", "case_id", "type", "at", "actor", "body", "other"]),
    st.one_of(st.text(max_size=30), st.binary(max_size=30),
              st.sampled_from(["DC20261102000001", "reported", "filed", "2026-11-02T09:00:00+08:00",
                               '{"category":"E0102","lon":116.4,"lat":39.9}', '{"lon":1e400}', '{"a":"\\ud800"}',
                               '{"category":"E0102","lon":' + "9" * 400 + ',"lat":39.9}', "{}"])),
    min_size=4))
def test_a_stream_entry_is_an_event_or_an_invalid_event_nothing_else(fields):
    try:
        event = parse_entry(fields, (116.0, 39.0, 117.0, 40.0), T0)
    except InvalidEvent as exc:
        assert str(exc)
    else:
        event.to_fields()   # a valid event can be written back


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.datetimes(min_value=datetime(2024, 12, 20), max_value=datetime(2027, 1, 10),
                          timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=8)),
                                                     timezone(timedelta(hours=-5, minutes=-30))])),
       minutes=st.one_of(st.floats(0.01, 20 * 480), st.sampled_from([0.0, 1.0, 48.0, 60.0, 384.0, 480.0, 4800.0])))
def test_the_deadline_clock_agrees_with_the_working_calendar(scenario, start, minutes):
    """The worker's memoised clock is the calendar's arithmetic, instant for instant."""
    expected = scenario.calendar.add_working(start, minutes)
    got = WorkingClock(scenario.calendar).add(start, minutes)
    assert got == expected and got.utcoffset() == expected.utcoffset()
