"""Outages (issue 15's drills, in small): Redis unreachable and Redis restarted without its data.

Story 1 — Redis goes away under a running app: a command through the API gets a 503 with a
sentence in the caller's language (not a 500), reading a case too; health says stale.
Story 2 — Redis loses the stream (a restart without persistence, here: the keys deleted) while
the reporting database has processed it: commands are refused with a 503 that says so, the
worker waits (``--drain`` ends with the reason), health says stale and why; nothing is written.
"""
from __future__ import annotations

import pytest

from bench.drills._servers import private_redis
from dashboard.settings import Settings
from datasource.follower.worker import WorkerBlocked
from datasource.services import accounts
from datasource.services.command_types import Actor, CommandRefused
from datasource.services.commands import CommandService
from datasource.services.health import Health
from datasource.store.stream_loss import stream_lost, watched
from datasource.system import System
from datasource.store import schema
from tests.helpers import LAT, LON, count

REPORT = {"category": "E0102", "lon": LON, "lat": LAT, "description": "停电演练"}


def test_redis_unreachable_is_a_503_with_a_sentence_not_a_500(tmp_path):
    from dashboard.web.factory import create_app, start
    with private_redis(appendonly=False) as server:
        settings = Settings(data_dir=tmp_path, redis_url=server.url, database_url=f"sqlite:///{tmp_path / 'o.db'}",
                            components_autoload=False)
        system = System(settings).start()
        accounts.add_user(system.engine, "sup", "supervision")
        auth = {"Authorization": f"Bearer {accounts.create_token(system.engine, 'sup')}"}
        client = start(create_app(settings, system)).server.test_client()
        made = client.post("/api/v1/cases", json=REPORT, headers=auth)
        assert made.status_code == 201
        server.kill()
        # Step 1: a command — 503, Retry-After, the sentence in the caller's language.
        answer = client.post("/api/v1/cases", json=REPORT, headers={**auth, "Accept-Language": "zh"})
        assert answer.status_code == 503 and answer.headers["Retry-After"]
        assert answer.get_json()["message"].startswith("事件库（Redis）暂时无法连接")
        # Step 2: reading a case (the command side's stage comes from Redis) — 503 too, in English.
        read = client.get(f"/api/v1/cases/{made.get_json()['case_id']}", headers={**auth, "Accept-Language": "en"})
        assert read.status_code == 503 and "Redis" in read.get_json()["message"]
        # Step 3: health says so.
        health = client.get("/api/v1/health")
        assert health.status_code == 503 and health.get_json()["stale"] is True
        system.close()


def test_a_lost_stream_refuses_commands_stops_the_worker_and_says_stale(system):
    commands = CommandService(system)
    actor = Actor("sup", "supervision")
    case = commands.report(actor, REPORT["category"], LON, LAT, "before the loss").case_id
    system.worker().drain()
    assert stream_lost(system.redis, watched(system.stream), system.engine) is None
    events = count(system.engine, schema.case_events)
    # Redis comes back without its data: the stream, the case states and the counters are gone.
    for key in system.redis.scan_iter(match=system.settings.stream + "*"):
        system.redis.delete(key)
    why = stream_lost(system.redis, watched(system.stream), system.engine)
    assert why and "lost the event stream" in why
    with pytest.raises(CommandRefused) as refused:
        commands.report(actor, REPORT["category"], LON, LAT, "after the loss")
    assert refused.value.status == 503 and "restored with its data" in refused.value.message("en")
    with pytest.raises(CommandRefused):
        commands.execute(actor, "file", case, {})
    # A producer that goes around the commands (the simulator, another system) appends anyway:
    # the worker does not apply it, it waits and says why.
    system.stream.append_raw({"event_id": "x", "case_id": case, "type": "filed", "at": "2026-11-18T10:00:00+08:00",
                              "actor": "someone", "body": "{}", "v": "1"})
    with pytest.raises(WorkerBlocked, match="lost the event stream"):
        system.worker().drain()
    assert count(system.engine, schema.case_events) == events
    report = Health(system).report()
    assert report["ok"] is False and report["stale"] is True and "lost" in report["stream_lost"]


def test_a_lost_partition_is_a_lost_stream(settings, clock):
    """With partitions each keeps its own position; losing any one of them counts (commands
    refused, the worker waits) — the rule asks every partition, not the single stream's row."""
    system = System(settings.with_(stream_partitions=3), clock=clock).start()
    try:
        commands = CommandService(system)
        actor = Actor("sup", "supervision")
        cases = [commands.report(actor, REPORT["category"], LON, LAT, f"分区 {i}").case_id for i in range(12)]
        system.worker().drain()
        assert stream_lost(system.redis, watched(system.stream), system.engine) is None
        parts = system.stream.partitions()
        assert len(parts) == 3
        lost = system.stream.part(cases[0])
        assert any(system.stream.part(c) is not lost for c in cases)   # the others stay whole
        system.redis.delete(lost.key)
        why = stream_lost(system.redis, watched(system.stream), system.engine)
        assert why and "lost the event stream" in why
        with pytest.raises(CommandRefused) as refused:
            commands.report(actor, REPORT["category"], LON, LAT, "after the loss")
        assert refused.value.status == 503
    finally:
        system.close()
