"""Benchmark: server time of ``GET /open311/v2/requests.{fmt}`` answering 1,000 requests.

    python bench/open311.py                       # SQLite in a temporary folder, a 7-day backfill
    python bench/open311.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_open311 --days 7

Fills an EMPTY database through the real path (``datasource.simulation.backfill`` → the stream
→ the worker), then times in-process (Flask's test client) the default query — the last 90 days,
at most 1,000 requests — as the public (JSON, XML) and as a reader's key (JSON, with notes and
photos): medians of ``--rounds`` calls after one warm-up call.  Redis: ``--redis-url`` (default the local server; the
keys use a fresh ``bench-open311:…`` prefix and are deleted afterwards).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard.settings import Settings  # noqa: E402
from dashboard.web.factory import create_app, start  # noqa: E402
from datasource.services import accounts  # noqa: E402
from datasource.simulation.backfill import backfill  # noqa: E402
from datasource.system import System  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="an empty database (default: SQLite in a temp folder)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--days", type=float, default=7.0, help="days of history to backfill (default 7)")
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-open311-"))
    stream = f"bench-open311:{uuid.uuid4().hex[:8]}:events"
    settings = Settings(data_dir=folder, redis_url=args.redis_url, stream=stream, components_autoload=False,
                        database_url=args.database_url or f"sqlite:///{folder / 'bench.db'}")
    system = System(settings).start()
    try:
        figures = backfill(system, args.days, seed=2)
        system.worker(consumer="bench").drain()
        print(f"{figures['cases']:,} cases, {figures['events']:,} events")
        accounts.add_user(system.engine, "bench-op", "operator", "bench-password-1")
        key = accounts.create_token(system.engine, "bench-op")
        client = start(create_app(settings, system)).server.test_client()
        for label, url in (("public, JSON", "/open311/v2/requests.json"), ("public, XML", "/open311/v2/requests.xml"),
                           ("reader key, JSON", f"/open311/v2/requests.json?api_key={key}")):
            client.get(url)   # warm-up: names, caches, the first connection
            times = []
            for _ in range(args.rounds):
                started = time.perf_counter()
                answer = client.get(url)
                times.append(time.perf_counter() - started)
                assert answer.status_code == 200, answer.get_data()[:200]
            count = answer.get_data().count(b"<request>") if "xml" in url else len(answer.get_json())
            print(f"{label:18} {count:5,} requests  median {statistics.median(times) * 1000:6.0f} ms  "
                  f"{len(answer.get_data()) / 1024:5.0f} KB")
    finally:
        for key_name in system.stream.client.scan_iter(match=stream + "*", count=1000):
            system.stream.client.delete(key_name)
        system.close()


if __name__ == "__main__":
    main()
