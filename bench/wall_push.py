"""Benchmark: the wall pushed (server-sent events, issue 13) beside the same wall polling, one run.

    python bench/wall_push.py [--days 30] [--rate 100] [--demo-rate 3] [--viewers 50] [--seconds 20]

Set-up as :mod:`bench.wall` (its helpers are reused): a SQLite database backfilled with ``--days``
of history, a worker process, live traffic at ``--rate`` events/s, and ONE server process — the
real app on waitress sized as ``citygrid serve`` sizes it (16 threads + 64 wall streams) — that
serves both transports: ``/wall`` (push) and ``/wall?transport=poll`` (the polling wall of
before, every viewer asking its delta once per tick).

Figures, polling beside push:
- event → screen p50/p95 at ``--rate``: probe reports with unique case ids published at a known
  wall-clock time, seen in headless Chromium's DOM by a MutationObserver (our pulse ``[data-case]``);
- first full paint (grids drawn, markers in, stage numbers shown);
- server CPU seconds per second with 1 and with ``--viewers`` viewers (polling: HTTP clients
  posting the tick callback once a second; push: clients holding ``/wall/stream`` open), and the
  ratio between them (target ≤ 2×);
- bytes per second per wall at the demo's rate (``--demo-rate``, target ≤ 1 KB/s): polling
  counts the tick responses (compressed, as sent), push the event-stream bytes (gzip, as a
  browser gets them) — and, side by side in the same window, the stream uncompressed; the same
  pair at ``--rate``.  The push viewers of the CPU figures accept gzip, as browsers do.
"""
from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import psutil  # noqa: E402

import wall as bench  # noqa: E402  (bench/wall.py: traffic, probes, polling load)
from dashboard.settings import Settings  # noqa: E402
from bench.teardown import teardown  # noqa: E402
from dashboard.web.wall_push import HEARTBEAT  # noqa: E402

WALL_STREAMS = 64


def serve(port: int) -> None:
    """The real app as ``citygrid serve`` runs it (waitress, threads for pages + wall streams)."""
    from dashboard.web.factory import create_app, start
    from dashboard.web.wall_push import serve as serve_app
    serve_app(start(create_app(Settings.from_env())), "127.0.0.1", port, threads=16, wall_streams=WALL_STREAMS,
              _quiet=True)


def caught_up(system, limit_s: float = 1.0, timeout: float = 600) -> float:
    """Wait until the worker keeps up with the stream (its oldest unprocessed entry younger than
    ``limit_s``): a worker still working through the backfill would make every event → screen
    figure a measure of its backlog, not of the wall.  The seconds waited."""
    from datasource.services.health import Health
    health, started = Health(system), time.monotonic()
    while time.monotonic() - started < timeout:
        if health.data_age(time.time(), health.oldest_unprocessed_ms()) < limit_s:
            break
        time.sleep(1)
    return time.monotonic() - started


def push_load(base: str, cookie: str, viewers: int, seconds: float, server_pid: int,
              gzip: tuple[bool, ...] = (True,)) -> dict:
    """``viewers`` clients holding ``/wall/stream`` open: server CPU per second at steady state
    (after every client got its whole state) and event-stream bytes per second per client, as
    sent (compressed when the client accepts gzip, as every browser's EventSource does; viewer
    ``k`` asks for gzip when ``gzip[k % len(gzip)]``, so ``(True, False)`` measures both side by
    side under the same load)."""
    host, port = urlparse(base).hostname, urlparse(base).port
    counted: list[int] = [0] * viewers
    joined = threading.Barrier(viewers + 1)
    measuring = threading.Event()
    end = time.monotonic() + seconds + 30
    errors: list[str] = []

    def viewer(k: int):
        conn = http.client.HTTPConnection(host, port, timeout=30)
        try:
            conn.request("GET", "/wall/stream", headers={"Cookie": cookie, "Accept-Encoding":
                                                         "gzip" if gzip[k % len(gzip)] else "identity"})
            response = conn.getresponse()
            if response.status != 200:
                errors.append(str(response.status))
                joined.wait()
                return
            gzipped = response.getheader("Content-Encoding") == "gzip"
            unzip = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else None
            text, first = b"", True
            while time.monotonic() < end:
                data = response.read1(65536)      # the chunks as they come (chunked encoding undone)
                if not data:
                    break
                if first:                          # until the whole state is in (the retry line, then it)
                    text += unzip.decompress(data) if unzip else data
                    at = text.find(b"data:")
                    if at >= 0 and b"\n\n" in text[at:]:
                        first = False
                        joined.wait()
                    continue
                if measuring.is_set():
                    counted[k] += len(data)
        except Exception as exc:  # noqa: BLE001 - a broken stream is a figure, not a crash
            errors.append(type(exc).__name__)
        finally:
            conn.close()

    threads = [threading.Thread(target=viewer, args=(k,), daemon=True) for k in range(viewers)]
    for thread in threads:
        thread.start()
    joined.wait(timeout=120)
    time.sleep(1.0)
    process = psutil.Process(server_pid)
    measuring.set()
    cpu0, wall0 = sum(process.cpu_times()[:2]), time.monotonic()
    time.sleep(seconds)
    cpu = (sum(process.cpu_times()[:2]) - cpu0) / (time.monotonic() - wall0)
    measuring.clear()
    per_viewer = [n / seconds for n in counted]
    end = time.monotonic()   # the viewers stop at their next chunk (a heartbeat at most 2 s away) …
    for thread in threads:
        thread.join(timeout=10)
    time.sleep(HEARTBEAT + 1)  # … and the server counts their streams out at its next write: room for the next phase
    by = {flag: [b for k, b in enumerate(per_viewer) if gzip[k % len(gzip)] == flag] for flag in (True, False)}
    return {"cpu_per_s": cpu, "bytes_per_s_median": bench.pct(per_viewer, 0.5), "errors": len(errors),
            "bytes_per_s_gzip": bench.pct(by[True], 0.5), "bytes_per_s_plain": bench.pct(by[False], 0.5)}


def poll_bytes_per_s(base: str, cookie: str, template: str, seconds: float, server_pid: int) -> float:
    """One polling viewer's compressed tick bytes per second (what it costs the network)."""
    figures = bench.http_load(base, cookie, template, "wall", 1, seconds, 1.0, server_pid)
    return figures["bytes_median"] * figures["requests"] / seconds


def table(r: dict, viewers: int, rate: float, demo_rate: float) -> str:
    def row(name, poll, push, unit="", target="", digits=0):
        shown = lambda v: "—" if v is None or v != v else f"{v:,.{digits}f}{unit}"  # noqa: E731
        return f"| {name} | {shown(poll)} | {shown(push)} | {target} |"
    poll, push = r["poll"], r["push"]
    ratio = lambda f: f["many"]["cpu_per_s"] / max(f["one"]["cpu_per_s"], 1e-9)  # noqa: E731
    return "\n".join([
        "| figure | polling (before) | push (issue 13) | target |", "|---|---:|---:|---|",
        row(f"event → screen p50 at {rate:g} ev/s", bench.pct(poll["e2s_ms"], 0.5), bench.pct(push["e2s_ms"], 0.5), " ms"),
        row(f"event → screen p95 at {rate:g} ev/s", bench.pct(poll["e2s_ms"], 0.95), bench.pct(push["e2s_ms"], 0.95),
            " ms", "≤ 500 ms"),
        row("first full paint", poll["paint_ms"], push["paint_ms"], " ms", "≤ 2 s"),
        row("server CPU, 1 wall (CPU-s per s)", poll["one"]["cpu_per_s"], push["one"]["cpu_per_s"], "", "", 3),
        row(f"server CPU, {viewers} walls (CPU-s per s)", poll["many"]["cpu_per_s"], push["many"]["cpu_per_s"], "", "", 3),
        row(f"CPU {viewers} walls / 1 wall", ratio(poll), ratio(push), "×", "≤ 2×", 1),
        row(f"… the pushed streams uncompressed: CPU, {viewers} walls (CPU-s per s)", None,
            push["many_plain"]["cpu_per_s"], "", "", 3),
        row(f"… the pushed streams uncompressed: CPU {viewers} walls / 1 wall", None,
            push["many_plain"]["cpu_per_s"] / max(push["one_plain"]["cpu_per_s"], 1e-9), "×", "", 1),
        row(f"bytes per second per wall at {demo_rate:g} ev/s", poll["demo_bytes_per_s"], push["demo_bytes_per_s"],
            " B/s", "≤ 1 KB/s"),
        row(f"… the pushed stream uncompressed (beside it), at {demo_rate:g} ev/s", None, push["demo_bytes_per_s_plain"],
            " B/s"),
        row(f"bytes per second per wall at {rate:g} ev/s", None, push["live_bytes"]["bytes_per_s_gzip"], " B/s"),
        row(f"… the pushed stream uncompressed (beside it), at {rate:g} ev/s", None,
            push["live_bytes"]["bytes_per_s_plain"], " B/s"),
    ])


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=30, help="days of history to backfill")
    parser.add_argument("--rate", type=float, default=100, help="live events per second")
    parser.add_argument("--demo-rate", type=float, default=3, help="the demo's events per second (bytes per wall)")
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20, help="length of each measuring phase")
    parser.add_argument("--redis", default=os.environ.get("CITYGRID_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.port)

    from playwright.sync_api import sync_playwright

    from datasource.services import accounts
    from datasource.simulation.backfill import backfill
    from datasource.system import System
    from tests.browser import free_port, launch

    folder = Path(tempfile.mkdtemp(prefix="bench-push-"))
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
        processes.append(bench.start_process(["-c", "from dashboard.cli.commands import main; main()", "worker"], env))
        print(f"live traffic at {args.rate:g} events/s: {bench.background_traffic(settings, args.rate, stop)}", flush=True)
        port = free_port()
        server = bench.start_process([str(Path(__file__).resolve()), "--serve", "--port", str(port)], env)
        processes.append(server)
        base = f"http://127.0.0.1:{port}"
        bench.wait_http(base + "/login")
        time.sleep(5)
        print(f"worker caught up after {caught_up(system):.0f} s", flush=True)
        traffic = bench.Traffic(system, seed=11)
        grids = len(system.scenario.grids_geojson["features"])
        cookie = bench.login_cookie(base, token)
        results: dict = {}
        with sync_playwright() as playwright:
            chromium = launch(playwright)
            for variant, extra in (("poll", "&transport=poll"), ("push", "")):
                print(f"browser: {variant} … (worker lag {caught_up(system, timeout=60):.0f} s waited)", flush=True)
                figures = results[variant] = bench.browser_figures(chromium, f"{base}/wall?token={token}&kiosk=1{extra}",
                                                                   "wall", grids, traffic, args.seconds)
                print(f"  paint {figures['paint_ms']} ms, event→screen p50 {bench.pct(figures['e2s_ms'], 0.5)} ms, "
                      f"p95 {bench.pct(figures['e2s_ms'], 0.95)} ms ({len(figures['e2s_ms'])}/{figures['probes']})",
                      flush=True)
                bench.settle(server.pid)
            chromium.close()
        template = results["poll"]["template"]
        print(f"bytes per wall at {args.rate:g} events/s, gzip beside uncompressed …", flush=True)
        results["push"]["live_bytes"] = push_load(base, cookie, 2, args.seconds, server.pid, gzip=(True, False))
        for key, n in (("one", 1), ("many", args.viewers)):
            print(f"{n} wall(s): polling …", flush=True)
            results["poll"][key] = bench.http_load(base, cookie, template, "wall", n, args.seconds, 1.0, server.pid)
            bench.settle(server.pid)
            print(f"{n} wall(s): push …", flush=True)
            results["push"][key] = push_load(base, cookie, n, args.seconds, server.pid)
            bench.settle(server.pid)
            print(f"{n} wall(s): push, uncompressed …", flush=True)   # what the stream's gzip costs the server
            results["push"][key + "_plain"] = push_load(base, cookie, n, args.seconds, server.pid, gzip=(False,))
            bench.settle(server.pid)
            print("  ", results["poll"][key]["cpu_per_s"], results["push"][key], results["push"][key + "_plain"],
                  flush=True)
        stop.set()                                   # the demo's rate for the bytes per wall
        time.sleep(3)
        stop = threading.Event()
        bench.background_traffic(settings, args.demo_rate, stop)
        time.sleep(5)
        results["poll"]["demo_bytes_per_s"] = poll_bytes_per_s(base, cookie, template, args.seconds, server.pid)
        demo = push_load(base, cookie, 2, args.seconds, server.pid, gzip=(True, False))   # side by side
        results["push"]["demo_bytes_per_s"] = demo["bytes_per_s_gzip"]
        results["push"]["demo_bytes_per_s_plain"] = demo["bytes_per_s_plain"]
        print()
        print(f"{args.days:g} days of history, {grids} unit grids, {args.rate:g} events/s, SQLite, "
              f"{psutil.cpu_count()} CPUs, waitress 16 + {WALL_STREAMS} threads")
        print(table(results, args.viewers, args.rate, args.demo_rate))
        return {"grids": grids, **results}
    finally:
        teardown(stop, processes, system, settings.stream)


def measure(scale: float = 1.0) -> list[dict]:
    """For ``make bench``: the docs' run at scale 1 (30 days, 100 events/s, 50 viewers, 20 s phases)."""
    from bench.harness import REDIS_URL, figure, sized
    days, viewers, seconds = sized(30, scale, 0.3), round(sized(50, scale, 3)), sized(20, scale, 3)
    r = main(["--days", f"{days:g}", "--rate", "100", "--viewers", str(viewers), "--seconds", f"{seconds:g}",
              "--redis", REDIS_URL])
    poll, push = r["poll"], r["push"]
    note = f"{days:g} days, {r['grids']:,} grids, 100 events/s; polling beside push in the note"
    ratio = lambda v: v["many"]["cpu_per_s"] / max(v["one"]["cpu_per_s"], 1e-9)  # noqa: E731
    return [figure("pushed wall event → screen p95", bench.pct(push["e2s_ms"], 0.95), "ms", at_most=1000,
                   note=f"polling {bench.pct(poll['e2s_ms'], 0.95):,.0f} ms; " + note),
            figure("pushed wall first full paint", push["paint_ms"], "ms", at_most=3000,
                   note=f"polling {poll['paint_ms'] or float('nan'):,.0f} ms"),
            figure(f"pushed wall server CPU, {viewers} walls / 1", ratio(push), "×", at_most=2,
                   note=f"gzip streams; uncompressed {ratio({'many': push['many_plain'], 'one': push['one_plain']}):.1f}×; "
                        f"polling {ratio(poll):.1f}×"),
            figure("pushed wall bytes per second per wall at 3 events/s", push["demo_bytes_per_s"], "B/s",
                   at_most=1024, target="≤ 1 KB/s",
                   note=f"gzip; uncompressed beside it {push['demo_bytes_per_s_plain']:,.0f} B/s; "
                        f"polling {poll['demo_bytes_per_s']:,.0f} B/s"),
            figure("pushed wall bytes per second per wall at 100 events/s", push["live_bytes"]["bytes_per_s_gzip"],
                   "B/s", note=f"gzip; uncompressed beside it {push['live_bytes']['bytes_per_s_plain']:,.0f} B/s")]


if __name__ == "__main__":
    main()
