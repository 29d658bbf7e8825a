"""Benchmark: ``citygrid import`` of N synthetic rows in the San Francisco export's format.

    python bench/import_rows.py [--rows 1000000] [--runs 3] [--drain]

Writes a CSV like ``tests/fixtures/sf311-sample.csv`` (same 19 columns, " UTC" times, 95 %
closed, 150 queues, 37 categories, 1 % of rows with defects the importer must skip), then
imports it N times, each into a fresh embedded Redis and SQLite over a city folder whose
grids cover San Francisco, and prints the median seconds of the import (read, check,
allocate ids, append every event through the checked Lua append), wall and CPU: the
Python process and the Redis server work side by side (one batch in flight while the next
is built), so on an idle machine with two cores the wall time is about the CPU seconds of
the busier one; on a loaded machine the wall time is not the importer's.  ``--drain`` also times
the worker's projection of one run into SQLite (the product's worker speed, not the
importer's: see the README's "Speed of the backbone").  Target: 1,000,000 rows in < 120 s.
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # noqa: E402 - a test dependency

from dashboard.settings import Settings  # noqa: E402
from datasource.importer.mapping import load  # noqa: E402
from datasource.importer.run import Importer, drain  # noqa: E402
from datasource.redis.server import stop_embedded  # noqa: E402
from datasource.system import System  # noqa: E402
from tests.import_city import make_city  # noqa: E402 - the tests' minimal city folder

HEADER = ["unique_key", "created_date", "closed_date", "resolution_action_updated_date", "status", "status_notes",
          "agency_name", "category", "complaint_type", "descriptor", "incident_address", "supervisor_district",
          "neighborhood", "location", "source", "media_url", "latitude", "longitude", "police_district"]
BBOX = (-122.52, 37.70, -122.35, 37.83)


def generate(path: Path, rows: int, seed: int = 1) -> None:
    """A CSV of ``rows`` service requests in the SF export's format."""
    rng = random.Random(seed)
    start = datetime(2015, 1, 1, tzinfo=timezone.utc)
    span = int((datetime(2019, 11, 1, tzinfo=timezone.utc) - start).total_seconds())
    queues = [f"Queue {i:03d} - Works" for i in range(150)]
    categories = [f"Category {i:02d}" for i in range(37)]
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for n in range(rows):
            opened = start + timedelta(seconds=rng.randrange(span))
            closed = opened + timedelta(seconds=rng.randrange(60, 10 * 86400))
            is_closed = rng.random() < 0.95
            lon = BBOX[0] + rng.random() * (BBOX[2] - BBOX[0])
            lat = BBOX[1] + rng.random() * (BBOX[3] - BBOX[1])
            defect = rng.random()
            if defect < 0.005:
                lon = lat = 0.0                              # no position
            elif defect < 0.01:
                closed = opened - timedelta(hours=1)         # closed before opened
            text = f"{opened:%Y-%m-%d %H:%M:%S} UTC"
            shut = f"{closed:%Y-%m-%d %H:%M:%S} UTC" if is_closed else ""
            writer.writerow([10_000_000 + n, text, shut, shut or text, "Closed" if is_closed else "Open",
                             "Case resolved, see\nnotes" if n % 7 == 0 else "", rng.choice(queues),
                             rng.choice(categories), "Subtype", "Other", f"{n % 9000} MARKET ST, SAN FRANCISCO, CA",
                             str(n % 11), "Mission", f"POINT ({lon:.8f} {lat:.8f})", "Phone", "", f"{lat:.12f}",
                             f"{lon:.12f}", "MISSION"])


def run_once(csv_path: Path, city: Path, project: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), scenario_dir=city, components_autoload=False)
        system = System(settings).start()
        try:
            server = psutil.Process(int(system.redis.info("server")["process_id"]))
            cpu, redis_cpu = time.process_time(), sum(server.cpu_times()[:2])
            started = time.perf_counter()
            summary = Importer(system, load("sf311")).run(csv_path, skipped_path=Path(tmp) / "skipped.csv")
            figures = {"import_s": round(time.perf_counter() - started, 1),
                       "python_cpu_s": round(time.process_time() - cpu, 1),
                       "redis_cpu_s": round(sum(server.cpu_times()[:2]) - redis_cpu, 1), "read": summary.read,
                       "imported": summary.imported, "skipped": summary.skipped_total, "events": summary.events}
            info = system.redis.info()
            figures.update(redis_memory_mb=round(info["used_memory"] / 1e6),
                           aof_rewrites=info.get("aof_rewrites", info.get("aof_rewrite_scheduled")))
        finally:
            system.close()
        if project:
            system = System(settings).start()
            try:
                started = time.perf_counter()
                stats = drain(system)
                figures.update(drain_s=round(time.perf_counter() - started, 1), applied=stats.applied, dead=stats.dead)
            finally:
                system.close()
        stop_embedded(Path(tmp))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--drain", action="store_true", help="also time the worker's projection (first run)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "sf-synthetic.csv"
        started = time.perf_counter()
        generate(csv_path, args.rows)
        print(f"generated {args.rows} rows ({csv_path.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - started:.1f} s")
        city = make_city(Path(tmp) / "sf", (BBOX[0] - 0.01, BBOX[1] - 0.01, BBOX[2] + 0.01, BBOX[3] + 0.01),
                         "America/Los_Angeles", cells=40)
        seconds, cpu = [], []
        for run in range(args.runs):
            figures = run_once(csv_path, city, args.drain and run == 0)
            seconds.append(figures["import_s"])
            cpu.append(max(figures["python_cpu_s"], figures["redis_cpu_s"]))
            print(f"run {run + 1}: {figures}")
            for name in ("departments.json", "categories.json", "routing.json"):   # the next run creates them again
                (city / name).write_bytes((Path(__file__).resolve().parent.parent / "dashboard" / "scenarios" /
                                           "dongcheng" / name).read_bytes())
    print(f"median import seconds over {args.runs} runs: {statistics.median(seconds):.1f} wall, "
          f"{statistics.median(cpu):.1f} CPU of the busier process (Python or Redis; they overlap) — "
          f"load average {os.getloadavg()[0]:.1f} (target: 1,000,000 rows in under 120 s)")


if __name__ == "__main__":
    main()
