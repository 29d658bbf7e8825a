"""Benchmark: worker catch-up on a backfilled stream vs a bare batched INSERT of the same rows.

    python bench/worker.py [--days 10] [--batch 2000] [--rounds 3] [--pg URL] [--redis URL]

One stream is generated the way ``citygrid backfill`` does (the simulator's realistic
history: cases spread over days, so a case's events fall into many different batches,
with returns, reworks, extensions and suspensions) and appended to Redis once.  Then, for
SQLite and PostgreSQL in turn, in the same run:

* **worker**: a fresh database, the real worker (XREADGROUP, validation, projection,
  live aggregates, dead letters, stream position, XACK) drains the stream with its own
  consumer group; events/s = events applied / seconds;
* **bare INSERT**: a fresh database, the same events as plain ``case_events`` rows
  (prepared before the clock starts) inserted with SQLAlchemy Core ``executemany``, one
  transaction per batch of the worker's size; rows/s.

Prints both, and their ratio (targets: worker ≥ 20,000 events/s on one core, and
≥ 0.5 × the bare INSERT).  Medians of ``--rounds`` rounds.  Beside the wall-clock rates,
the rates per CPU second (this process plus the PostgreSQL backend serving it, read from
``/proc``) tell what one core does when the machine is shared and busy.
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text  # noqa: E402

from dashboard.domain.scenario import Scenario  # noqa: E402
from dashboard.settings import Settings  # noqa: E402
from datasource.store import schema  # noqa: E402
from datasource.store.database import make_engine, prepare  # noqa: E402
from datasource.simulation.backfill import append_history, generate_history  # noqa: E402
from datasource.redis.stream import EventStream  # noqa: E402
from datasource.system import System  # noqa: E402
from datasource.follower.worker import Worker  # noqa: E402


def fresh_database(kind: str, pg_url: str, folder: Path, name: str) -> str:
    """A new SQLite file, or a freshly created PostgreSQL database ``citygrid_bench_NAME``."""
    if kind == "sqlite":
        path = folder / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return f"sqlite:///{path}"
    database = f"citygrid_bench_{name}"
    engine = make_engine(pg_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{database}"'))
    engine.dispose()
    return pg_url.rsplit("/", 1)[0] + "/" + database


def make_stream(args, scenario) -> tuple[str, int]:
    """Generate and append the backfilled stream; (key, entries)."""
    settings = Settings(data_dir=Path(tempfile.gettempdir()), redis_url=args.redis, database_url="sqlite://",
                        stream=f"bench:{uuid.uuid4().hex[:8]}:events")
    system = System(settings)
    history = generate_history(scenario, system.locator, args.days, seed=1, now=datetime.now(timezone.utc))
    append_history(system.stream, history)
    return settings.stream, system.stream.length()


class Clock:
    """Wall seconds and CPU seconds (this process + the database backend, if any)."""

    def __init__(self, engine):
        self.backend = None
        if engine.dialect.name == "postgresql":   # the one pooled connection the run will use
            with engine.connect() as c:
                self.backend = c.exec_driver_sql("SELECT pg_backend_pid()").scalar()

    def _cpu(self) -> float:
        cpu = time.process_time()
        if self.backend:
            fields = Path(f"/proc/{self.backend}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return cpu

    def __enter__(self):
        gc.collect()
        self.wall, self.cpu = time.perf_counter(), self._cpu()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, self._cpu() - self.cpu


def run_worker(kind, key, args, folder, scenario, system) -> tuple[float, float, dict]:
    url = fresh_database(kind, args.pg, folder, "worker")
    engine = make_engine(url)
    prepare(engine, scenario)
    stream = EventStream(system.redis, key)
    worker = Worker(stream, f"bench-{uuid.uuid4().hex[:8]}", system.projector(engine), consumer="bench",
                    batch_size=args.batch)
    worker.ensure_group()
    with Clock(engine) as clock:
        stats = worker.drain()
    engine.dispose()
    return (stats.applied / clock.wall, stats.applied / clock.cpu,
            {"applied": stats.applied, "dead": stats.dead, "batches": stats.batches})


def bare_rows(system, key: str) -> list[dict]:
    """The stream's events as ``case_events`` rows (built before any clock starts)."""
    rows = []
    for entry_id, fields in system.redis.xrange(key):
        f = {k.decode(): v.decode() for k, v in fields.items()}
        rows.append({"event_id": f["event_id"], "stream_id": entry_id.decode(), "case_id": f["case_id"],
                     "type": f["type"], "at": datetime.fromisoformat(f["at"]), "actor": f["actor"], "body": f["body"]})
    return rows


def run_bare_insert(kind, rows, args, folder, scenario) -> tuple[float, float]:
    url = fresh_database(kind, args.pg, folder, "bare")
    engine = make_engine(url)
    prepare(engine, scenario)
    with Clock(engine) as clock:
        for i in range(0, len(rows), args.batch):
            with engine.begin() as c:
                c.execute(insert(schema.case_events), rows[i:i + args.batch])
    engine.dispose()
    return len(rows) / clock.wall, len(rows) / clock.cpu


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=10, help="days of backfilled history in the stream")
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    args = parser.parse_args(argv)
    scenario = Scenario()
    out = {"events": None}
    key, entries = make_stream(args, scenario)
    system = System(Settings(data_dir=Path(tempfile.gettempdir()), redis_url=args.redis, database_url="sqlite://",
                             stream=key))
    try:
        rows = bare_rows(system, key)
        out["events"] = entries
        print(f"backfilled stream: {args.days:g} days, {entries:,} events; batch {args.batch}; "
              f"{args.rounds} rounds, medians")
        print(f"{'':<12} {'wall clock':^38} | {'per CPU second (one core)':^38}")
        print(f"{'database':<12} {'worker ev/s':>12} {'bare INSERT rows/s':>19} {'ratio':>5} | "
              f"{'worker ev/s':>12} {'bare INSERT rows/s':>19} {'ratio':>5}  worker figures")
        for kind in ([args.only] if args.only else ["sqlite", "postgresql"]):
            rates = []
            for _ in range(args.rounds):
                with tempfile.TemporaryDirectory() as tmp:
                    wall, cpu, figures = run_worker(kind, key, args, Path(tmp), scenario, system)
                    rates.append((wall, cpu, *run_bare_insert(kind, rows, args, Path(tmp), scenario)))
            w, wc, b, bc = (statistics.median(r[i] for r in rates) for i in range(4))
            out[kind] = {"worker": w, "worker_cpu": wc, "bare": b, "bare_cpu": bc}
            print(f"{kind:<12} {w:>12,.0f} {b:>19,.0f} {w / b:>5.2f} | {wc:>12,.0f} {bc:>19,.0f} {wc / bc:>5.2f}  "
                  f"{figures}", flush=True)
    finally:
        for k in system.redis.scan_iter(match=key + "*", count=1000):
            system.redis.delete(k)
        system.close()
    return out


def measure(scale: float = 1.0) -> list[dict]:
    """For ``make bench``: 10 days of backfilled stream at scale 1 (73,000 events), 3 rounds."""
    from bench.harness import PG_URL, REDIS_URL, figure, pg_reachable, sized
    days = sized(10, scale, 0.2)
    only = [] if pg_reachable() else ["--only", "sqlite"]
    out = main(["--days", f"{days:g}", "--rounds", str(round(sized(3, scale, 1))), "--pg", PG_URL,
                "--redis", REDIS_URL, *only])
    rows = []
    for kind, name in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        r = out.get(kind)
        if r is None:
            rows.append(figure(f"worker catch-up, {name}", None, "events/s", at_least=20_000,
                               note="not measured: PostgreSQL not reachable"))
            continue
        note = f"{out['events']:,} events of {days:g} days; {r['worker']:,.0f} events/s wall clock"
        rows.append(figure(f"worker catch-up per CPU-second, {name}", r["worker_cpu"], "events/s", at_least=20_000,
                           note=note))
        rows.append(figure(f"worker / bare batched INSERT, {name}", r["worker"] / r["bare"], "×", at_least=0.5,
                           note=f"bare INSERT {r['bare']:,.0f} rows/s"))
    return rows


if __name__ == "__main__":
    main()
