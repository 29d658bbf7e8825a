"""Is the simulated district in a steady state?  Stage counts over time, measured.

The live simulator (``traffic``) is meant to keep every stage's backlog level under its
default rates, and to let it grow on a bad day (``load`` > 1).  This module measures that
the same way for the test, the benchmark and the README's figures: it runs the simulator
and the worker on an *accelerated* clock — ``rate`` events per simulated second, each
event stamped one ``1/rate`` second after the previous, as fast as Redis takes them — and
reads the open stages' counts from the reporting database after every simulated minute
(the worker drained first, so the numbers are what the wall and the queues show).

:func:`stage_counts` also serves a wall-clock measurement of a running demo (it only reads
the database).
"""
from __future__ import annotations

from sqlalchemy import func, select

from datasource.store import schema
from datasource.simulation.traffic import OPEN_STAGES, LiveSimulator


def stage_counts(engine) -> dict[str, int]:
    """Open cases per stage in the reporting database (0 for an empty stage)."""
    c = schema.cases.c
    query = select(c.stage, func.count()).where(c.stage.in_(OPEN_STAGES)).group_by(c.stage)
    with engine.connect() as connection:
        found = dict(connection.execute(query).all())
    return {stage: int(found.get(stage, 0)) for stage in OPEN_STAGES}


def run_accelerated(system, advance, minutes: int, rate: float = 3.0, load: float = 1.0,
                    seed: int | None = None, every: int = 1) -> list[dict]:
    """Run ``minutes`` simulated minutes of live traffic at ``rate`` events per (simulated)
    second; ``advance(seconds)`` moves the system's clock on.  Returns one row per
    ``every`` minutes (and one for minute 0): ``{"minute": m, stage: count, …}``."""
    worker = system.worker()
    worker.drain()
    simulator = LiveSimulator(system, seed=seed, load=load)
    rows = [{"minute": 0, **stage_counts(system.engine)}]
    per_minute = int(round(rate * 60))
    for minute in range(1, minutes + 1):
        for _ in range(per_minute):
            advance(1.0 / rate)
            simulator.tick()
        if minute % every == 0 or minute == minutes:
            worker.drain()
            rows.append({"minute": minute, **stage_counts(system.engine)})
    return rows


def drift(rows: list[dict], stage: str) -> float:
    """How far ``stage`` ended from where it started, as a share of its start (≥ 1 case)."""
    first, last = rows[0][stage], rows[-1][stage]
    return (last - first) / max(first, 1)


__all__ = ["stage_counts", "run_accelerated", "drift"]
