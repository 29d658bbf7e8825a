"""Benchmark: the checked append and the worker on 1 vs N partitions, single Redis vs Redis Cluster.

    python bench/cluster.py [--scale 1.0]

One simulated history (the backfill's generator, ``2 × scale`` days) is appended through the
checked path — ``append_args`` in batches of 5,000, split per partition — and then projected
into a fresh SQLite database by one worker, on four set-ups side by side in one run:

* a standalone ``redis-server`` (a private one on a free loopback port), one stream;
* the same server, :data:`PARTITIONS` partitions;
* the 6-node cluster of ``scripts/redis_cluster.py``, one partition (hash-tagged);
* the same cluster, :data:`PARTITIONS` partitions (one per primary).

Figures: events/s appended, events/s projected.  One worker drains the partitions one after
the other there, so projection is not faster on partitions; the gain of partitions is that
several workers share them.  So, last, on PostgreSQL (``--pg``; skipped with ``--pg ''``): the
history appended to :data:`PARTITIONS` partitions while 1, then :data:`PARTITIONS` ``citygrid
worker`` processes (already running, leases shared) project it — events/s from the first
append until every partition is projected.  ``measure(scale)`` returns the rows for ``make bench``.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.drills.redis_cluster import load_cluster_script  # noqa: E402

PARTITIONS = 3
BATCH = 5000
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def standalone():
    """A private standalone redis-server on a free loopback port; its URL."""
    script = load_cluster_script()
    server, _ = script.executables()
    port = script.free_port()
    folder = tempfile.mkdtemp(prefix="citygrid-bench-redis-")
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                                "no", "--dir", folder], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        node = script.Node(port, Path(folder))
        deadline = time.monotonic() + 20
        while True:
            try:
                node.client(0.5).ping()
                break
            except Exception:  # noqa: BLE001 - not up yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def _history(scale: float):
    from datasource.simulation.backfill import generate_history
    from datasource.store.holiday_source import load_scenario
    from datasource.follower.locator import GridLocator
    scenario = load_scenario()
    return generate_history(scenario, GridLocator(scenario), max(0.2, 2 * scale), seed=7,
                            now=datetime.now(timezone.utc))


def _args(history) -> tuple[list, list]:
    import orjson
    import random
    from datasource.simulation.backfill import ORDER
    from datasource.simulation.story import uuid4_hex
    ids, iso = random.Random("bench-cluster"), history.model.iso
    cases, args = [], []
    for key, case, kind, actor, body in history.events:
        at = key // ORDER
        cases.append(case)
        args.extend((uuid4_hex(ids), case, kind, iso(at), actor, orjson.dumps(body), at * 1_000_000, b"", b"0"))
    return cases, args


def _one(url: str, parts: int, cases: list, args: list, folder: Path, label: str) -> tuple[float, float]:
    """(events/s appended, events/s projected) of one set-up."""
    from dashboard.settings import Settings
    from datasource.redis.partitions import split_args
    from datasource.system import System
    settings = Settings(data_dir=folder, redis_url=url, stream=f"bench:{label}", stream_partitions=parts,
                        components_autoload=False, database_url=f"sqlite:///{folder / (label + '.db')}")
    system = System(settings).start()
    try:
        per_event = split_args(args)
        started = time.perf_counter()
        for i in range(0, len(cases), BATCH):
            outcomes = system.stream.append_args(cases[i:i + BATCH], [a for e in per_event[i:i + BATCH] for a in e])
            refused = [o for o in outcomes if not isinstance(o, str)]
            if refused:
                raise RuntimeError(f"{label}: the check refused {len(refused)} events, first {refused[0]}")
        appended = time.perf_counter() - started
        started = time.perf_counter()
        stats = system.worker(consumer="bench").drain()
        projected = time.perf_counter() - started
        if stats.applied != len(cases):
            raise RuntimeError(f"{label}: the worker applied {stats.applied} of {len(cases)} events")
        return len(cases) / appended, len(cases) / projected
    finally:
        system.close()


def _workers(url: str, pg_url: str, cases: list, args: list, folder: Path, count: int) -> float:
    """Events/s from the first append until ``count`` worker processes (``citygrid worker``)
    sharing :data:`PARTITIONS` partitions have projected everything into PostgreSQL."""
    import os
    import signal
    from bench.worker import fresh_database
    from dashboard.settings import Settings
    from datasource.redis.partitions import split_args
    from datasource.store.database import make_engine
    from datasource.system import System
    from sqlalchemy import text
    database = fresh_database("postgresql", pg_url, folder, f"cluster_{count}w")
    settings = Settings(data_dir=folder, redis_url=url, stream=f"bench:w{count}", stream_partitions=PARTITIONS,
                        database_url=database, components_autoload=False)
    system = System(settings).start()
    env = dict(os.environ, PYTHONPATH=str(ROOT), CITYGRID_DATA_DIR=str(folder), CITYGRID_REDIS_URL=url,
               CITYGRID_STREAM=settings.stream, CITYGRID_STREAM_PARTITIONS=str(PARTITIONS),
               CITYGRID_DATABASE_URL=database, CITYGRID_COMPONENTS_AUTOLOAD="false")
    processes = [subprocess.Popen([sys.executable, "-m", "dashboard.cli.commands", "worker", "--consumer", f"w{i}"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(count)]
    probe = system.worker(consumer="probe")
    try:
        probe.ensure_group()
        deadline = time.monotonic() + 120
        while len({h for h in probe.holders().values() if h}) < count or None in probe.holders().values():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{count} workers did not share the {PARTITIONS} partitions")
            time.sleep(0.1)
        per_event = split_args(args)
        started = time.perf_counter()
        for i in range(0, len(cases), BATCH):
            system.stream.append_args(cases[i:i + BATCH], [a for e in per_event[i:i + BATCH] for a in e])
        while probe.lag():
            if time.perf_counter() - started > 600:
                raise RuntimeError(f"{count} workers did not catch up in 10 minutes")
            time.sleep(0.05)
        return len(cases) / (time.perf_counter() - started)
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        system.close()
        engine = make_engine(pg_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{database.rsplit("/", 1)[1]}" WITH (FORCE)'))
        engine.dispose()


def measure(scale: float = 1.0, pg_url: str | None = PG_URL) -> list[dict]:
    """Rows for ``make bench``: appended and projected events/s per set-up (see the module text)."""
    history = _history(scale)
    cases, args = _args(history)
    del history
    rows = []
    folder = Path(tempfile.mkdtemp(prefix="citygrid-bench-cluster-"))
    try:
        with standalone() as url:
            setups = [("single Redis, 1 stream", url, 1), (f"single Redis, {PARTITIONS} partitions", url, PARTITIONS)]
            results = {name: _one(u, p, cases, args, folder, f"s{p}") for name, u, p in setups}
        with load_cluster_script().LocalCluster() as cluster:
            for name, parts in ((f"cluster, 1 partition", 1), (f"cluster, {PARTITIONS} partitions", PARTITIONS)):
                results[name] = _one(cluster.url, parts, cases, args, folder, f"c{parts}")
        parallel = {}
        if pg_url:
            with standalone() as url:
                parallel = {count: _workers(url, pg_url, cases, args, folder, count) for count in (1, PARTITIONS)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    note = f"{len(cases):,} events, batches of {BATCH:,}, one worker on SQLite"
    for name, (append, project) in results.items():
        rows.append({"figure": f"checked append, {name}", "value": round(append), "unit": "events/s",
                     "target": None, "met": None, "note": note})
        rows.append({"figure": f"worker projection, {name}", "value": round(project), "unit": "events/s",
                     "target": None, "met": None, "note": note})
    for count, rate in parallel.items():
        rows.append({"figure": f"append + projection, {count} worker process{'es' if count > 1 else ''} on "
                               f"{PARTITIONS} partitions, PostgreSQL", "value": round(rate), "unit": "events/s",
                     "target": None, "met": None,
                     "note": f"{len(cases):,} events, from the first append until every partition is projected"})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--pg", default=PG_URL, help="PostgreSQL server for the worker-process figures ('' skips them)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = measure(args.scale, args.pg or None)
    width = max(len(r["figure"]) for r in rows)
    for row in rows:
        print(f"{row['figure']:<{width}}  {row['value']:>9,.0f} {row['unit']}")
    print(f"({rows[-1]['note']}; {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
