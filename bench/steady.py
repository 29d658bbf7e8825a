"""Stage counts of the live simulator over an accelerated run (issue 11: a steady demo).

    python -m bench.steady MINUTES LOAD EVERY      # e.g. 60 1.0 10, or 60 2.0 10 for a bad day

Backfills 3 days (seed 1) up to Wednesday 2026-11-18 10:00 Beijing time into a temporary
SQLite file and a fresh stream on the local Redis (127.0.0.1:6379), then ticks the live
simulator 180 times per simulated minute (3 events/s) on an accelerated clock and prints the
open cases per stage from the reporting database every EVERY minutes.  The loop is written
out (not ``datasource.simulation.steady.run_accelerated``) so that the same script measures
an older simulator without ``load`` too — the before/after table in docs/l10n11c.md.
"""
import sys, uuid, time, tempfile, inspect
from datetime import datetime, timedelta, timezone
from pathlib import Path
from sqlalchemy import func, select
from dashboard.settings import Settings
from datasource.system import System
from datasource.store import schema
from datasource.simulation.backfill import backfill
from datasource.simulation.traffic import LiveSimulator
STAGES = ("reported", "filed", "dispatched", "handled", "verified", "suspended")
class Clock:
    def __init__(self, at): self.at = at
    def __call__(self): return self.at
minutes, load, every = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])   # see the docstring
tmp = Path(tempfile.mkdtemp(prefix="steady"))
clock = Clock(datetime(2026, 11, 18, 2, 0, tzinfo=timezone.utc))   # Wednesday 10:00 Beijing
s = Settings(data_dir=tmp, redis_url="redis://127.0.0.1:6379/0", database_url=f"sqlite:///{tmp}/x.db", stream=f"steady:{uuid.uuid4().hex[:8]}:events")
system = System(s, clock=clock).start()
backfill(system, 3, seed=1, now=clock.at)
w = system.worker(); w.drain()
kw = {"load": load} if "load" in inspect.signature(LiveSimulator).parameters else {}
sim = LiveSimulator(system, seed=3, **kw)
def counts():
    w.drain()
    with system.engine.connect() as c:
        found = dict(c.execute(select(schema.cases.c.stage, func.count()).where(schema.cases.c.stage.in_(STAGES)).group_by(schema.cases.c.stage)).all())
    return [found.get(x, 0) for x in STAGES]
print("minute", *STAGES, sep=" | ")
print(0, *counts(), sep=" | ", flush=True)
for m in range(1, minutes + 1):
    for _ in range(180):
        clock.at += timedelta(seconds=1/3); sim.tick()
    if m % every == 0:
        print(m, *counts(), sep=" | ", flush=True)
import redis; c = redis.Redis.from_url(s.redis_url)
for k in c.scan_iter(match=s.stream + "*", count=1000): c.delete(k)
