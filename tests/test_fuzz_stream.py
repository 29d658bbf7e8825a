"""Hypothesis fuzzing of stream entries into the worker and the rebuild (issue 12, item 8).

Random case stories (:func:`tests.streams.streams`) are interleaved with hostile entries drawn
by Hypothesis — ``NaN``/``Infinity``/``1e400`` and 400-digit numbers, lone surrogates, NUL and
control characters, markup, huge or deeply nested bodies, wrong types, the known poisons — and
drained through the real worker on a real Redis consumer group, on SQLite and PostgreSQL.
Every example must satisfy:

- every entry is either applied (its event in ``case_events``) or a dead letter with a reason
  — none lost, none both; every hostile entry that :func:`parse_entry` refuses is a dead letter;
- the live tables equal a one-shot replay of the same stream (what ``citygrid rebuild`` does);
- what was stored can be answered: every stored body is strict JSON (no NaN) and every stored
  text is storable, so ``GET /api/v1/cases/{id}`` can always answer valid JSON.
"""
from __future__ import annotations

import json
import uuid

import pytest
import redis
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from dashboard.domain.events import InvalidEvent, parse_entry, stream_time
from dashboard.domain.inputs import storable_problem
from datasource.follower.locator import GridLocator
from datasource.follower.projector import Projector
from datasource.follower.worker import Worker
from datasource.redis.stream import EventStream
from datasource.store import schema
from datasource.store.database import make_engine, prepare
from tests.conftest import create_pg_database, drop_pg_database
from tests.streams import T0, clear_projection, differences, hostile_entries, publish, snapshot, streams


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def projection_db(request, tmp_path_factory, scenario):
    """(engine, locator) for one database, prepared once for the whole module."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'citygrid.db'}"
    else:
        server = request.getfixturevalue("pg_server_url")
        url = create_pg_database(server)
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


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _merged(story: list, hostile: list) -> list:
    return sorted(story + hostile, key=lambda item: item[0])


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(story=streams(max_cases=3, max_entries=20), data=st.data())
def test_hostile_entries_are_dead_letters_good_ones_apply_and_rebuild_equals_live(
        projection_db, scenario, client, story, data):
    engine, locator = projection_db
    start_ms = int(T0.timestamp() * 1000)
    hostile = data.draw(hostile_entries(start_ms))
    entries = _merged(story, hostile)
    key = f"test:fuzz:{uuid.uuid4().hex[:10]}"
    try:
        ids = publish(client, key, entries)
        clear_projection(engine)
        worker = Worker(EventStream(client, key), "fuzz", Projector(engine, scenario, locator), consumer="f",
                        batch_size=data.draw(st.sampled_from([1, 5, 500])))
        worker.drain()
        live = snapshot(engine)
        with engine.connect() as c:
            applied_events = dict(c.execute(select(schema.case_events.c.stream_id, schema.case_events.c.event_id)).all())
            applied = set(applied_events)
            dead = dict(c.execute(select(schema.dead_letters.c.stream_id, schema.dead_letters.c.reason)).all())
            bodies = list(c.execute(select(schema.case_events.c.body, schema.case_events.c.actor)).all())
            texts = list(c.execute(select(schema.cases.c.description)).scalars())
        clear_projection(engine)
        Projector(engine, scenario, locator).apply_isolating(client.xrange(key))   # what rebuild does
        rebuilt = snapshot(engine)
    finally:
        client.delete(key)
    assert differences(live, rebuilt) == []
    # every entry applied or dead with a reason; never both, never neither
    assert applied.isdisjoint(dead)
    # … or a re-delivery of an event already applied (the same event id: idempotent, done once)
    done = set(applied_events.values())
    redelivered = {i for i, (_, f) in zip(ids, entries) if i not in applied and i not in dead
                   and _text(f.get("event_id")) in done}
    assert set(ids) == applied | set(dead) | redelivered, set(ids) - applied - set(dead) - redelivered
    assert all(reason for reason in dead.values())
    bbox = locator.bbox
    for entry_id, (ms, fields) in zip(ids, entries):
        if (ms, fields) in hostile:
            try:
                parse_entry({k: v for k, v in fields.items() if v is not None}, bbox, stream_time(entry_id))
            except InvalidEvent:
                assert entry_id in dead, (fields, entry_id)
    # what was stored can always be answered as strict JSON
    for body, actor in bodies:
        json.loads(body, parse_constant=lambda name: pytest.fail(f"{name} stored in a body: {body[:200]}"))
        assert storable_problem(body) is None and storable_problem(actor) is None
    assert all(storable_problem(text or "") is None for text in texts)
