"""Exact replay: batch sizes, rebuild, poisonous entries, dead letters, stream order, time.

Real Redis, SQLite and PostgreSQL (the ``system`` fixture runs each test on both).
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from datasource.store import schema
from datasource.follower.projector import Projector
from datasource.follower.rebuild import RebuildError, rebuild
from datasource.follower.worker import Worker, WorkerBlocked
from tests.helpers import count, dead_reasons
from tests.streams import POISONS, T0, _fields, clear_projection, differences, publish, snapshot, story_stream

MS0 = int(T0.timestamp() * 1000)


def _drain(system, batch_size: int, group: str, consumer: str = "w", **options):
    worker = Worker(system.stream, group, system.projector(), consumer=consumer, batch_size=batch_size, **options)
    return worker.drain()


def test_batch_sizes_and_rebuild_give_identical_tables(system):
    rng = random.Random(13)   # a story with a case suspended while dispatched (seed moved when issue 11 added event types)
    entries = story_stream(rng.choice, n_cases=50, n_entries=500)
    publish(system.redis, system.stream.key, entries)
    tables = []
    for size in (1, 7, 333, 2000):
        clear_projection(system.engine)
        stats = _drain(system, size, group=f"batch-{size}")
        tables.append(snapshot(system.engine))
    clear_projection(system.engine)
    figures = rebuild(system, system.engine)
    rebuilt = snapshot(system.engine)
    for table in tables:
        assert differences(rebuilt, table) == []
    assert figures["applied"] == stats.applied > 200 and figures["dead"] == stats.dead > 20
    cases = {row[0]: row for row in rebuilt["cases"]}
    assert len({row[1] for row in cases.values()}) >= 6      # the stories reach many stages
    # A case dispatched and then suspended keeps the deadline of its dispatch.
    names = [c.name for c in schema.cases.columns]
    suspended = [dict(zip(names, r)) for r in cases.values() if r[names.index("stage")] == "suspended"]
    assert any(r["suspended_from"] == "dispatched" and r["handle_deadline_at"] for r in suspended)


def test_rebuild_survives_every_poisonous_entry_like_the_worker(system, tmp_path):
    entries = [(MS0, _fields("r1", "DC20261102000001", "reported", T0,
                             '{"category":"E0102","lon":116.4035,"lat":39.9135}'))]
    for n, (name, make) in enumerate(sorted(POISONS.items())):
        entries.append((MS0 + n + 1, make(f"p{n}", "DC20261102000001", T0)))
    entries.append((MS0 + 100, _fields("f1", "DC20261102000001", "filed", T0 + timedelta(minutes=3), "{}")))
    publish(system.redis, system.stream.key, entries)
    stats = system.worker().drain()
    incremental = snapshot(system.engine)
    from datasource.store.database import make_engine
    target = make_engine(f"sqlite:///{tmp_path / 'rebuilt.db'}")
    figures = rebuild(system, target)
    assert figures["dead"] == stats.dead == len(POISONS) and figures["applied"] == stats.applied == 2
    assert differences(incremental, snapshot(target)) == []
    reasons = dead_reasons(target)
    assert not any(r.startswith("internal error") for r in reasons), reasons
    with pytest.raises(RebuildError):          # rebuild needs an empty target
        rebuild(system, target)


def test_an_unforeseen_failure_is_isolated_by_rebuild_too(system, tmp_path):
    """An entry that makes the projector fail in a way nobody foresaw is a dead letter
    in a rebuild exactly as in the worker; the rest is applied."""
    class Fragile(Projector):
        def _apply_fresh(self, connection, fresh, result):
            if any(fields.get(b"event_id") == b"ev00003" for _, _, fields in fresh):
                raise RuntimeError("boom")
            return super()._apply_fresh(connection, fresh, result)

    entries = story_stream(random.Random(3).choice, n_cases=4, n_entries=40)
    publish(system.redis, system.stream.key, entries)
    system.projector = lambda engine=None: Fragile(engine or system.engine, system.scenario, system.locator)
    stats = system.worker().drain()
    incremental = snapshot(system.engine)
    clear_projection(system.engine)
    rebuild(system, system.engine)
    assert differences(incremental, snapshot(system.engine)) == []
    assert "internal error: RuntimeError: boom" in dead_reasons(system.engine)
    assert stats.applied > 10


def test_dead_letters_once_per_entry_and_reused_event_ids(system):
    report = _fields("e1", "DC20261102000001", "reported", T0, '{"category":"E0102","lon":116.4035,"lat":39.9135}')
    entries = [(MS0, report), (MS0 + 1, dict(report, event_id="bad", type="closed")),
               (MS0 + 2, report),                                                   # a producer's retry
               (MS0 + 3, dict(report, actor="someone-else")),                       # same id, other content
               (MS0 + 4, _fields("e2", "DC20261102000001", "filed", T0, "{}"))]
    publish(system.redis, system.stream.key, entries)

    class DiesBeforeAck(Worker):
        def _acknowledge(self, ids):
            raise KeyboardInterrupt   # the process dies after the commit

    with pytest.raises(KeyboardInterrupt):
        DiesBeforeAck(system.stream, system.settings.group, system.projector(), consumer="w").drain()
    stats = Worker(system.stream, system.settings.group, system.projector(), consumer="w").drain()
    assert (stats.applied, stats.replayed, stats.dead) == (0, 5, 0)   # re-delivered, nothing re-judged
    with system.engine.connect() as c:
        rows = c.execute(select(schema.dead_letters.c.stream_id, schema.dead_letters.c.reason,
                                schema.dead_letters.c.recorded_at).order_by(schema.dead_letters.c.stream_id)).all()
    assert [r.stream_id for r in rows] == [f"{MS0 + 1}-0", f"{MS0 + 3}-0"]
    assert "not allowed" in rows[0].reason
    assert rows[1].reason == f"event_id e1 was already used by stream entry {MS0}-0 with different content"
    assert rows[0].recorded_at == datetime.fromtimestamp((MS0 + 1) / 1000, timezone.utc)  # the entry's time
    assert count(system.engine, schema.case_events) == 2
    with pytest.raises(IntegrityError):   # the database itself refuses a second row for an entry
        with system.engine.begin() as c:
            c.execute(schema.dead_letters.insert(), [{"stream_id": f"{MS0 + 1}-0", "reason": "x", "fields": "{}",
                                                      "recorded_at": T0}] * 2)


def test_validity_is_judged_on_the_entry_time_not_the_clock(system):
    """The clock of the machine is years after these entries; what counts is the stream id."""
    early = _fields("e1", "DC20261102000001", "reported", T0 + timedelta(minutes=30),
                    '{"category":"E0102","lon":116.4035,"lat":39.9135}')
    late = _fields("e2", "DC20261102000002", "reported", T0 + timedelta(hours=2),
                   '{"category":"E0102","lon":116.4035,"lat":39.9135}')
    publish(system.redis, system.stream.key, [(MS0, early), (MS0 + 1, late)])
    stats = system.worker().drain()
    assert stats.applied == 1
    assert dead_reasons(system.engine) == [f"time {late['at']} is absurd (before 2000 or in the future)"]


def test_a_consumer_never_overtakes_entries_another_one_holds(system):
    entries = story_stream(random.Random(5).choice, n_cases=5, n_entries=60)
    publish(system.redis, system.stream.key, entries)
    group = system.settings.group
    ghost = Worker(system.stream, group, system.projector(), consumer="ghost", batch_size=20)
    ghost.ensure_group()
    system.redis.xreadgroup(group, "ghost", {system.stream.key: ">"}, count=20)   # read, then died
    patient = Worker(system.stream, group, system.projector(), consumer="patient", batch_size=20)
    assert patient.step() == 0 and "pending with other consumers" in patient.blocked
    with pytest.raises(WorkerBlocked):
        patient.drain(patience_s=0)
    assert count(system.engine, schema.case_events) == 0
    # Two consumers holding consecutive batches: the later one must wait for the earlier.
    system.redis.xreadgroup(group, "second", {system.stream.key: ">"}, count=20)
    second = Worker(system.stream, group, system.projector(), consumer="second", batch_size=20)
    assert second.step() == 0 and "have not been processed" in second.blocked
    assert ghost.step() == 20                   # the first one comes back and does its part …
    assert second.step() == 20                  # … then the second may go on
    Worker(system.stream, group, system.projector(), consumer="third", claim_idle_ms=0).drain()
    incremental = snapshot(system.engine)
    clear_projection(system.engine)
    rebuild(system, system.engine)
    assert differences(incremental, snapshot(system.engine)) == []


def test_a_database_that_missed_entries_is_refused_by_the_worker(system):
    publish(system.redis, system.stream.key, story_stream(random.Random(2).choice, n_cases=2, n_entries=10))
    system.worker().drain()
    clear_projection(system.engine)             # as if the database had been replaced
    publish(system.redis, system.stream.key, [(int(datetime.now(timezone.utc).timestamp() * 1000), _fields(
        "late", "DC20261102000009", "reported", T0, '{"category":"E0102","lon":116.4035,"lat":39.9135}'))])
    with pytest.raises(WorkerBlocked, match="citygrid rebuild"):
        system.worker().drain()
    assert count(system.engine, schema.case_events) == 0


def test_the_migration_keeps_one_dead_letter_per_entry_and_sets_the_position(database_url, scenario):
    """A database of the first schema (duplicate dead letters, no stream position) upgrades
    in place: duplicates go, and the worker resumes after the last entry it processed."""
    from alembic import command
    from sqlalchemy import text

    from datasource.store.database import alembic_config, load_reference, make_engine, migrate
    engine = make_engine(database_url)
    command.upgrade(alembic_config(engine), "0001")
    load_reference(engine, scenario)
    with engine.begin() as c:
        c.execute(text("INSERT INTO case_events (event_id, stream_id, case_id, type, at, actor, body) VALUES "
                       "('e1', '1700000000000-9', 'DC20261102000001', 'reported', :at, 'a', '{}'), "
                       "('e2', '1700000000001-0', 'DC20261102000001', 'filed', :at, 'a', '{}')"), {"at": T0})
        for stream_id in ("1700000000000-10", "1700000000000-10", "1700000000000-5"):
            c.execute(text("INSERT INTO dead_letters (stream_id, reason, fields, recorded_at) "
                           "VALUES (:s, 'bad', '{}', :at)"), {"s": stream_id, "at": T0})
    migrate(engine)
    with engine.connect() as c:
        ids = sorted(c.execute(text("SELECT stream_id FROM dead_letters")).scalars())
    assert ids == ["1700000000000-10", "1700000000000-5"]
    assert Projector(engine, scenario).position() == "1700000000001-0"
    engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_outages_are_retried_never_dead_lettered(system):
    """A driver error from the database (the writers talk to the driver directly) and a
    Redis error during the order check are outages: the batch waits, no entry is blamed."""
    import redis
    entries = story_stream(random.Random(4).choice, n_cases=3, n_entries=30)
    publish(system.redis, system.stream.key, entries)
    dbapi = system.engine.dialect.loaded_dbapi
    projector = system.projector()
    write, failures = projector.writer.write, []

    def flaky_write(connection, changes):
        if len(failures) < 2:   # twice: a poison would now be blamed on a single entry
            failures.append("db")
            raise dbapi.OperationalError("server closed the connection unexpectedly")
        write(connection, changes)

    projector.writer.write = flaky_write
    worker = Worker(system.stream, system.settings.group, projector, consumer="w")
    gap, calls = worker.gap, []

    def flaky_gap(after, before):
        calls.append(1)
        if len(calls) == 1:
            raise redis.ConnectionError("Redis went away")
        return gap(after, before)

    worker.gap = flaky_gap
    worker.ensure_group()
    with pytest.raises(redis.ConnectionError):
        worker.step()
    stats = worker.drain()                  # the database error is retried inside (1 s, then 2 s)
    assert failures == ["db", "db"] and stats.applied > 5
    reasons = dead_reasons(system.engine)
    assert not any("internal error" in r for r in reasons), reasons
    incremental = snapshot(system.engine)
    clear_projection(system.engine)
    rebuild(system, system.engine)
    assert differences(incremental, snapshot(system.engine)) == []
