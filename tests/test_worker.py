"""The worker against a real Redis and both databases (SQLite and PostgreSQL)."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from datasource.follower.rebuild import rebuild
from datasource.redis.stream import stamped
from datasource.store import schema
from datasource.store.database import make_engine
from tests.helpers import CST, case_ids, cases_table, count, dead_reasons, loop_events, publish, wait_until
from tests.streams import differences, snapshot, story_stream
from tests.streams import publish as stream_publish

START = datetime(2026, 11, 2, 9, 0, tzinfo=CST)


def test_full_loop_projects_cases_and_live_counts(system):
    events = [e for i, cid in enumerate(case_ids(30)) for e in loop_events(cid, START + timedelta(hours=i), stages=1 + i % 6)]
    publish(system.stream, events)
    stats = system.worker().drain()
    assert stats.applied == len(events) and stats.dead == 0
    rows = cases_table(system.engine)
    assert len(rows) == 30
    assert {r["stage"] for r in rows} == {"reported", "filed", "dispatched", "handled", "verified", "closed"}
    with system.engine.connect() as c:
        counts = dict(c.execute(select(schema.live_counts.c.stage, schema.live_counts.c.n)
                                .where(schema.live_counts.c.scope == "all")).all())
        by_stage = dict(c.execute(select(schema.cases.c.stage, func.count()).group_by(schema.cases.c.stage)).all())
    assert {k: v for k, v in counts.items() if v} == by_stage
    assert rows[0]["grid_code"].startswith("110101") and len(rows[0]["grid_code"]) == 15


def test_idempotent_when_the_same_events_arrive_twice(system):
    events = [e for cid in case_ids(20) for e in loop_events(cid, START)]
    publish(system.stream, events)
    system.worker().drain()
    before = cases_table(system.engine)
    publish(system.stream, events)          # a producer retried everything
    stats = system.worker().drain()
    assert stats.duplicates == len(events) and stats.applied == 0
    assert cases_table(system.engine) == before
    assert count(system.engine, schema.case_events) == len(events)
    assert dead_reasons(system.engine) == []


def test_rebuild_equals_incremental(system, tmp_path):
    events = [e for i, cid in enumerate(case_ids(60)) for e in loop_events(cid, START + timedelta(minutes=i), stages=1 + i % 6)]
    for chunk in range(0, len(events), 37):  # incremental: many small batches
        publish(system.stream, events[chunk:chunk + 37])
        system.worker(batch_size=13).drain()
    target = make_engine(f"sqlite:///{tmp_path / 'rebuilt.db'}")
    figures = rebuild(system, target)
    assert figures["applied"] == len(events)
    assert cases_table(target) == cases_table(system.engine)


def test_malformed_entries_are_dead_lettered_and_valid_ones_applied(system):
    good = [e for cid in case_ids(50) for e in loop_events(cid, START)]
    bad_entries = []
    base = loop_events("DC20261101999999", START)[0].to_fields()
    for i in range(300):
        fields = dict(base, event_id=f"bad-{i}")
        kind = i % 12
        if kind == 0:
            del fields["case_id"]
        elif kind == 1:
            fields["at"] = "yesterday"
        elif kind == 2:
            fields["at"] = "1970-01-01T00:00:00+00:00"
        elif kind == 3:
            fields["body"] = "{not json"
        elif kind == 4:
            fields["body"] = json.dumps({"category": "E0102", "lon": 2.35, "lat": 48.85})  # Paris
        elif kind == 5:
            fields["type"] = "teleported"
        elif kind == 6:
            fields["body"] = b"\xff\xfe\xfd"
        elif kind == 7:
            fields.update(type="dispatched", case_id=f"DC20261101{800000 + i:06d}", body='{"department":"sanitation"}')
        elif kind == 8:
            fields.update(type="closed", case_id="DC20261101000001")   # closing a case in stage reported
        elif kind == 9:
            fields["body"] = json.dumps({"category": "X9999", "lon": 116.40, "lat": 39.91})
        elif kind == 10:
            fields["case_id"] = "not-a-case"
        else:
            # the real clock on purpose: the worker judges "the future" by the stream entry id
            fields["at"] = (datetime.now(timezone.utc) + timedelta(days=3)).isoformat()
        bad_entries.append(fields)
    # Interleave: good events keep their order, bad ones in between.
    pipe = system.stream.client.pipeline(transaction=False)
    bad_iter = iter(bad_entries)
    for e in good:
        pipe.xadd(system.stream.key, stamped(e.to_fields()))
        for _ in range(1):
            b = next(bad_iter, None)
            if b is not None:
                pipe.xadd(system.stream.key, stamped(b))
    for b in bad_iter:
        pipe.xadd(system.stream.key, stamped(b))
    pipe.execute()
    stats = system.worker().drain()
    assert stats.applied == len(good)
    reasons = dead_reasons(system.engine)
    assert len(reasons) == 300 and all(reasons)
    for fragment in ("missing field 'case_id'", "not ISO 8601", "absurd", "not valid JSON", "outside the district",
                     "unknown event type", "UTF-8", "does not exist", "not allowed", "unknown category"):
        assert any(fragment in r for r in reasons), fragment
    assert {r["stage"] for r in cases_table(system.engine)} == {"closed"}
    pending = system.stream.client.xpending(system.stream.key, system.settings.group)
    assert pending["pending"] == 0   # everything acknowledged, nothing stuck


def _worker_env(system) -> dict:
    env = dict(os.environ)
    env.update(CITYGRID_REDIS_URL=system.redis_url, CITYGRID_DATABASE_URL=system.settings.effective_database_url,
               CITYGRID_STREAM=system.settings.stream, CITYGRID_DATA_DIR=str(system.settings.data_dir),
               CITYGRID_CONSUMER="crashy")
    return env


def _position(engine) -> str | None:
    with engine.connect() as c:
        return c.execute(select(schema.projection_state.c.last_stream_id)).scalar()


def _wait(condition, process, what: str, timeout: float = 60) -> None:
    """Poll ``condition`` until true; fail if the worker died or nothing happened in time."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, what
        time.sleep(0.002)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_twenty_sigkills_during_a_drain_leave_the_tables_of_a_clean_rebuild(system, tmp_path):
    """A real ``citygrid worker`` subprocess is killed with SIGKILL twenty times at random
    points — while starting, inside a transaction, between commit and XACK, between
    batches — and restarted (same consumer, random batch size); then it drains the rest.
    The tables equal a clean ``citygrid rebuild`` of the stream, column for column."""
    rng = random.Random(20)
    entries = story_stream(rng.choice, n_cases=400, n_entries=6000)
    stream_publish(system.redis, system.stream.key, entries)
    last_id = system.redis.xrevrange(system.stream.key, count=1)[0][0].decode()
    env = _worker_env(system)
    for kill in range(20):
        before = _position(system.engine)
        process = subprocess.Popen([sys.executable, "-m", "dashboard.cli.commands", "worker", "--batch-size",
                                    str(rng.choice([1, 7, 50, 333]))], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if kill % 4 == 3:   # somewhere in start-up or in the first batch
            time.sleep(rng.uniform(0.1, 1.0))
        else:               # after a commit, at a random point of the cycle
            _wait(lambda: _position(system.engine) != before, process, f"no progress before kill {kill}")
            time.sleep(rng.uniform(0, 0.03))
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    assert _position(system.engine) != last_id, "the stream was drained before the last kill"
    result = subprocess.run([sys.executable, "-m", "dashboard.cli.commands", "worker", "--drain"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert _position(system.engine) == last_id
    assert system.stream.client.xpending(system.stream.key, system.settings.group)["pending"] == 0
    target = f"sqlite:///{tmp_path / 'rebuilt.db'}"
    result = subprocess.run([sys.executable, "-m", "dashboard.cli.commands", "rebuild", "--database-url", target],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    rebuilt = make_engine(target)
    assert differences(snapshot(rebuilt), snapshot(system.engine)) == []
    assert count(rebuilt, schema.case_events) > 1500 and count(rebuilt, schema.dead_letters) > 300


def test_another_consumer_reclaims_pending_entries_of_a_dead_one(system):
    events = [e for cid in case_ids(10) for e in loop_events(cid, START)]
    publish(system.stream, events)
    dead = system.worker(consumer="dead-one")
    dead.ensure_group()
    # The dead consumer read everything and then vanished without acknowledging.
    system.stream.client.xreadgroup(system.settings.group, "dead-one", {system.stream.key: ">"}, count=1000)
    survivor = system.worker(consumer="survivor", claim_idle_ms=0)
    stats = survivor.drain()
    assert stats.applied == len(events)
    assert system.stream.client.xpending(system.stream.key, system.settings.group)["pending"] == 0


def test_a_poisonous_entry_is_isolated_and_the_rest_applied(system):
    """An entry that makes the projector fail unexpectedly is dead-lettered alone."""
    from datasource.follower.projector import Projector
    from datasource.follower.worker import Worker

    class Fragile(Projector):
        def apply(self, entries, check_gap=None):
            if any(b"poison" in fields.get(b"event_id", b"") for _, fields in entries):
                raise RuntimeError("boom")
            return super().apply(entries, check_gap)

    events = [e for cid in case_ids(5) for e in loop_events(cid, START)]
    publish(system.stream, events[:10])
    system.stream.client.xadd(system.stream.key, stamped(dict(events[10].to_fields(), event_id="poison-1")))
    publish(system.stream, events[10:])
    worker = Worker(system.stream, system.settings.group, Fragile(system.engine, system.scenario, system.locator))
    stats = worker.drain()
    assert stats.applied == len(events) and stats.dead == 1
    assert dead_reasons(system.engine) == ["internal error: RuntimeError: boom"]
