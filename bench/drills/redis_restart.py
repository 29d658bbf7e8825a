"""Drill: restart a standalone Redis under load, with persistence (an append-only file) and
without → the pages say stale, the product recovers or refuses clearly, nothing is written
twice.

A private Redis, a real ``citygrid worker`` subprocess, traffic through the checked append
and the web app in-process (its health API, its wall snapshot and its command API through
Flask's test client).  Redis is killed (SIGKILL: a crash) under load and started again on the
same port and folder — first with its append-only file, then, told ``CONFIG SET appendonly
no``, without.

* **with AOF** (``appendonly yes``, ``appendfsync always``): while Redis is down the health
  API answers 503 with ``stale``, the wall's snapshot says stale, a command gets a 503 with a
  sentence; after the restart the stream is back whole, the producer and the worker go on,
  every event is in the database exactly once (no event id twice in the stream or the
  tables) and the tables equal a clean rebuild.
* **without persistence**: the restart comes back empty — the stream, the case states and the
  case-number counters are gone.  The product notices (the database has processed entries
  Redis no longer holds): the health API and the wall say stale and why, every command gets a
  503 saying Redis must be restored with its data, the worker keeps running but waits, and
  nothing is written to the database — no report is given the number of an existing case.
"""
from __future__ import annotations

import random
import shutil
import time
from pathlib import Path

from bench.drills import _kit
from bench.drills._servers import private_redis

TITLE = "restart Redis with and without persistence under load → pages show stale, recover, nothing written twice"
NEEDS = ("redis-server",)
RATE, OUTAGE_S, CALM_S = 200.0, 10.0, 5.0
REPORT = {"category": "E0102", "lon": 116.4035, "lat": 39.9135, "description": "Redis 演练"}


class Door:
    """The web app in-process: health, the wall's snapshot, the command API."""

    def __init__(self, settings, token: str):
        from dashboard.web.factory import create_app, start
        self.app = start(create_app(settings))
        self.client = self.app.server.test_client()
        self.services = self.app.server.extensions["citygrid.services"]
        self.auth = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}

    def health(self) -> tuple[int, dict]:
        answer = self.client.get("/api/v1/health")
        return answer.status_code, answer.get_json()

    def wall_stale(self) -> bool:
        """The wall's freshness flag, as its page shows it (the snapshot's header h[3])."""
        self.services.live.refresh()
        return bool(self.services.live.payload()["h"][3])

    def report(self) -> tuple[int, dict]:
        answer = self.client.post("/api/v1/cases", json=REPORT, headers=self.auth)
        return answer.status_code, answer.get_json()


def _stream_event_ids(system) -> list[str]:
    ids = []
    for batch in system.stream.read_all():
        ids.extend(f.get(b"event_id", b"").decode() for _, f in batch)
    return ids


def run(say, scale: float = 1.0) -> None:
    from datasource.services import accounts
    rng = random.Random(6379)
    folder = _kit.temp_folder("redis")
    try:
        with private_redis(appendonly=True) as server:
            settings = _kit.settings_for(folder, server.url)
            system = _kit.System(settings).start()
            accounts.add_user(system.engine, "drill", "supervision")
            door = Door(settings, accounts.create_token(system.engine, "drill"))
            worker = _kit.WorkerProcess(settings, "restarts", folder).start()
            made = _kit.history(system, int(RATE * (5 * _kit.scaled(CALM_S, scale, 2.0) + 60
                                                    + _kit.scaled(OUTAGE_S, scale, 3.0))))
            sent = with_aof(say, scale, rng, server, settings, system, door, worker, made)
            without_persistence(say, scale, rng, server, system, door, worker, made, sent)
            worker.stop()
            system.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def with_aof(say, scale, rng, server, settings, system, door, worker, made) -> int:
    """The round with an append-only file; the events of ``made`` it appended."""
    outage, calm = _kit.scaled(OUTAGE_S, scale, 3.0), _kit.scaled(CALM_S, scale, 2.0)
    say(f"with AOF: private Redis on port {server.port} (appendonly yes, appendfsync always), "
        f"web app in-process, worker subprocess")
    _kit.wait_for(lambda: _kit.beating(system), 60, "the worker's first heartbeat")
    traffic = _kit.Traffic(system, made, rate=RATE).start()
    traffic.done.wait(calm * rng.uniform(0.8, 1.2))
    server.kill()
    say(f"killed Redis (SIGKILL) with {traffic.acknowledged:,} events acknowledged to the producer")
    status, report = door.health()
    if status != 503 or not report["stale"] or report["redis"]["ok"]:
        raise AssertionError(f"health while Redis is down: {status} stale={report.get('stale')}")
    if not door.wall_stale():
        raise AssertionError("the wall does not say stale while Redis is down")
    say("check: health API 503 with stale=true, the wall's snapshot says stale — OK")
    status, answer = door.report()
    if status != 503 or "Redis" not in answer.get("message", ""):
        raise AssertionError(f"a command while Redis is down: {status} {answer}")
    say(f"check: a command gets {status}: “{answer['message']}” — OK")
    time.sleep(outage)   # the outage itself: nothing to wait for but time
    if not worker.alive:
        raise AssertionError(f"the worker died while Redis was down: {worker.tail()}")
    server.start()
    say(f"started Redis again after {outage:.0f} s (same port, same append-only file); "
        f"stream holds {system.stream.length():,} entries")
    if system.stream.length() < traffic.acknowledged:
        raise AssertionError(f"the stream lost acknowledged events: {system.stream.length():,} < "
                             f"{traffic.acknowledged:,}")
    say("check: every event acknowledged before the crash is still in the stream — OK")
    traffic.done.wait(calm)
    traffic.stop()
    _kit.wait_caught_up(system, 120, [worker])
    status, report = door.health()
    if status != 200 or report["stale"] or door.wall_stale():
        raise AssertionError(f"health after recovery: {status} stale={report.get('stale')}")
    status, answer = door.report()
    if status != 201:
        raise AssertionError(f"a command after recovery: {status} {answer}")
    say(f"check: recovered — health 200, not stale, the wall live, a report accepted ({answer['case_id']}) — OK")
    _kit.wait_caught_up(system, 60, [worker])
    ids = _stream_event_ids(system)
    if len(ids) != len(set(ids)):
        raise AssertionError(f"{len(ids) - len(set(ids))} event ids appear twice in the stream")
    stored, distinct, dead = _kit.event_counts(system.engine)
    if stored != distinct or stored + dead != len(ids):
        raise AssertionError(f"{stored:,} events stored ({distinct:,} distinct) + {dead} dead ≠ "
                             f"{len(ids):,} stream entries")
    say(f"check: nothing written twice — {len(ids):,} entries, no event id twice, each stored once "
        f"({traffic.failures} producer retries during the outage, {traffic.refused} chunks refused "
        f"as already appended) — OK")
    clean = f"sqlite:///{Path(settings.data_dir) / 'clean.db'}"
    _kit.rebuild_in_process(system, clean)
    _kit.check_equals_rebuild(say, settings.effective_database_url, clean)
    return traffic.appended


def without_persistence(say, scale, rng, server, system, door, worker, made, sent: int) -> None:
    """The round without persistence, going on with ``made`` after its first ``sent`` events."""
    calm = _kit.scaled(CALM_S, scale, 2.0)
    system.redis.config_set("appendonly", "no")
    server.appendonly = False
    say("without persistence: the same Redis told `CONFIG SET appendonly no`; it will restart without its file")
    traffic = _kit.Traffic(system, made, rate=RATE, start=sent).start()
    traffic.done.wait(calm * rng.uniform(0.8, 1.2))
    _kit.wait_for(lambda: _kit.lag(system) < RATE, 30, "the worker to keep up")
    server.kill()
    before = _kit.event_counts(system.engine)
    say(f"killed Redis (SIGKILL) with {traffic.acknowledged:,} events acknowledged, {before[0]:,} stored")
    server.start()
    say(f"started Redis again: it came back empty (stream length {system.stream.length()})")

    def refused():
        status, answer = door.report()
        return (status, answer) if status == 503 and "lost" in answer.get("message", "") else None
    status, answer = _kit.wait_for(refused, 15, "commands to be refused")
    say(f"check: a command gets {status}: “{answer['message']}” — OK")
    status, report = door.health()
    if status != 503 or not report["stale"] or "lost" not in report.get("stream_lost", ""):
        raise AssertionError(f"health after an empty restart: {status} {report}")
    if not door.wall_stale():
        raise AssertionError("the wall does not say stale after an empty restart")
    say("check: health API 503, stale=true, stream_lost says why; the wall's snapshot says stale — OK")
    traffic.done.wait(calm)
    traffic.stop()
    say(f"the producer went on: {traffic.refused} chunks refused by the checked append (the case states "
        f"are gone), {system.stream.length():,} new entries in the stream")
    time.sleep(2.0)   # give a worker that would wrongly go on the time to write
    if not worker.alive:
        raise AssertionError(f"the worker died after the empty restart: {worker.tail()}")
    after = _kit.event_counts(system.engine)
    if before[2]:
        raise AssertionError(f"{before[2]} dead letters before the empty restart")
    if after != before:
        raise AssertionError(f"the database changed after the empty restart: {before} → {after}")
    if "lost the event stream" not in worker.tail(20):
        raise AssertionError(f"the worker does not say why it waits: {worker.tail()}")
    say("check: the worker runs and waits (its log says why); the database is untouched — "
        f"{after[0]:,} events, no dead letter: nothing written twice, no case number reused — OK")
