"""Benchmark: worker catch-up vs a bare batched INSERT of the same rows (SQLAlchemy Core).

    python bench/worker.py [--cases 10000] [--pg URL] [--redis URL]

For each database (SQLite file, PostgreSQL), the same stream of events (whole closed loops
of ``--cases`` cases, six events each) is projected by the real worker (XREADGROUP,
validation, projection, live aggregates, XACK) and, side by side, inserted as plain rows
into ``case_events`` with executemany in batches of the worker's size.  Prints events/s of
both and their ratio (target: worker ≥ 20,000 events/s and ≥ 0.5 × the bare insert).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text  # noqa: E402

from dashboard.settings import Settings  # noqa: E402
from datasource.store import schema  # noqa: E402
from datasource.store.database import make_engine, prepare  # noqa: E402
from datasource.system import System  # noqa: E402
from tests.helpers import loop_events  # noqa: E402

CST = timezone(timedelta(hours=8))


def make_events(cases: int):
    start = datetime(2026, 11, 2, 9, 0, tzinfo=CST)
    out = []
    for i in range(cases):
        cid = f"DC20261102{i + 1:06d}"
        out.extend(loop_events(cid, start + timedelta(seconds=7 * i)))
    return out


def fresh_database(kind: str, pg_url: str, folder: Path, name: str) -> str:
    """A new SQLite file, or a freshly created PostgreSQL database ``citygrid_bench_NAME``."""
    if kind == "sqlite":
        return f"sqlite:///{folder / (name + '.db')}"
    database = f"citygrid_bench_{name}"
    engine = make_engine(pg_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{database}"'))
    engine.dispose()
    return pg_url.rsplit("/", 1)[0] + "/" + database


def run_worker(kind, events, args, folder) -> float:
    url = fresh_database(kind, args.pg, folder, "worker")
    settings = Settings(data_dir=folder, redis_url=args.redis, database_url=url,
                        stream=f"bench:{uuid.uuid4().hex[:8]}:events")
    system = System(settings).start()
    assert all(isinstance(r, str) for r in system.stream.append_many(events))   # the checked path
    worker = system.worker(batch_size=args.batch)
    worker.ensure_group()
    started = time.perf_counter()
    stats = worker.drain()
    seconds = time.perf_counter() - started
    assert stats.applied == len(events) and stats.dead == 0, stats
    system.redis.delete(settings.stream)
    system.close()
    return len(events) / seconds


def run_bare_insert(kind, events, args, folder) -> float:
    url = fresh_database(kind, args.pg, folder, "bare")
    engine = make_engine(url)
    from dashboard.domain.scenario import Scenario
    prepare(engine, Scenario())
    rows = [{"event_id": e.event_id, "stream_id": f"0-{n}", "case_id": e.case_id, "type": e.type.value, "at": e.at,
             "actor": e.actor, "body": e.to_fields()["body"]} for n, e in enumerate(events)]
    started = time.perf_counter()
    for i in range(0, len(rows), args.batch):
        with engine.begin() as c:
            c.execute(insert(schema.case_events), rows[i:i + args.batch])
    seconds = time.perf_counter() - started
    engine.dispose()
    return len(rows) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    args = parser.parse_args()
    events = make_events(args.cases)
    print(f"{len(events)} events ({args.cases} cases × 6), batch {args.batch}, {args.rounds} rounds, medians")
    print(f"{'database':<12} {'worker ev/s':>12} {'bare INSERT ev/s':>17} {'ratio':>6}")
    for kind in ([args.only] if args.only else ["sqlite", "postgresql"]):
        worker_rates, bare_rates = [], []
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory() as tmp:
                worker_rates.append(run_worker(kind, events, args, Path(tmp)))
                bare_rates.append(run_bare_insert(kind, events, args, Path(tmp)))
        w, b = statistics.median(worker_rates), statistics.median(bare_rates)
        print(f"{kind:<12} {w:>12,.0f} {b:>17,.0f} {w / b:>6.2f}")


if __name__ == "__main__":
    main()
