"""Drill: the reports read from a streaming replica while the worker writes the primary; the
replica is killed and restarted under load; nothing is lost (issue 15, item 3).

A primary and its replica from ``scripts/pg_replica.py`` (fresh ``initdb`` + ``pg_basebackup
-R`` servers on free loopback ports, an embedded Redis in a temporary folder).  A generated
history (``scale`` × 30 days of 1,000 cases a day) is appended to the stream and the worker
projects it into the primary in batches; after every few batches the regional and the
department reports are read through ``system.read_engine`` and the replica's lag is sampled.
A third of the way in, the replica is stopped as a crash would stop it: the reports go on,
read from the primary, with one warning; two thirds in it is started again and the reads
return to it.  At the end the replica has caught up (the time it took is printed) and holds
exactly the primary's rows, and the primary every event of the history.
"""
from __future__ import annotations

import logging
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

TITLE = "PostgreSQL read replica: reports read from it under load, killed and restarted, nothing lost"
NEEDS = ("pg_basebackup",)

DAYS, CASES_PER_DAY, BATCH = 30, 1000, 500     # BATCH: the worker's largest batch
TABLES = ("case_events", "cases", "live_counts", "daily_flow", "dead_letters")


class _Warnings(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _fingerprints(engine) -> dict[str, tuple[int, str]]:
    """Rows and an md5 of every row of the projected tables (ordered by their keys)."""
    from sqlalchemy import text
    out = {}
    with engine.connect() as c:
        for table in TABLES:
            n, digest = c.execute(text(f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
                                       f"FROM {table} t")).one()
            out[table] = (int(n), digest)
    return out


def run(say, scale: float = 1.0, figures: dict | None = None) -> None:
    """The drill (see the module's text); ``figures``, when given, receives the measured
    lag and catch-up figures (``bench/replica.py``)."""
    figures = {} if figures is None else figures
    root = Path(__file__).resolve().parents[2]
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from sqlalchemy import text

    from dashboard.domain.evaluation import Period
    from dashboard.settings import Settings
    from datasource.services.evaluation import DepartmentEvaluation
    from datasource.services.regions import RegionReport
    from datasource.simulation.backfill import append_history, generate_history
    from datasource.store import replica
    from datasource.system import System
    from scripts.pg_replica import ReplicaPair

    per_day = max(20, round(CASES_PER_DAY * scale))
    warnings = _Warnings()
    logging.getLogger(replica.__name__).addHandler(warnings)
    started = time.perf_counter()
    with ReplicaPair() as pair, tempfile.TemporaryDirectory(prefix="citygrid-drill-replica-") as data:
        say(f"started primary 127.0.0.1:{pair.primary_port} and its streaming replica 127.0.0.1:{pair.replica_port} "
            f"({time.perf_counter() - started:.1f} s)")
        settings = Settings(data_dir=Path(data), database_url=pair.primary_url, read_database_url=pair.replica_url,
                            components_autoload=False)
        system = System(settings).start()
        try:
            router = system.read_engine
            now = datetime.now(timezone.utc)
            history = generate_history(system.scenario, system.locator, DAYS, seed=15, now=now, per_day=per_day)
            append_history(system.stream, history, seed=15)
            total = len(history.events)
            say(f"appended {total:,} events of {DAYS} days × {per_day:,} cases to the stream")
            tz = system.scenario.calendar.tz
            today = now.astimezone(tz).date()
            period = Period(today - timedelta(days=29), today, tz=tz)
            regions, departments = RegionReport(system, ttl=0), DepartmentEvaluation(system)
            state = {"done": 0, "batches": 0, "reads": {"replica": 0, "primary": 0}, "killed": False,
                     "restarted": False, "lags": []}

            def read_pages() -> None:
                regions.figures("street", period)
                departments.overview(period, now)
                state["reads"][router.using] += 1

            def after_batch(n: int) -> None:
                state["done"] += n
                state["batches"] += 1
                if state["batches"] % 4:
                    return
                read_pages()
                if not state["killed"] or state["restarted"]:
                    try:
                        state["lags"].append(replica.lag(system.engine, router.replica))
                    except Exception:   # noqa: BLE001 - the replica is coming back
                        pass
                if not state["killed"] and state["done"] >= total / 3:
                    lag = state["lags"][-1] if state["lags"] else {"bytes": 0, "seconds": 0}
                    say(f"at entry {state['done']:,}: reports read from the {router.using} "
                        f"({state['reads']['replica']} page reads so far), lag {lag['bytes']:,} bytes / "
                        f"{lag['seconds']:.3f} s")
                    if not state["reads"]["replica"]:
                        raise AssertionError("no report was read from the replica under load")
                    pair.stop_replica()
                    state["killed"] = True
                    say(f"killed the replica (immediate shutdown) at entry {state['done']:,}")
                    read_pages()
                    if router.using != "primary":
                        raise AssertionError("the reports did not fall back to the primary with the replica down")
                    if not any("reports read from the primary" in m for m in warnings.messages):
                        raise AssertionError("no warning logged when the reports fell back to the primary")
                    say(f"check: reports read from the primary, warning logged: {warnings.messages[-1]!r} — OK")
                elif state["killed"] and not state["restarted"] and state["done"] >= 2 * total / 3:
                    say(f"at entry {state['done']:,}: {state['reads']['primary']} page reads went to the primary "
                        f"while the replica was down")
                    pair.start_replica()
                    state["restarted"] = True
                    say(f"restarted the replica at entry {state['done']:,}")

            load_started = time.perf_counter()
            batch = max(20, min(BATCH, total // 24))    # ≥ 24 batches: reads and lag samples every 4
            stats = system.worker(batch_size=batch).drain(progress=after_batch)
            load_s = time.perf_counter() - load_started
            say(f"worker applied {stats.applied:,} events in {load_s:.1f} s ({stats.applied / load_s:,.0f} events/s), "
                f"{state['batches']} batches, {stats.dead} dead letters")
            if not (state["killed"] and state["restarted"]):
                raise AssertionError(f"the load ended before the replica was killed and restarted "
                                     f"({state['done']:,} of {total:,} entries)")
            caught_from = time.perf_counter()
            deadline = caught_from + 60
            while True:
                try:
                    lag = replica.lag(system.engine, router.replica)
                    if lag["bytes"] == 0:
                        break
                except Exception as exc:   # noqa: BLE001 - still starting
                    lag = {"bytes": -1, "seconds": 0, "error": str(exc).splitlines()[0]}
                if time.perf_counter() > deadline:
                    raise AssertionError(f"the replica has not caught up within 60 s: {lag}")
                time.sleep(0.1)
            worst = max(state["lags"], key=lambda x: x["bytes"], default={"bytes": 0, "seconds": 0})
            figures.update({"events_per_s": stats.applied / load_s, "lag_bytes_max": worst["bytes"],
                            "lag_seconds_max": max((x["seconds"] for x in state["lags"]), default=0.0),
                            "lag_samples": len(state["lags"]), "catch_up_s": time.perf_counter() - caught_from,
                            "events": total})
            say(f"check: the replica caught up {time.perf_counter() - caught_from:.2f} s after the load "
                f"(largest lag sampled under load: {worst['bytes']:,} bytes / {worst['seconds']:.3f} s) — OK")
            deadline = time.perf_counter() + 30
            while True:
                with router.connect() as c:
                    on_replica = c.execute(text("SELECT pg_is_in_recovery()")).scalar()
                if on_replica or time.perf_counter() > deadline:
                    break
                time.sleep(0.2)
            if not on_replica or not any("is back" in m for m in warnings.messages):
                raise AssertionError("the reports did not return to the restarted replica")
            read_pages()
            say(f"check: reports read from the replica again ({warnings.messages[-1]!r}) — OK")
            with system.engine.connect() as c:
                events = c.execute(text("SELECT count(*) FROM case_events")).scalar()
            if events != total or stats.dead:
                raise AssertionError(f"the primary holds {events:,} events of {total:,} ({stats.dead} dead letters)")
            say(f"check: the primary holds all {total:,} events — OK")
            primary, secondary = _fingerprints(system.engine), _fingerprints(router.replica)
            if primary != secondary:
                raise AssertionError(f"the replica differs from the primary: {primary} vs {secondary}")
            say(f"check: the replica equals the primary row for row ({', '.join(f'{t} {n:,}' for t, (n, _) in primary.items())}) — OK")
        finally:
            logging.getLogger(replica.__name__).removeHandler(warnings)
            system.close()
    say(f"stopped both servers; drill took {time.perf_counter() - started:.1f} s")
