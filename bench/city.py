"""Benchmark: a whole city (issue 15 item 5) — 16 districts, 59,072 unit grids (:mod:`bench.citygen`).

    python -m bench.city [--scale 1.0] [--phases load departments]

Phase **load** (one run, everything on this machine at once, PostgreSQL when it answers):

1. history at Beijing's volume — 59,000 cases a day (the 12345 hotline's 21.4 million requests
   of 2023 / 365), ``3 × scale`` days, through the real path (the simulator's stories → the
   checked append → the worker);
2. a worker process (``citygrid worker``) and one server process (``citygrid serve``'s
   waitress: the pushed wall) on the city scenario;
3. live traffic at **1,000 events/s** (:class:`bench.wall.Traffic`, unchecked appends) for
   ``180 × scale`` s (at least 20 s); the consumer group's lag (entries not yet read + read and
   not yet acknowledged, ``XINFO GROUPS``) sampled every second: its p95, its last value and
   its slope over the second half (a lag that grows means the worker cannot keep up);
4. meanwhile headless Chromium opens ``/wall`` of the whole city: first full paint (every grid
   drawn, markers in, stage numbers shown), bytes of the first load and bytes per second at
   steady state (the CDP Network domain: encoded bytes of every response and of the event
   stream), and event → screen p95 of probe reports published at a known time; then two clients
   of the wall's event stream over one window, one accepting gzip and one not
   (:func:`bench.wall_push.push_load`): what the stream's gzip saves, under the same load.

Phase **departments**: ``32`` days (the 30-day window needs a day on each side) at Beijing's
volume × ``scale`` generated straight into PostgreSQL with COPY (:func:`bench.departments.generate`
on the city scenario: 1.9 million cases at scale 1; the daily roll-up counted once after the
COPY), then ``/departments`` timed (:func:`bench.departments.timings`), through the roll-up
and side by side grouped from the cases.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from bench.citygen import ensure
from bench.teardown import teardown

ROOT = Path(__file__).resolve().parent.parent
CITY_DIR = ROOT / "var" / "bench" / "city"
BEIJING_PER_DAY = 59_000
RATE = 1000
PHASES = ("load", "departments")


def city() -> Path:
    """The generated city scenario (made once under var/bench/city)."""
    return ensure(CITY_DIR)


def _database(name: str, folder: Path) -> str:
    from bench.harness import PG_URL, pg_reachable
    from bench.worker import fresh_database
    return fresh_database("postgresql", PG_URL, folder, name) if pg_reachable() else f"sqlite:///{folder / 'city.db'}"


def group_lag(redis, key: str, group: str) -> int:
    """Entries of the stream the group has not acknowledged (not yet read + pending)."""
    for info in redis.xinfo_groups(key):
        name = info["name"].decode() if isinstance(info["name"], bytes) else info["name"]
        if name == group:
            return int(info.get("lag") or 0) + int(info["pending"])
    return 0


def slope(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope (per second) of (t, value) samples."""
    if len(samples) < 3:
        return 0.0
    ts, vs = [s[0] for s in samples], [s[1] for s in samples]
    mt, mv = statistics.fmean(ts), statistics.fmean(vs)
    den = sum((t - mt) ** 2 for t in ts)
    return sum((t - mt) * (v - mv) for t, v in zip(ts, vs)) / den if den else 0.0


def pct(values, q):
    from bench.wall import pct as wall_pct
    return wall_pct(values, q)


# ---------------------------------------------------------------------------- the browser
#: When each probe case enters the wall's own state of open cases (``citygridWall.markers``, what
#: the map's markers and clusters are drawn from).  At 1,000 events/s the pulses cannot serve:
#: the wall pulses at most a few new reports per tick, so most probes would never pulse.
MARKER_PROBE_JS = """(ids) => { window.__seen = {}; const want = new Set(ids);
  (function poll() { const W = window.citygridWall, t = performance.timeOrigin + performance.now();
    if (W) for (const id of want) if (W.markers.has(id)) { window.__seen[id] = t; want.delete(id); }
    if (want.size) requestAnimationFrame(poll); })(); }"""


def open_wall(chromium, url: str, grids: int):
    """A wall opened in a new browser context, counting every byte it receives (the CDP Network
    domain: encoded bytes of every response and of the event stream), waited for until its first
    full paint.  (context, page, [(monotonic time, bytes)…], paint ms or None, when painted)."""
    from bench.wall import PAINTED
    context = chromium.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    received: list[tuple[float, int]] = []
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.on("Network.dataReceived", lambda e: received.append((time.monotonic(), int(e.get("encodedDataLength") or 0))))
    page.add_init_script(PAINTED["wall"].replace("GRIDS", str(grids)))
    page.goto(url, timeout=120_000)
    try:
        page.wait_for_function("() => window.__paint", timeout=180_000, polling=250)
        paint_ms = page.evaluate("window.__paint")
    except Exception:  # noqa: BLE001 - never painted within the time: the figure says so
        paint_ms = None
    return context, page, received, paint_ms, time.monotonic()


def rate(received: list[tuple[float, int]], start: float, end: float) -> float:
    """Bytes per second received between ``start`` and ``end`` (monotonic)."""
    return sum(n for t, n in received if start < t <= end) / (end - start)


def browser(chromium, url: str, grids: int, traffic, steady_s: float, probes: int) -> dict:
    """First paint, first-load bytes, steady bytes per second and event → screen of one wall."""
    from datasource.redis.stream import stamped
    opened = time.monotonic()
    context, page, received, paint_ms, painted = open_wall(chromium, url, grids)
    load_bytes = sum(n for t, n in received if t <= painted)
    page.wait_for_timeout(2000)
    start = time.monotonic()
    page.wait_for_timeout(steady_s * 1000)
    steady = rate(received, start, time.monotonic())
    ids = [traffic.case_id() for _ in range(probes)]
    page.evaluate(MARKER_PROBE_JS, ids)
    published = {}
    for case_id in ids:
        published[case_id] = time.time() * 1000
        traffic.system.stream.append_raw(stamped(traffic.report(case_id, "探针")))
        time.sleep(0.5)
    try:   # a probe behind a lagging worker arrives late: wait for it (up to 30 s), the figure tells
        page.wait_for_function(f"() => Object.keys(window.__seen).length >= {len(ids)}", timeout=30_000, polling=200)
    except Exception:  # noqa: BLE001 - not every probe arrived in time: those are left out (and counted)
        pass
    seen = page.evaluate("window.__seen")
    page.screenshot(path=str(ROOT / "var" / "bench" / "city-wall.png"))
    context.close()
    return {"paint_ms": paint_ms, "goto_s": painted - opened, "load_bytes": load_bytes, "bytes_per_s": steady,
            "e2s_ms": [seen[c] - published[c] for c in ids if c in seen], "probes": len(ids)}


# ---------------------------------------------------------------------------- phase: load
def load_phase(scale: float, say=print) -> dict:
    from playwright.sync_api import sync_playwright

    import bench.wall as wall
    from bench.harness import REDIS_URL
    from dashboard.settings import Settings
    from datasource.services import accounts
    from datasource.simulation.backfill import append_history, backfill, generate_history
    from datasource.system import System
    from tests.browser import free_port, launch

    folder = Path(tempfile.mkdtemp(prefix="bench-city-"))
    scenario_dir = city()
    url = _database("city", folder)
    env = {"CITYGRID_DATA_DIR": str(folder), "CITYGRID_DATABASE_URL": url, "CITYGRID_SCENARIO": str(scenario_dir),
           "CITYGRID_REDIS_URL": REDIS_URL, "CITYGRID_STREAM": f"bench:city:{uuid.uuid4().hex[:8]}:events",
           "CITYGRID_TICK_MS": "1000", "CITYGRID_CONSUMER": "bench-worker", "CITYGRID_COMPONENTS_AUTOLOAD": "false"}
    settings = Settings.from_env(env)
    system = System(settings).start()
    grids = len(system.scenario.grids_geojson["features"])
    processes: list[subprocess.Popen] = []
    stop = threading.Event()
    out: dict = {"grids": grids, "database": system.engine.dialect.name}
    try:
        days = max(0.05, 3 * scale)
        say(f"history: {days:g} days at {BEIJING_PER_DAY:,} cases a day …")
        started = time.perf_counter()
        history = generate_history(system.scenario, system.locator, days, seed=1, per_day=BEIJING_PER_DAY)
        out["history"] = {"days": days, "cases": history.cases, "events": len(history.events)}
        append_history(system.stream, history)
        del history
        stats = system.worker().drain()
        out["history"]["seconds"] = round(time.perf_counter() - started, 1)
        out["history"]["events_per_s_end_to_end"] = round(stats.applied / max(time.perf_counter() - started, 1e-9))
        say(f"  {out['history']}")
        assert backfill  # the same path as ``backfill`` (which has Dongcheng's volume built in)
        accounts.add_user(system.engine, "city-wall", "wall")
        token = accounts.create_token(system.engine, "city-wall")
        processes.append(wall.start_process(["-c", "from dashboard.cli.commands import main; main()", "worker"], env))
        port = free_port()
        server = wall.start_process(["-c", "import sys; sys.argv[0] = 'bench/wall_push.py'; "
                                     "from bench.wall_push import serve; serve(int(sys.argv[1]))", str(port)], env)
        processes.append(server)
        base = f"http://127.0.0.1:{port}"
        wall.wait_http(base + "/login", timeout=300)
        t_layers = time.monotonic()   # the server builds the map layers once, at start (a warm-up thread)
        wall.wait_http(base + "/geo/grids.geojson", timeout=600)
        out["layers_built_s"] = round(time.monotonic() - t_layers, 1)
        say(f"server up; map layers ready {out['layers_built_s']} s later")
        traffic_thread = wall.Traffic(system, seed=5)
        seconds = max(20.0, 180 * scale)
        lags: list[tuple[float, int]] = []
        group = settings.group
        produced = threading.Thread(target=traffic_thread.run, args=(RATE, stop), daemon=True)
        t0 = time.monotonic()
        produced.start()
        length0 = system.stream.length()

        def sample():
            while not stop.is_set():
                lags.append((time.monotonic() - t0, group_lag(system.redis, settings.stream, group)))
                stop.wait(1.0)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        say(f"live traffic at {RATE:,} events/s for {seconds:g} s; the wall in Chromium meanwhile …")
        probe = wall.Traffic(system, seed=11)
        with sync_playwright() as playwright:
            chromium = launch(playwright)
            out["wall"] = browser(chromium, f"{base}/wall?token={token}&kiosk=1", grids, probe,
                                  steady_s=max(5.0, min(20.0, seconds / 6)), probes=max(6, round(20 * min(scale, 1))))
            chromium.close()
        # The stream's gzip, side by side: two clients on /wall/stream over one window, one accepting
        # gzip (as browsers do), one not — HTTP clients, not two walls: a second city wall in the
        # browser saturates the two cores and stops reading its stream, which would count nothing.
        from bench.wall_push import push_load
        beside = push_load(base, wall.login_cookie(base, token), 2, max(5.0, min(20.0, seconds / 6)), server.pid,
                           gzip=(True, False))
        out["wall"]["beside"] = {"gzip": beside["bytes_per_s_gzip"], "plain": beside["bytes_per_s_plain"]}
        remaining = seconds - (time.monotonic() - t0)
        if remaining > 0:
            stop.wait(remaining)
        elapsed = time.monotonic() - t0
        stop.set()
        produced.join(timeout=10)
        sampler.join(timeout=5)
        sent = system.stream.length() - length0
        drained_at = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if group_lag(system.redis, settings.stream, group) == 0:
                drained_at = time.monotonic() - t0 - elapsed
                break
            time.sleep(0.2)
        values = [v for _, v in lags]
        half = [s for s in lags if s[0] >= elapsed / 2]
        out["load"] = {"seconds": round(elapsed, 1), "events": sent, "rate": sent / elapsed,
                       "lag_p95": pct(values, 0.95), "lag_max": max(values, default=0), "lag_last": values[-1] if values else 0,
                       "lag_slope_per_s": slope(half), "drain_after_s": drained_at}
        with system.engine.connect() as c:
            from sqlalchemy import func, select
            from datasource.store import schema
            out["load"]["open_cases"] = c.execute(select(func.count()).select_from(schema.cases)
                                                  .where(schema.cases.c.stage.in_(("reported", "filed", "dispatched",
                                                                                   "handled", "verified", "suspended")))).scalar()
        say(f"  {out['load']}")
        say(f"  wall: paint {out['wall']['paint_ms']} ms, load {out['wall']['load_bytes']:,} B, "
            f"{out['wall']['bytes_per_s']:,.0f} B/s, event→screen p95 {pct(out['wall']['e2s_ms'], 0.95)} ms "
            f"({len(out['wall']['e2s_ms'])}/{out['wall']['probes']}); side by side: gzip "
            f"{out['wall']['beside']['gzip']:,.0f} B/s, uncompressed {out['wall']['beside']['plain']:,.0f} B/s")
        return out
    finally:
        teardown(stop, processes, system, settings.stream, timeout=15)


# ---------------------------------------------------------------------------- phase: departments
def departments_phase(scale: float, say=print) -> dict:
    from bench import departments
    from bench.harness import REDIS_URL, need_postgresql
    from sqlalchemy import text
    from datasource.store.database import make_engine
    pg = need_postgresql()
    os.environ["CITYGRID_SCENARIO"] = str(city())
    os.environ["CITYGRID_COMPONENTS_AUTOLOAD"] = "false"
    name = "citygrid_bench_city_departments"
    admin = make_engine(pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = pg.rsplit("/", 1)[0] + "/" + name
    days, cases = 32, round(32 * BEIJING_PER_DAY * scale)
    now = datetime.now(timezone.utc)
    say(f"generating {cases:,} cases over {days} days (the city, COPY) …")
    made = departments.generate(url, cases, days, now, seed=1)
    say(f"  {made}")
    times = departments.timings(url, now, 3, REDIS_URL)
    return {"generated": made, "days": days, **times}


def measure(scale: float = 1.0) -> list[dict]:
    """For ``make bench``: both phases."""
    from bench.harness import Skipped, figure, pg_reachable
    load = load_phase(scale)
    w, l, h = load["wall"], load["load"], load["history"]
    slice_note = (f"{l['seconds']:.0f} s slice at {RATE:,} events/s (the issue: 10 min) on {load['grids']:,} grids, "
                  f"{load['database']}, after {h['days']:g} days at {BEIJING_PER_DAY:,} cases/day "
                  f"({h['cases']:,} cases, {l['open_cases']:,} open)")
    rows = [figure("city: events/s sustained", l["rate"], "events/s", at_least=RATE * 0.98, target="≥ 1,000 events/s",
                   note=slice_note),
            figure("city: consumer lag p95 during the slice", l["lag_p95"] / RATE, "s", at_most=5,
                   note=f"max {l['lag_max']:,} entries, last {l['lag_last']:,}; "
                        + (f"drained {l['drain_after_s']:.1f} s after the traffic stopped" if l["drain_after_s"] is not None
                           else "not drained 120 s after the traffic stopped")),
            figure("city: lag growth over the slice's second half", l["lag_slope_per_s"], "entries/s", at_most=RATE * 0.01,
                   target="≈ 0 (≤ 1 % of the rate)", note="least-squares slope of the lag"),
            figure("city wall: event → screen p95", pct(w["e2s_ms"], 0.95), "ms", at_most=1000,
                   note=f"{len(w['e2s_ms'])}/{w['probes']} probes seen, under the 1,000 events/s load"),
            figure("city wall: first full paint", w["paint_ms"], "ms", at_most=5000,
                   note=f"{load['grids']:,} grids, under the load; first load {w['load_bytes'] / 2**20:.1f} MB "
                        f"compressed; the server built its map layers once at start ({load['layers_built_s']} s)"),
            figure("city wall: traffic per second at steady state", w["bytes_per_s"] / 1024, "KB/s", at_most=50,
                   note="CDP Network domain, every response and the event stream (gzip); the stream alone, side by "
                        f"side: {w['beside']['gzip'] / 1024:,.1f} KB/s gzip, {w['beside']['plain'] / 1024:,.1f} KB/s "
                        "uncompressed"),
            figure("city: history through the real path, end to end", h["events_per_s_end_to_end"], "events/s",
                   note=f"{h['events']:,} events of {h['cases']:,} cases in {h['seconds']:.0f} s "
                        "(generate, checked append, worker drain)"),
            figure("city: server start, map layers of 59,072 grids built", load["layers_built_s"], "s",
                   note="once per web process, in its warm-up thread; a wall opened before waits for it")]
    if pg_reachable():
        try:
            dep = departments_phase(scale)
            rows.append(figure("city /departments overview, 30-day window (slowest)",
                               max(x[3] for x in dep["windows"]), "ms", at_most=300,
                               note=f"{dep['generated']['cases']:,} cases over {dep['days']} days, 283 departments; "
                                    f"through the daily roll-up (grouped from the cases, as before it: "
                                    f"{max(x[2] for x in dep['windows_from_cases']):,.0f} ms)"))
            rows.append(figure("city /departments page callback", dep["departments_page_ms"], "ms", at_most=300,
                               note="in-process HTTP, formatting included"))
        except Skipped as exc:
            rows.append(figure("city /departments overview, 30-day window (slowest)", None, "ms", at_most=300,
                               note=str(exc)))
    else:
        rows.append(figure("city /departments overview, 30-day window (slowest)", None, "ms", at_most=300,
                           note="not measured: PostgreSQL not reachable"))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--phases", nargs="+", choices=PHASES, default=PHASES)
    args = parser.parse_args(argv)
    for phase in args.phases:
        result = (load_phase if phase == "load" else departments_phase)(args.scale)
        print(json.dumps(result, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
