"""The benchmark harness behind ``make bench`` (issue 15 item 7): every benchmark, one table.

A benchmark module offers ``measure(scale: float = 1.0) -> list[dict]``, rows of
``{"figure", "value", "unit", "target", "met", "note"}`` (and ``"plain"``: the plain-Dash
way's value in the same unit, where the benchmark measures one).  ``scale`` shrinks sizes
and durations proportionally: 1.0 is what ``make bench`` runs, ``--quick`` (0.01) is the
smoke run a test uses.  :func:`figure` builds a row and judges it against its target.

Each benchmark runs in a process of its own (a crash, a hang or a leftover thread of one
cannot spoil the next; a benchmark over its time budget is stopped and reported FAILED);
its own output goes to ``var/bench/<name>.log``.  The harness writes ``bench/results.json``
(the machine, every row, every benchmark's duration and status) and prints one table.
"""
from __future__ import annotations

import importlib
import json
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
LOGS = ROOT / "var" / "bench"
QUICK_SCALE = 0.01
PG_URL = os.environ.get("CITYGRID_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CITYGRID_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass(frozen=True)
class Bench:
    name: str          # module bench.<name> (or a dotted module path)
    minutes: float     # budget at scale 1.0 on the 2-core machine (stopped past it, plus a margin)
    what: str
    browser: bool = False   # drives headless Chromium (left out of the quick test's run)
    servers: bool = False   # starts servers of its own (a Redis Cluster, a PostgreSQL pair): left out of the
                            # quick test's run — their drills' tests run them in CI


#: Every benchmark ``make bench`` runs, in order (the city-scale ones last).
BENCHES = (
    Bench("worker", 4, "worker catch-up vs a bare batched INSERT, SQLite and PostgreSQL"),
    Bench("backfill", 4, "backfill through the real path (simulate → checked append → worker)"),
    Bench("commands", 3, "click-to-stream latency of a dispatch"),
    Bench("search", 3, "case search and true queues"),
    Bench("regions", 6, "/regions and /inspectors server time, PostgreSQL"),
    Bench("departments", 6, "/departments evaluation on years of history, PostgreSQL"),
    Bench("briefing", 6, "daily briefing page and PDF (Chromium), PostgreSQL", browser=True),
    Bench("briefing_stats", 4, "calibration of the briefing's statistics"),
    Bench("wall", 6, "the wall beside the plain-Dash way", browser=True),
    Bench("wall_push", 6, "the wall pushed beside the wall polling", browser=True),
    Bench("cluster", 4, "checked append and projection: 1 vs 3 partitions, single Redis vs Redis Cluster; "
          "1 vs 3 worker processes on PostgreSQL", servers=True),
    Bench("replica", 3, "PostgreSQL streaming replica: lag under the worker's load, catch-up after a restart", servers=True),
    Bench("processes", 3, "citygrid serve --processes: connections spread, wall snapshots per tick per process", servers=True),
    Bench("city", 20, "the city: 16 districts, 59,072 grids — load, wall, /departments", browser=True),
)


class Skipped(Exception):
    """A benchmark that cannot run here (a service absent): its reason, reported beside it."""


def _number(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.3g}"


def figure(name: str, value, unit: str, *, at_most: float | None = None, at_least: float | None = None,
           plain=None, note: str = "", target: str | None = None) -> dict:
    """One row; ``met`` judged from ``at_most``/``at_least`` (None when there is no target or no value)."""
    value = None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
    met = None
    if at_most is not None:
        target = target or f"≤ {_number(at_most)} {unit}".strip()
        met = None if value is None else value <= at_most
    elif at_least is not None:
        target = target or f"≥ {_number(at_least)} {unit}".strip()
        met = None if value is None else value >= at_least
    plain = None if plain is None or (isinstance(plain, float) and math.isnan(plain)) else float(plain)
    return {"figure": name, "value": value, "unit": unit, "target": target, "met": met, "note": note, "plain": plain}


def sized(full: float, scale: float, least: float) -> float:
    """``full`` × ``scale``, never below ``least``."""
    return max(least, full * scale)


def pg_reachable(url: str = PG_URL) -> bool:
    from sqlalchemy import create_engine, text
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as c:
            c.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure: not reachable
        return False
    finally:
        engine.dispose()


def need_postgresql() -> str:
    """The maintenance URL of the benchmark server; Skipped when it does not answer."""
    if not pg_reachable():
        raise Skipped(f"PostgreSQL not reachable at {PG_URL} (set CITYGRID_TEST_PG_URL)")
    return PG_URL


def machine() -> dict:
    import psutil
    return {"cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30),
            "load_average": [round(x, 1) for x in os.getloadavg()], "python": platform.python_version(),
            "platform": platform.platform(), "cpu": platform.processor() or platform.machine()}


# ---------------------------------------------------------------------------- one benchmark
def run_one(name: str, scale: float, out: Path) -> None:
    """In the child process: measure one benchmark, write its rows as JSON to ``out``."""
    module = importlib.import_module(name if "." in name else f"bench.{name}")
    try:
        rows = module.measure(scale)
        status, error = "ok", None
    except Skipped as exc:
        rows, status, error = [], "skipped", str(exc)
    out.write_text(json.dumps({"rows": rows, "status": status, "error": error}, ensure_ascii=False))


def _stop(child: subprocess.Popen) -> None:
    """Stop a benchmark's process group (its servers, workers and browsers with it)."""
    try:
        os.killpg(child.pid, signal.SIGTERM)
        child.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    except ProcessLookupError:
        pass


def _terminated(signum, frame):
    raise SystemExit(128 + signum)


def _spawn(bench: Bench, scale: float, log: Path, budget_s: float) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        answer = Path(handle.name)
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as output:
        child = subprocess.Popen([sys.executable, "-m", "bench.harness", "--one", bench.name, "--scale", str(scale),
                                  "--answer", str(answer)], cwd=ROOT, stdout=output, stderr=subprocess.STDOUT,
                                 env={**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")},
                                 start_new_session=True)
        try:
            code = child.wait(timeout=budget_s)
        except subprocess.TimeoutExpired:
            _stop(child)
            code = None
        except BaseException:     # the harness itself stopped (SIGTERM, Ctrl-C): the benchmark stops too
            _stop(child)
            raise
    seconds = time.perf_counter() - started
    try:
        found = json.loads(answer.read_text()) if answer.stat().st_size else None
    finally:
        answer.unlink(missing_ok=True)
    if code is None:
        return {"rows": [], "status": "failed", "error": f"stopped after its budget of {budget_s:.0f} s",
                "seconds": seconds}
    if code != 0 or found is None:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:] or ["no output"]
        return {"rows": [], "status": "failed", "error": f"exit {code}: {tail[0][:300]}", "seconds": seconds}
    return {**found, "seconds": seconds}


# ---------------------------------------------------------------------------- the suite
def _budget(bench: Bench, scale: float) -> float:
    """Seconds a benchmark may take before it is stopped: its minutes × scale, half again, + 2 min."""
    return 60 * bench.minutes * max(scale, 0.05) * 1.5 + 120


def run(scale: float = 1.0, only: tuple[str, ...] = (), out: Path = RESULTS, say=print) -> dict:
    chosen = [b for b in BENCHES if not only or b.name in only]
    unknown = set(only) - {b.name for b in BENCHES}
    if unknown:
        raise ValueError(f"unknown benchmark(s): {', '.join(sorted(unknown))}; known: "
                         f"{', '.join(b.name for b in BENCHES)}")
    LOGS.mkdir(parents=True, exist_ok=True)
    report = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "scale": scale,
              "machine": machine(), "benches": [], "rows": []}
    started = time.perf_counter()
    for bench in chosen:
        budget = _budget(bench, scale)
        say(f"bench {bench.name}: {bench.what} …")
        done = _spawn(bench, scale, LOGS / f"{bench.name}.log", budget)
        report["benches"].append({"name": bench.name, "status": done["status"], "error": done["error"],
                                  "seconds": round(done["seconds"], 1)})
        for row in done["rows"]:
            report["rows"].append({"bench": bench.name, **row})
        say(f"  {done['status']} in {done['seconds']:.0f} s" + (f": {done['error']}" if done["error"] else ""))
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["machine"]["load_average_after"] = [round(x, 1) for x in os.getloadavg()]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return report


def _shown(value, unit: str) -> str:
    text = _number(value)
    return text if text == "—" else f"{text} {unit}".strip()


def table(report: dict) -> str:
    """The one table: figure · measured · target · met · plain Dash · note (Markdown)."""
    lines = ["| benchmark | figure | measured | target | met | plain Dash | note |",
             "|---|---|---:|---|:-:|---:|---|"]
    for row in report["rows"]:
        met = {True: "✓", False: "✗ missed", None: ""}[row["met"]]
        lines.append(f"| {row['bench']} | {row['figure']} | {_shown(row['value'], row['unit'])} | "
                     f"{row['target'] or ''} | {met} | {_shown(row.get('plain'), row['unit']) if row.get('plain') is not None else ''} | "
                     f"{row.get('note', '')} |")
    for bench in report["benches"]:
        if bench["status"] != "ok":
            lines.append(f"| {bench['name']} | {bench['status'].upper()} | — | | | | {bench['error']} |")
    return "\n".join(lines)


def summary(report: dict) -> str:
    m = report["machine"]
    times = ", ".join(f"{b['name']} {b['seconds']:.0f} s" for b in report["benches"])
    return (f"{report['started']}, scale {report['scale']:g}: {report['seconds'] / 60:.1f} min in all ({times}); "
            f"{m['cpus']} CPUs, {m['memory_gb']} GB, load average {m['load_average'][0]} before and "
            f"{m['load_average_after'][0]} after")


def main(argv: list[str] | None = None) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m bench", description="Run the benchmark suite; write "
                                     "bench/results.json and print one table (issue 15).")
    parser.add_argument("--quick", action="store_true", help=f"a smoke run at scale {QUICK_SCALE} (about a minute)")
    parser.add_argument("--scale", type=float, default=None, help="sizes and durations × S (default 1.0)")
    parser.add_argument("--only", nargs="+", default=(), metavar="NAME", help="run only these benchmarks")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the results (JSON)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and stop")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--answer", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    scale = args.scale if args.scale is not None else (QUICK_SCALE if args.quick else 1.0)
    if args.one:
        run_one(args.one, scale, args.answer)
        return 0
    if args.list:
        for bench in BENCHES:
            print(f"{bench.name:15s} ~{bench.minutes:g} min  {bench.what}")
        return 0
    if not 0 < scale <= 10:
        parser.error(f"--scale must be in (0, 10], not {scale:g}")
    signal.signal(signal.SIGTERM, _terminated)   # a stopped harness stops its running benchmark
    try:
        report = run(scale, tuple(args.only), args.out)
    except ValueError as exc:
        parser.error(str(exc))
    print()
    print(table(report))
    print()
    print(summary(report))
    print(f"written: {args.out}")
    return 1 if any(b["status"] == "failed" for b in report["benches"]) else 0


if __name__ == "__main__":
    sys.exit(main())
