"""Drill: stop PostgreSQL for 30 s under load → the workers wait and resume, nothing lost.

A private PostgreSQL cluster (``initdb`` as the postgres user, a free loopback port — never
the shared server) holds the reporting database; a real ``citygrid worker`` subprocess
projects traffic that keeps flowing into Redis.  PostgreSQL is stopped (``pg_ctl stop -m
fast``: every connection is cut) for 30 s and started again.  Checks: while it is down the
health report says the database is down and the data stale, and the worker keeps running;
after, the worker resumes by itself, the lag drains, every event is stored exactly once and
the tables equal a clean rebuild into another database of the same cluster.
"""
from __future__ import annotations

import shutil
import time

from sqlalchemy import text

from bench.drills import _kit
from bench.drills._servers import private_postgres, private_redis
from datasource.services.health import Health
from datasource.store.database import make_engine

TITLE = "stop PostgreSQL for 30 s under load → workers wait and resume, nothing lost"
NEEDS = ("redis-server", "initdb", "pg_ctl")
RATE, OUTAGE_S, CALM_S = 200.0, 30.0, 5.0


def run(say, scale: float = 1.0) -> None:
    outage, calm = _kit.scaled(OUTAGE_S, scale, 6.0), _kit.scaled(CALM_S, scale, 2.0)
    events = int(RATE * (2 * calm + outage + 60))
    folder = _kit.temp_folder("pgstop")
    try:
        with private_redis(appendonly=False) as server, private_postgres() as cluster:
            say(f"private PostgreSQL on port {cluster.port} ({cluster.data}), private Redis on port {server.port}")
            settings = _kit.settings_for(folder, server.url, database_url=cluster.url)
            system = _kit.System(settings).start()
            made = _kit.history(system, events)
            worker = _kit.WorkerProcess(settings, "pg", folder).start()
            _kit.wait_for(lambda: _kit.beating(system), 60, "the worker's first heartbeat")
            traffic = _kit.Traffic(system, made, rate=RATE).start()
            traffic.done.wait(calm)
            say(f"traffic at {RATE:.0f} events/s; lag {_kit.lag(system):,} before the outage")
            cluster.stop("fast")
            down_at = time.monotonic()
            say(f"stopped PostgreSQL (pg_ctl stop -m fast) with {traffic.appended:,} events appended")
            health = Health(system)
            report = _kit.wait_for(lambda: (lambda r: r if not r["database"]["ok"] else None)(health.report()), 15,
                                   "the health report to see the database down")
            if not report["stale"] or report["ok"]:
                raise AssertionError(f"health while PostgreSQL is down: ok={report['ok']} stale={report['stale']}")
            say(f"check: health says database down, ok=false, stale=true ({report['database']['error'][:70]}…) — OK")
            while time.monotonic() - down_at < outage:
                if not worker.alive:
                    raise AssertionError(f"the worker died while PostgreSQL was down: {worker.tail()}")
                time.sleep(0.25)
            peak = _kit.lag(system)
            say(f"check: the worker kept running through {outage:.0f} s without PostgreSQL; lag grew to {peak:,} — OK")
            cluster.start()
            up_at = time.monotonic()
            say("started PostgreSQL again")
            resumed = _kit.wait_for(lambda: _kit.lag(system) < peak and time.monotonic(), 60,
                                    "the worker to resume")
            say(f"check: the worker resumed by itself {resumed - up_at:.1f} s after PostgreSQL came back — OK")
            traffic.stop()
            waited = _kit.wait_caught_up(system, 120, [worker])
            say(f"check: lag 0 {time.monotonic() - up_at:.1f} s after the restart (caught up in {waited:.1f} s) — OK")
            report = health.report()
            if not report["ok"] or report["stale"]:
                raise AssertionError(f"health after recovery: ok={report['ok']} stale={report['stale']}")
            say("check: health ok, not stale — OK")
            if worker.stop():
                raise AssertionError(f"the worker exited with an error: {worker.tail()}")
            system.engine.dispose()
            stored, distinct, dead = _kit.event_counts(system.engine)
            if stored != distinct or stored != traffic.acknowledged or dead:
                raise AssertionError(f"{stored:,} events stored ({distinct:,} distinct), {dead} dead letters, "
                                     f"{traffic.acknowledged:,} appended")
            say(f"check: all {stored:,} events stored exactly once, none lost, no dead letter — OK")
            admin = make_engine(cluster.url, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text("CREATE DATABASE clean"))
            admin.dispose()
            clean = cluster.url.rsplit("/", 1)[0] + "/clean"
            _kit.rebuild_in_process(system, clean)
            try:
                _kit.check_equals_rebuild(say, settings.effective_database_url, clean)
            finally:
                health.close()
                system.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
