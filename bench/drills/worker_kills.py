"""Drill: kill worker processes 20 times at random points during a 100,000-event run; the
tables they leave equal a clean rebuild.

Two real ``citygrid worker`` subprocesses share the consumer group while traffic is appended
through the checked path; every so often one of them, at a random moment after it came up,
gets SIGKILL — wherever it is: reading, inside a transaction, between the commit and the XACK
— and is started again under the same consumer name (it re-reads the entries it held; the
other worker waits for them, stream order being the rule).  When all traffic is in and the group
has caught up, ``citygrid rebuild`` replays the stream into an empty database, and every
table of the two databases is compared row by row.
"""
from __future__ import annotations

import random
import shutil

from bench.drills import _kit
from bench.drills._servers import private_redis

TITLE = "kill workers 20 times at random points during a 100,000-event run → tables equal a clean rebuild"
NEEDS = ("redis-server",)
EVENTS, KILLS, SECONDS = 100_000, 20, 60.0


def run(say, scale: float = 1.0) -> None:
    events = int(_kit.scaled(EVENTS, scale, 2000))
    kills = int(_kit.scaled(KILLS, scale, 3))
    seconds = _kit.scaled(SECONDS, scale, 12.0)
    rng = random.Random(15)
    folder = _kit.temp_folder("kills")
    try:
        with private_redis(appendonly=True) as server:
            settings = _kit.settings_for(folder, server.url)
            system = _kit.System(settings).start()
            made = _kit.history(system, events)
            say(f"private Redis on port {server.port}, SQLite {folder / 'citygrid.db'}; "
                f"{len(made.events):,} events of {made.cases:,} cases to append at {events / seconds:,.0f}/s")
            workers = [_kit.WorkerProcess(settings, f"w{i}", folder).start() for i in (1, 2)]
            traffic = _kit.Traffic(system, made, rate=events / seconds).start()
            gap = seconds / (kills + 1)
            for n in range(1, kills + 1):
                victim = rng.choice(workers)
                # a random moment after it came up: while it reads, projects, commits or acknowledges
                _kit.wait_for(victim.ready, 60, f"worker {victim.consumer} to come up")
                traffic.done.wait(rng.uniform(0.1, 1.0) * gap)
                held = _kit.pending(system, victim.consumer)
                victim.kill()
                say(f"killed worker {victim.consumer} ({n}/{kills}, SIGKILL) holding {held:,} unacknowledged entries; "
                    f"{traffic.appended:,} events appended, lag {_kit.lag(system):,}")
                victim.start()
            traffic.done.wait()
            traffic.stop()
            if traffic.failures or traffic.refused:
                raise AssertionError(f"the traffic failed: {traffic.errors[:2]}")
            say(f"all {traffic.appended:,} events appended; waiting for the workers to catch up")
            waited = _kit.wait_caught_up(system, 120 + events / 500, workers)
            say(f"check: lag 0 after {waited:.1f} s — OK")
            codes = [w.stop() for w in workers]
            say(f"stopped the workers (SIGTERM): exit codes {codes}")
            if any(codes):
                raise AssertionError(f"a worker exited with {codes}: {workers[0].tail()} {workers[1].tail()}")
            clean = f"sqlite:///{folder / 'clean.db'}"
            say("citygrid rebuild into an empty database: " + _kit.rebuild_into(settings, clean))
            rows, differences = _kit.compare_databases(settings.effective_database_url, clean)
            stored, distinct, dead = _kit.event_counts(system.engine)
            system.close()
            if differences:
                raise AssertionError("tables differ from the clean rebuild: " + "; ".join(differences))
            say(f"check: all {len(rows)} tables the stream determines equal the clean rebuild row for row "
                f"({rows.get('case_events', 0):,} events, {rows.get('cases', 0):,} cases) — OK")
            if stored != distinct or stored + dead != traffic.appended:
                raise AssertionError(f"{stored:,} events stored ({distinct:,} distinct) + {dead} dead letters "
                                     f"≠ {traffic.appended:,} appended")
            say(f"check: every appended event stored exactly once ({stored:,}), {dead} dead letters — OK")
            say(f"worker starts: {', '.join(f'{w.consumer} {w.starts}' for w in workers)}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
