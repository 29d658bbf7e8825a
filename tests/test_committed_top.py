"""The roll-ups' high-water marks never pass an event that is not committed yet
(:mod:`datasource.store.committed`): with several workers on one PostgreSQL, a transaction
holding lower ids can commit after one holding higher ids.  Real PostgreSQL, two open
transactions and a reader in a thread."""
from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import insert, text

from datasource.store import schema
from datasource.store.committed import committed_top, writing
from datasource.store.database import make_engine, migrate
from tests.helpers import TEST_NOW, wait_until


@pytest.fixture
def engine(pg_database_url):
    engine = make_engine(pg_database_url)
    migrate(engine)
    yield engine
    engine.dispose()


def add_event(connection, n: int) -> int:
    row = {"event_id": f"ev-{n}", "stream_id": f"{n}-0", "case_id": f"DC20261101{n:06d}", "type": "reported",
           "at": TEST_NOW, "actor": "tester", "body": json.dumps({"n": n})}
    return connection.execute(insert(schema.case_events).values(row).returning(schema.case_events.c.id)).scalar()


def test_the_committed_top_waits_for_a_writer_that_holds_lower_ids(engine):
    slow = engine.connect()
    slow_tx = slow.begin()
    writing(slow)
    low = add_event(slow, 1)                       # worker A: ids taken, not committed
    with engine.begin() as fast:                   # worker B: a higher id, committed first
        writing(fast)
        high = add_event(fast, 2)
    assert high > low

    got = []
    reader = threading.Thread(target=lambda: got.append(committed_top(engine)), daemon=True)
    reader.start()
    with engine.connect() as look:                 # the reader waits on the writers' lock, it has not answered
        wait_until(lambda: look.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"
        )).scalar() == 1, message="the reader waiting for the open writer")
    assert got == [] and reader.is_alive()

    slow_tx.commit()                               # A commits: now every id up to the top is there
    slow.close()
    reader.join(30)
    assert got == [high]
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM case_events WHERE id <= :top"), {"top": got[0]}).scalar() == 2


def test_the_committed_top_of_an_idle_database_is_its_newest_id(engine):
    assert committed_top(engine) == 0
    with engine.begin() as c:
        writing(c)
        newest = max(add_event(c, n) for n in range(3, 6))
    assert committed_top(engine) == newest
