"""Benchmark: backfill D days (default 90) into a fresh embedded instance (SQLite).

    python bench/backfill.py [--days 90] [--database-url URL]

Runs the real path — generate stories, append them through the checked Lua append to the
embedded Redis, drain through the worker into the reporting database — and prints the
phases' seconds and the open backlog.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard.settings import Settings  # noqa: E402
from datasource.redis.server import stop_embedded  # noqa: E402
from datasource.simulation.backfill import backfill  # noqa: E402
from datasource.system import System  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=90)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=args.database_url)
        system = System(settings).start()
        started = time.perf_counter()
        figures = backfill(system, args.days)
        total = time.perf_counter() - started
        system.close()
        stop_embedded(Path(tmp))
    for key, value in figures.items():
        print(f"{key}: {value}")
    print(f"total seconds: {total:.1f}  (target: 90 days in under 60 s)")
    return {**figures, "days": args.days, "seconds": total}


def measure(scale: float = 1.0) -> list[dict]:
    """For ``make bench``: 90 days at scale 1; the time is given per 90 days (target < 60 s)."""
    from bench.harness import figure, sized
    days = sized(90, scale, 0.3)
    out = main(["--days", f"{days:g}"])
    return [figure("backfill of 90 days, SQLite, end to end", out["seconds"] * 90 / days, "s", at_most=60,
                   note=f"{days:g} days measured ({out.get('cases', 0):,} cases, {out.get('events', 0):,} events), "
                        "scaled to 90 days")]


if __name__ == "__main__":
    main()
