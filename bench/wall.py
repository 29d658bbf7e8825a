"""Benchmark: the wall display vs "the plain Dash way", side by side in one run.

    python bench/wall.py [--days 30] [--rate 100] [--viewers 50] [--seconds 20] [--redis URL]

Set-up: a SQLite reporting database backfilled with ``--days`` of history (the simulator),
a worker thread, live traffic at ``--rate`` events/s (the simulator's ``simulate``; a small
built-in generator if that is unavailable), and two servers in their own processes (so
their CPU can be measured apart): the real app, and a plain Dash page whose callback
re-queries the database on every request and re-sends the whole grid GeoJSON each tick
(:func:`plain_app`, built the way a first Dash version of this page would be).

Figures (medians, p95, ratios to the plain way):
- event → screen: probe reports with unique case ids are published at a known wall-clock
  time; a MutationObserver in headless Chromium records when the case id enters the DOM
  (our pulse marker ``[data-case]``, the plain page's list of new reports);
- bytes per tick at steady state (Resource Timing: encoded body of each tick response);
- first load of /wall: compressed bytes of every resource, and time to the first full paint
  (grids drawn, markers in, stage numbers shown);
- N viewers polling the tick callback at once over HTTP: tick latency p50/p95 and the
  server's CPU seconds per second for N viewers vs 1.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import psutil  # noqa: E402

from dashboard.settings import Settings  # noqa: E402
from datasource.redis.stream import stamped  # noqa: E402
from bench.teardown import teardown  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PROBE_JS = """(ids) => { window.__seen = {}; const want = new Set(ids);
  const note = (e, t) => { const id = e.dataset && e.dataset.case;
    if (id && want.has(id) && !(id in window.__seen)) window.__seen[id] = t; };
  // New nodes (our pulses) and reused nodes whose data-case changed (React reusing list items).
  new MutationObserver(muts => { const t = performance.timeOrigin + performance.now();
    for (const m of muts) {
      if (m.type === 'attributes') { note(m.target, t); continue; }
      for (const n of m.addedNodes) if (n.nodeType === 1) [n, ...n.querySelectorAll('[data-case]')].forEach(e => note(e, t));
    } }).observe(document.body, {childList: true, subtree: true, attributes: true, attributeFilter: ['data-case']}); }"""
TICK_BYTES_JS = """() => performance.getEntriesByType('resource').filter(e => e.name.includes('_dash-update-component'))
  .map(e => [e.startTime, e.encodedBodySize, e.decodedBodySize])"""
LOAD_JS = """() => { const n = performance.getEntriesByType('navigation')[0];
  const r = performance.getEntriesByType('resource').filter(e => !e.name.includes('_dash-update-component'));
  return [n.transferSize + r.reduce((a, e) => a + e.transferSize, 0), r.length]; }"""


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else float("nan")


# ---- live traffic --------------------------------------------------------------------------
class Traffic:
    """A minimal closed-loop event generator (fallback when the simulator is unavailable)."""

    STEPS = {"reported": (("filed", 0.92), ("rejected", 1.0)), "filed": (("dispatched", 1.0),),
             "dispatched": (("handled", 0.93), ("returned", 1.0)), "handled": (("verified", 0.88), ("rework", 1.0)),
             "verified": (("closed", 1.0),)}
    AFTER = {"filed": "filed", "dispatched": "dispatched", "handled": "handled", "verified": "verified",
             "returned": "filed", "rework": "dispatched"}

    def __init__(self, system, seed: int = 1):
        self.system, self.rng = system, random.Random(seed)
        scenario = system.scenario
        self.categories = list(scenario.categories)
        points = [p.representative_point() for p in system.locator.polygons]
        self.places = [(round(p.x, 6), round(p.y, 6), street) for p, street in zip(points, system.locator.streets)]
        self.open: list[list] = []     # [case id, stage, category, street]
        self.serials: list[str] = []

    def case_id(self) -> str:
        if not self.serials:
            day = datetime.now(self.system.scenario.calendar.tz).date()
            top = self.system.redis.incrby(f"{self.system.stream.prefix}seq:{day:%Y%m%d}", 1000)
            self.serials = [f"DC{day:%Y%m%d}{n:06d}" for n in range(top - 999, top + 1)]
        return self.serials.pop(0)

    def report(self, case_id: str | None = None, description: str = "") -> dict:
        lon, lat, street = self.rng.choice(self.places)
        category = self.rng.choice(self.categories)
        case_id = case_id or self.case_id()
        self.open.append([case_id, "reported", category, street])
        return self.fields(case_id, "reported", {"category": category, "lon": lon, "lat": lat, "source": "inspector",
                                                 "description": description or "巡查发现"})

    def fields(self, case_id, kind, body) -> dict:
        return {"event_id": uuid.uuid4().hex, "case_id": case_id, "type": kind,
                "at": datetime.now(timezone.utc).isoformat(), "actor": "bench",
                "body": json.dumps(body, ensure_ascii=False, separators=(",", ":"))}

    def step(self) -> dict:
        if len(self.open) < 50 or self.rng.random() < 0.18:
            return self.report()
        i = int(self.rng.random() * len(self.open))
        case = self.open[i]
        roll, kind = self.rng.random(), None
        for kind, bound in self.STEPS[case[1]]:
            if roll < bound:
                break
        body = {"department": self.system.scenario.department_for(case[2], case[3])} if kind == "dispatched" else {}
        if kind in ("rejected", "returned", "rework"):
            body["reason"] = "bench"
        if kind in self.AFTER:
            case[1] = self.AFTER[kind]
        else:  # closed or rejected: the case leaves the loop
            self.open[i] = self.open[-1]
            self.open.pop()
        return self.fields(case[0], kind, body)

    def run(self, rate: float, stop: threading.Event) -> None:
        """Publish ``rate`` events per second in tenths of a second until ``stop``."""
        started, n = time.monotonic(), 0
        while not stop.is_set():
            due = int((time.monotonic() - started) * rate)
            pipe = self.system.redis.pipeline(transaction=False)
            for _ in range(due - n):
                self.system.stream.append_raw(stamped(self.step()), pipe)   # unchecked: a load generator
            pipe.execute()
            n = due
            stop.wait(0.1)


def background_traffic(settings: Settings, rate: float, stop: threading.Event) -> str:
    """Start live traffic in a thread; which producer runs."""
    from datasource.system import System
    system = System(settings).start()
    try:
        from datasource.simulation.traffic import simulate
        simulate(system, 1, 0.01, seed=3)  # does it work on this scenario at all?
    except Exception as exc:  # noqa: BLE001 - any failure: use the built-in generator
        print(f"  (simulator unavailable: {exc}; using the built-in generator)")
        threading.Thread(target=Traffic(system, seed=3).run, args=(rate, stop), daemon=True).start()
        return "built-in generator"
    threading.Thread(target=simulate, args=(system, rate, None), kwargs={"seed": 3, "stop": stop}, daemon=True).start()
    return "datasource.simulation.traffic.simulate"


# ---- "the plain Dash way" ------------------------------------------------------------------
PLAIN_JS = """window.dashExtensions = Object.assign({}, window.dashExtensions, {plain: {
  style: function (f) { var n = f.properties.open; return {weight: 0.5, color: '#1a2d4d', fillOpacity: n ? 0.85 : 0,
    fillColor: n >= 8 ? '#f0cc4a' : n >= 3 ? '#38a3d1' : '#1f4f80'}; },
  each: function () { window.plainGrids = (window.plainGrids || 0) + 1; } }});"""


def plain_app(settings: Settings):
    """One callback per tick: query everything, build the whole GeoJSON, send it all."""
    import dash
    import dash_leaflet as dl
    from dash import Input, Output, dcc, html
    from flask_compress import Compress
    from sqlalchemy import case, func, select

    from datasource.services import wall_queries as q
    from datasource.store import schema
    from datasource.system import System

    system = System(settings).start()
    features = system.scenario.grids_geojson["features"]
    folder = Path(tempfile.mkdtemp(prefix="plain-assets-"))
    (folder / "plain.js").write_text(PLAIN_JS)
    app = dash.Dash("plain", assets_folder=str(folder), compress=False, update_title=None)
    app.server.config.update(COMPRESS_MIMETYPES=["text/html", "text/css", "application/json", "application/javascript"],
                             COMPRESS_MIN_SIZE=500)
    Compress(app.server)
    app.layout = html.Div([
        html.Div(id="strip"), html.Div(id="ticker"), html.Ul(id="new"),
        dl.Map([dl.GeoJSON(id="grids", style={"variable": "dashExtensions.plain.style"},
                           onEachFeature={"variable": "dashExtensions.plain.each"}),
                dl.GeoJSON(id="markers", cluster=True)],
               center=[39.915, 116.41], zoom=12.6, zoomSnap=0.1, preferCanvas=True, style={"height": "80vh"}),
        dcc.Interval(id="tick", interval=settings.tick_ms)])

    @app.callback(Output("grids", "data"), Output("markers", "data"), Output("strip", "children"),
                  Output("ticker", "children"), Output("new", "children"), Input("tick", "n_intervals"))
    def tick(_):
        cases = schema.cases
        now = datetime.now(timezone.utc)
        with system.engine.connect() as c:
            counts = q.stage_counts(c)
            flow = q.flow_of_day(c, datetime.now(system.scenario.calendar.tz).date())
            per_grid = {g: (n, d) for g, n, d in c.execute(
                select(cases.c.grid_code, func.count(), func.sum(case((cases.c.deadline_at <= now, 1), else_=0)))
                .where(cases.c.stage.in_(q.OPEN)).group_by(cases.c.grid_code))}
            markers = c.execute(select(cases.c.case_id, cases.c.lon, cases.c.lat, cases.c.stage)
                                .where(cases.c.stage.in_(q.OPEN))).all()
            ticker = q.latest_events(c, 8)
            events = schema.case_events
            new = c.execute(select(events.c.case_id).where(events.c.type == "reported")
                            .order_by(events.c.id.desc()).limit(50)).scalars().all()
        grids = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": f["geometry"],
             "properties": {"code": f["properties"]["code"], "open": per_grid.get(f["properties"]["code"], (0, 0))[0],
                            "overdue": per_grid.get(f["properties"]["code"], (0, 0))[1]}} for f in features]}
        points = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
             "properties": {"id": cid, "stage": stage}} for cid, lon, lat, stage in markers]}
        strip = [html.Div(f"{stage}: {counts.get(stage, 0)} / {flow.get(stage, 0)}") for stage in q.OPEN]
        rows = [html.Div(f"{r['at']:%H:%M:%S} {r['case_id']} {r['type']}") for r in ticker]
        return grids, points, strip, rows, [html.Li(cid, **{"data-case": cid}) for cid in new]

    return app


# ---- servers in their own processes --------------------------------------------------------
def serve(variant: str, port: int) -> None:
    from waitress import serve as waitress_serve
    settings = Settings.from_env()
    if variant == "wall":
        from dashboard.web.factory import create_app, start
        app = start(create_app(settings))
    else:
        app = plain_app(settings)
    waitress_serve(app.server, host="127.0.0.1", port=port, threads=16, ident=variant, _quiet=True)


def start_process(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], env={**os.environ, **env}, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_http(url: str, timeout: float = 120) -> None:
    import urllib.request
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


# ---- browser figures -----------------------------------------------------------------------
PAINTED = {
    "wall": """(() => { performance.setResourceTimingBufferSize(100000); (function poll() {
      const W = window.citygridWall, s = document.querySelector('[id*="wall-stage"]');
      if (W && Object.keys(W.layers).length >= GRIDS && W.markers.size > 0 && s && s.textContent !== '—') {
        window.__paint = performance.now(); return; }
      requestAnimationFrame(poll); })(); })();""",
    "plain": """(() => { performance.setResourceTimingBufferSize(100000); (function poll() {
      const s = document.querySelector('#strip');
      if ((window.plainGrids || 0) >= GRIDS && s && s.textContent) { window.__paint = performance.now(); return; }
      requestAnimationFrame(poll); })(); })();""",
}
IS_TICK = {"wall": '"wall-payload.data"', "plain": "grids.data"}
PAINT_TIMEOUT_S = 90


def browser_figures(chromium, url: str, variant: str, grids: int, traffic: Traffic, seconds: float) -> dict:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    context = chromium.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    page.add_init_script(PAINTED[variant].replace("GRIDS", str(grids)))
    template: dict = {}
    page.on("request", lambda r: template.setdefault("body", r.post_data)
            if "_dash-update-component" in r.url and IS_TICK[variant] in (r.post_data or "") else None)
    page.goto(url)
    try:
        page.wait_for_function("() => window.__paint", timeout=PAINT_TIMEOUT_S * 1000)
        paint = page.evaluate("window.__paint")
    except PlaywrightTimeout:  # the plain page can fall behind its own ticks and never settle
        paint = None
    page.wait_for_timeout(1000)
    # First load: the page, every static resource and the first tick (the whole state) — later
    # ticks before the paint are not "loading" (the plain page may need many to paint once).
    load = page.evaluate("""([paint, tick]) => { const n = performance.getEntriesByType('navigation')[0];
      const r = performance.getEntriesByType('resource').filter(e => e.startTime <= paint);
      const isTick = e => e.name.includes('_dash-update-component') && e.encodedBodySize > tick;
      const ticks = r.filter(isTick);
      return n.transferSize + r.filter(e => !isTick(e)).reduce((a, e) => a + e.transferSize, 0)
        + (ticks.length ? ticks[0].transferSize : 0); }""", [paint if paint is not None else 1e12, 20_000])
    # Event → screen: probe reports at a known wall-clock time, seen by a MutationObserver.
    probes = [traffic.case_id() for _ in range(int(seconds * 2))]
    page.evaluate(PROBE_JS, probes)
    steady_from = page.evaluate("performance.now()")
    published = {}
    for case_id in probes:
        published[case_id] = time.time() * 1000
        traffic.system.stream.append_raw(stamped(traffic.report(case_id, "探针")))
        time.sleep(0.5)
    page.wait_for_timeout(6000)
    seen = page.evaluate("window.__seen")
    ticks = [row for row in page.evaluate(TICK_BYTES_JS) if row[0] > steady_from]
    context.close()
    latencies = [seen[c] - published[c] for c in probes if c in seen]
    return {"paint_ms": paint, "load_bytes": load, "tick_bytes": [r[1] for r in ticks],
            "tick_raw_bytes": [r[2] for r in ticks], "e2s_ms": latencies, "probes": len(probes),
            "template": template.get("body")}


# ---- N viewers over HTTP -------------------------------------------------------------------
def http_load(base: str, cookie: str, template: str, variant: str, viewers: int, seconds: float, tick_s: float,
              server_pid: int) -> dict:
    import gzip
    import http.client
    from urllib.parse import urlparse
    host, port = urlparse(base).hostname, urlparse(base).port
    body0 = json.loads(template)
    latencies, sizes, errors, timeline = [], [], [], []
    end = time.monotonic() + seconds + 2 * tick_s
    steady = time.perf_counter() + 2 * tick_s   # every viewer has joined by then
    headers = {"Content-Type": "application/json", "Accept-Encoding": "gzip", "Cookie": cookie}

    def viewer():
        conn = http.client.HTTPConnection(host, port, timeout=120)
        cursor, n = None, 0
        due = time.monotonic() + random.random() * tick_s
        while True:
            now = time.monotonic()
            if now >= end:
                break
            if due > now:
                time.sleep(due - now)
            body = dict(body0)
            body["inputs"] = [dict(body0["inputs"][0], value=n)]
            if variant == "wall":
                body["state"] = [dict(body0["state"][0], value=cursor)]
            started = time.perf_counter()
            conn.request("POST", "/_dash-update-component", json.dumps(body), headers)
            response = conn.getresponse()
            data = response.read()
            if n and started > steady:  # joining (each viewer's first, whole-state request) is not a tick
                latencies.append((time.perf_counter() - started) * 1000)
                sizes.append(len(data))
                timeline.append((time.monotonic(), latencies[-1]))
            if response.status != 200:
                errors.append(response.status)
            elif variant == "wall":
                raw = gzip.decompress(data) if response.getheader("Content-Encoding") == "gzip" else data
                cursor = json.loads(raw)["response"]["wall-payload"]["data"]["v"]
            n += 1
            due += tick_s
        conn.close()

    process = psutil.Process(server_pid)
    threads = [threading.Thread(target=viewer) for _ in range(viewers)]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, steady - time.perf_counter()))  # CPU too is measured at steady state
    cpu0, wall0 = sum(process.cpu_times()[:2]), time.monotonic()
    for thread in threads:
        thread.join()
    cpu = (sum(process.cpu_times()[:2]) - cpu0) / (time.monotonic() - wall0)
    slow = sorted(round(t - wall0, 2) for t, ms in timeline if ms > 100)
    return {"p50_ms": pct(latencies, 0.5), "p95_ms": pct(latencies, 0.95), "requests": len(latencies),
            "cpu_per_s": cpu, "bytes_median": pct(sizes, 0.5), "errors": len(errors), "slow_at_s": slow}


def settle(pid: int, timeout: float = 120) -> None:
    """Wait until a server process is (nearly) idle."""
    process, deadline = psutil.Process(pid), time.monotonic() + timeout
    while time.monotonic() < deadline and process.cpu_percent(interval=1.0) > 15:
        pass


def login_cookie(base: str, token: str) -> str:
    import http.client
    from urllib.parse import urlparse
    conn = http.client.HTTPConnection(urlparse(base).hostname, urlparse(base).port, timeout=30)
    conn.request("GET", f"/wall?token={token}")
    response = conn.getresponse()
    response.read()
    return "; ".join(c.split(";", 1)[0] for c in response.headers.get_all("Set-Cookie") or [])


# ---- the run -------------------------------------------------------------------------------
def table(results: dict, viewers: int) -> str:
    w, p = results["wall"], results["plain"]

    def row(name, a, b, unit="", target="", digits=0):
        def shown(v):
            if v is None or v != v:  # None or NaN: never reached (e.g. no paint within the timeout)
                return f"> {PAINT_TIMEOUT_S * 1000:,} ms" if unit == " ms" and "paint" in name else "—"
            return f"{v:,.{digits}f}{unit}"
        ok = all(v is not None and v == v for v in (a, b)) and a
        return f"| {name} | {shown(a)} | {shown(b)} | {f'{b / a:,.1f}×' if ok else '—'} | {target} |"

    lines = ["| figure | wall | plain Dash | plain / wall | target |", "|---|---:|---:|---:|---|",
             row("event → screen p50", pct(w["e2s_ms"], 0.5), pct(p["e2s_ms"], 0.5), " ms"),
             row("event → screen p95", pct(w["e2s_ms"], 0.95), pct(p["e2s_ms"], 0.95), " ms"),
             row("bytes per tick (median, compressed)", pct(w["tick_bytes"], 0.5), pct(p["tick_bytes"], 0.5), " B",
                 "≤ 10 KB"),
             row("bytes per tick (median, uncompressed)", pct(w["tick_raw_bytes"], 0.5), pct(p["tick_raw_bytes"], 0.5),
                 " B"),
             row("first load, compressed bytes", w["load_bytes"], p["load_bytes"], " B", "≤ 2 MB"),
             row("first full paint", w["paint_ms"], p["paint_ms"], " ms", "≤ 3 s"),
             row("tick latency p95, 1 viewer", w["one"]["p95_ms"], p["one"]["p95_ms"], " ms", "", 1),
             row(f"tick latency p50, {viewers} viewers", w["many"]["p50_ms"], p["many"]["p50_ms"], " ms", "", 1),
             row(f"tick latency p95, {viewers} viewers", w["many"]["p95_ms"], p["many"]["p95_ms"], " ms", "≤ 200 ms", 1),
             row("server CPU, 1 viewer (CPU-s per s)", w["one"]["cpu_per_s"], p["one"]["cpu_per_s"], "", "", 3),
             row(f"server CPU, {viewers} viewers (CPU-s per s)", w["many"]["cpu_per_s"], p["many"]["cpu_per_s"], "", "", 3),
             row(f"CPU {viewers} viewers / 1 viewer", w["many"]["cpu_per_s"] / max(w["one"]["cpu_per_s"], 1e-9),
                 p["many"]["cpu_per_s"] / max(p["one"]["cpu_per_s"], 1e-9), "×", "≤ 2×", 1)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=30, help="days of history to backfill")
    parser.add_argument("--rate", type=float, default=100, help="live events per second")
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20, help="length of each measuring phase")
    parser.add_argument("--redis", default=os.environ.get("CITYGRID_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--serve", choices=("wall", "plain"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.serve, args.port)

    from playwright.sync_api import sync_playwright

    from datasource.services import accounts
    from datasource.simulation.backfill import backfill
    from datasource.system import System
    from tests.browser import free_port, launch

    folder = Path(tempfile.mkdtemp(prefix="bench-wall-"))
    env = {"CITYGRID_DATA_DIR": str(folder), "CITYGRID_DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
           "CITYGRID_REDIS_URL": args.redis, "CITYGRID_STREAM": f"bench:{uuid.uuid4().hex[:8]}:events",
           "CITYGRID_TICK_MS": "1000", "CITYGRID_CONSUMER": "bench-worker"}
    settings = Settings.from_env(env)
    system = System(settings).start()
    processes: list[subprocess.Popen] = []
    stop = threading.Event()
    try:
        print(f"backfilling {args.days:g} days …", flush=True)
        print("  ", backfill(system, args.days), flush=True)
        accounts.add_user(system.engine, "wall-bench", "wall")
        token = accounts.create_token(system.engine, "wall-bench")
        processes.append(start_process(["-c", "from dashboard.cli.commands import main; main()", "worker"], env))
        print(f"live traffic at {args.rate:g} events/s: {background_traffic(settings, args.rate, stop)}", flush=True)
        ports = {"wall": free_port(), "plain": free_port()}
        servers = {}
        for variant, port in ports.items():
            servers[variant] = start_process([str(Path(__file__).resolve()), "--serve", variant, "--port", str(port)], env)
            processes.append(servers[variant])
        bases = {v: f"http://127.0.0.1:{p}" for v, p in ports.items()}
        wait_http(bases["plain"] + "/")
        wait_http(bases["wall"] + "/login")
        time.sleep(5)  # steady state
        traffic = Traffic(system, seed=11)
        grids = len(system.scenario.grids_geojson["features"])
        urls = {"wall": f"{bases['wall']}/wall?token={token}&kiosk=1", "plain": bases["plain"] + "/"}
        results: dict = {}
        cookie = login_cookie(bases["wall"], token)
        with sync_playwright() as playwright:
            chromium = launch(playwright)
            # One variant after the other, each left idle before the next starts: a plain server
            # still working through queued requests would slow the other one down.
            for variant in ("wall", "plain"):
                print(f"browser: {variant} …", flush=True)
                results[variant] = browser_figures(chromium, urls[variant], variant, grids, traffic, args.seconds)
                figures = results[variant]
                print(f"  paint {figures['paint_ms']} ms, load {figures['load_bytes']} B, tick median "
                      f"{pct(figures['tick_bytes'], 0.5)} B, event→screen p95 {pct(figures['e2s_ms'], 0.95)} ms "
                      f"({len(figures['e2s_ms'])}/{figures['probes']} probes seen)", flush=True)
                for key, n in (("one", 1), ("many", args.viewers)):
                    print(f"http: {variant}, {n} viewer(s) …", flush=True)
                    results[variant][key] = http_load(bases[variant], cookie if variant == "wall" else "",
                                                      results[variant]["template"], variant, n, args.seconds, 1.0,
                                                      servers[variant].pid)
                    print("  ", {k: v for k, v in results[variant][key].items() if k != "slow_at_s"}, flush=True)
                    settle(servers[variant].pid)
            chromium.close()
        print()
        print(f"{args.days:g} days of history, {grids} unit grids, {args.rate:g} events/s, SQLite, 2 CPUs")
        print(table(results, args.viewers))
        return {"grids": grids, **results}
        if args.json:
            args.json.write_text(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "template"}
                                             for k, v in results.items()}, indent=1))
    finally:
        teardown(stop, processes, system, settings.stream)


def measure(scale: float = 1.0) -> list[dict]:
    """For ``make bench``: the README's run at scale 1 (30 days, 100 events/s, 50 viewers, 20 s phases)."""
    from bench.harness import REDIS_URL, figure, sized
    days, viewers, seconds = sized(30, scale, 0.3), round(sized(50, scale, 3)), sized(20, scale, 3)
    r = main(["--days", f"{days:g}", "--rate", "100", "--viewers", str(viewers), "--seconds", f"{seconds:g}",
              "--redis", REDIS_URL])
    w, p = r["wall"], r["plain"]
    note = f"{days:g} days, {r['grids']:,} grids, 100 events/s, SQLite; {len(w['e2s_ms'])}/{w['probes']} probes seen"
    ratio = lambda v: v["many"]["cpu_per_s"] / max(v["one"]["cpu_per_s"], 1e-9)  # noqa: E731
    return [figure("wall event → screen p95 (polling)", pct(w["e2s_ms"], 0.95), "ms", at_most=1000,
                   plain=pct(p["e2s_ms"], 0.95), note=note),
            figure("wall bytes per tick (median, compressed)", pct(w["tick_bytes"], 0.5), "B", at_most=10_240,
                   plain=pct(p["tick_bytes"], 0.5), target="≤ 10 KB",
                   note="the wall is pushed since issue 13 (no polled ticks): see wall_push's bytes per second"
                   if not w["tick_bytes"] else note),
            figure("wall first load, compressed", w["load_bytes"], "B", at_most=2 * 2**20, plain=p["load_bytes"],
                   target="≤ 2 MB", note=note),
            figure("wall first full paint", w["paint_ms"], "ms", at_most=3000, plain=p["paint_ms"],
                   note=note if p["paint_ms"] else f"the plain page did not paint within {PAINT_TIMEOUT_S} s"),
            figure(f"wall tick latency p95, {viewers} viewers", w["many"]["p95_ms"], "ms", at_most=200,
                   plain=p["many"]["p95_ms"], note=note),
            figure(f"wall server CPU, {viewers} viewers / 1 viewer", ratio(w), "×", at_most=2, plain=ratio(p),
                   note=note)]


if __name__ == "__main__":
    main()
