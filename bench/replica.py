"""Benchmark rows of the read replica (issue 15): its lag while the worker writes the
primary, and how long it takes to catch up after a restart — measured by the replica drill
(``bench/drills/pg_replica.py``), which also checks that nothing is lost.

    python bench/replica.py [--scale 0.2]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def measure(scale: float = 1.0) -> list[dict]:
    from bench.drills import pg_replica
    figures: dict = {}
    pg_replica.run(lambda line: None, scale=scale, figures=figures)
    note = (f"{figures['events']:,} events projected at {figures['events_per_s']:,.0f}/s into the primary, "
            f"{figures['lag_samples']} samples; replica killed and restarted on the way")
    return [
        {"figure": "replica lag under the worker's load (largest sampled)",
         "value": round(figures["lag_seconds_max"] * 1000, 1), "unit": "ms", "target": None, "met": None, "note": f"{figures['lag_bytes_max']:,} bytes; {note}"},
        {"figure": "replica caught up after the load (restarted mid-load)",
         "value": round(figures["catch_up_s"] * 1000, 1), "unit": "ms", "target": None, "met": None, "note": note},
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    print(json.dumps(measure(parser.parse_args().scale), indent=1, ensure_ascii=False))
