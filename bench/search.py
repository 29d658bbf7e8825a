"""Benchmark: case search and true queues over D days of history (default 90) in a fresh
embedded instance (SQLite, or ``--database-url``).

    python bench/search.py [--days 90] [--database-url URL] [--runs 20]

Backfills through the real path (stream → worker → reporting database), then times what a
work page asks on every refresh and what a search asks: the median and the worst of
``--runs`` calls each, in milliseconds, with the number of cases in the database.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from dashboard.settings import Settings  # noqa: E402
from datasource.redis.server import stop_embedded  # noqa: E402
from datasource.services.queues import QueueFilter, QueueService  # noqa: E402
from datasource.services.search import CaseSearch  # noqa: E402
from datasource.simulation.backfill import backfill  # noqa: E402
from datasource.store import schema  # noqa: E402
from datasource.system import System  # noqa: E402


def timed(call, runs: int) -> tuple[float, float]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds) * 1000, max(seconds) * 1000


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=90)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=args.database_url)
        system = System(settings).start()
        backfill(system, args.days)
        with system.engine.connect() as c:
            total = c.execute(select(func.count()).select_from(schema.cases)).scalar()
            some = c.execute(select(schema.cases.c.case_id).order_by(schema.cases.c.case_id.desc())).scalar()
        search, queues = CaseSearch(system), QueueService(system)
        street = next(iter(system.scenario.streets.values()))
        checks = {
            "search: a case id": lambda: search.search(some, "admin"),
            "search: a word (垃圾)": lambda: search.search("垃圾", "admin"),
            "search: two words (垃圾 东四)": lambda: search.search("垃圾 东四", "admin"),
            f"search: a street ({street})": lambda: search.search(street, "admin"),
            "search: no hit": lambda: search.search("不存在的词", "admin"),
            "search: a department's": lambda: search.search("垃圾", "department", department="sanitation"),
            "queues: /intake's four boxes": lambda: [queues.page((s,), per_page=20)
                                                     for s in ("reported", "handled", "verified", "suspended")],
            "queues: /dispatch page + map points": lambda: (queues.page(("filed",), per_page=50),
                                                            queues.points(("filed",))),
            "queues: /department (newest)": lambda: queues.page(("dispatched",), department="sanitation",
                                                                sort="newest", per_page=50),
            "queues: filtered (urgent, overdue)": lambda: queues.page(
                ("filed", "dispatched"), filters=QueueFilter(urgency="urgent", overdue=True)),
        }
        print(f"cases in the database: {total}  ({system.engine.dialect.name}, {args.days:g} days)")
        for name, call in checks.items():
            median, worst = out[name] = timed(call, args.runs)
            print(f"{name:40s} median {median:7.1f} ms   worst {worst:7.1f} ms")
        system.close()
        stop_embedded(Path(tmp))
    return {"cases": total, "timings": out}


def measure(scale: float = 1.0) -> list[dict]:
    """For ``make bench``: 90 days of history at scale 1, 20 calls each; the worst median beside each page's."""
    from bench.harness import figure, sized
    days = sized(90, scale, 0.3)
    out = main(["--days", f"{days:g}", "--runs", str(round(sized(20, scale, 3)))])
    timings = out["timings"]
    search = max((v[0], k) for k, v in timings.items() if k.startswith("search"))
    queues = max((v[0], k) for k, v in timings.items() if k.startswith("queues"))
    note = f"{out['cases']:,} cases ({days:g} days), SQLite; slowest: "
    return [figure("case search, slowest median", search[0], "ms", at_most=300, note=note + search[1]),
            figure("work-page queues, slowest median", queues[0], "ms", at_most=300, note=note + queues[1])]


if __name__ == "__main__":
    main()
