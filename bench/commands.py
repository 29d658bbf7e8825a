"""Benchmark: click-to-stream latency of a dispatch (target p95 ≤ 100 ms).

    python bench/commands.py [--n 300] [--db sqlite|postgresql|both] [--pg URL] [--redis URL]

For each database, ``--n`` filed cases per mode are dispatched one after another, and the
time from the call to the entry being on the stream (the call's return: the append is
synchronous) is measured three ways:

- ``service``  ``CommandService.dispatch`` (validation, command-side read, Lua append, audit row);
- ``api``      ``POST /api/v1/cases/{id}/dispatch`` through the app in-process (test client,
               bearer token: token lookup, JSON checks, the same service);
- ``http``     the same request over a real socket to waitress (keep-alive connection).

Prints p50 / p95 / max in milliseconds per mode, and the README table row.
"""
from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard.settings import Settings  # noqa: E402
from datasource.services import accounts  # noqa: E402
from datasource.services.command_types import Actor  # noqa: E402
from datasource.services.commands import CommandService  # noqa: E402
from datasource.system import System  # noqa: E402
from bench.worker import fresh_database  # noqa: E402
from tests.helpers import LAT, LON  # noqa: E402

ADMIN = Actor("bench-admin", "admin", remote_addr="127.0.0.1")


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"p50": statistics.median(ordered), "p95": ordered[max(0, int(len(ordered) * 0.95) - 1)],
            "max": ordered[-1], "n": len(ordered)}


def filed_cases(service: CommandService, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        case_id = service.report(ADMIN, "E0102", LON, LAT, "bench").case_id
        service.file(ADMIN, case_id)
        ids.append(case_id)
    return ids


def bench_service(service, ids, operator) -> list[float]:
    out = []
    for case_id in ids:
        started = time.perf_counter()
        service.dispatch(operator, case_id, "sanitation")
        out.append((time.perf_counter() - started) * 1000)
    return out


def bench_api(client, ids, headers) -> list[float]:
    out = []
    for case_id in ids:
        started = time.perf_counter()
        answer = client.post(f"/api/v1/cases/{case_id}/dispatch", json={"department": "sanitation"}, headers=headers)
        out.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, answer.json
    return out


def bench_http(app, ids, headers) -> list[float]:
    from tests.browser import LiveServer
    out = []
    with LiveServer(app.server, threads=8) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        for case_id in ids:
            body = json.dumps({"department": "sanitation"})
            started = time.perf_counter()
            connection.request("POST", f"/api/v1/cases/{case_id}/dispatch", body=body,
                               headers={**headers, "Content-Type": "application/json"})
            answer = connection.getresponse()
            answer.read()
            out.append((time.perf_counter() - started) * 1000)
            assert answer.status == 200, answer.status
        connection.close()
    return out


def run(kind: str, args, folder: Path) -> dict:
    from dashboard.web.factory import create_app, start
    url = fresh_database(kind, args.pg, folder, "commands")
    settings = Settings(data_dir=folder, redis_url=args.redis, database_url=url, secret_key="bench",
                        stream=f"bench:{uuid.uuid4().hex[:8]}:events")
    system = System(settings).start()
    try:
        service = CommandService(system)
        accounts.add_user(system.engine, "bench-op", "operator", "bench-password")
        headers = {"Authorization": f"Bearer {accounts.create_token(system.engine, 'bench-op')}"}
        operator = Actor("bench-op", "operator", remote_addr="127.0.0.1")
        app = start(create_app(settings, system))
        client = app.server.test_client()
        ids = filed_cases(service, args.n * 3 + 20)
        bench_service(service, ids[:10], operator)      # warm-up: connections, caches, Lua script load
        bench_api(client, ids[10:20], headers)
        ids = ids[20:]
        results = {"service": percentiles(bench_service(service, ids[:args.n], operator)),
                   "api": percentiles(bench_api(client, ids[args.n:2 * args.n], headers)),
                   "http": percentiles(bench_http(app, ids[2 * args.n:], headers))}
        system.redis.delete(*system.redis.keys(settings.stream + "*"))
        return results
    finally:
        system.close()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="dispatches per mode")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args(argv)
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            results = out[kind] = run(kind, args, Path(tmp))
            print(f"\n{kind}: {args.n} dispatches per mode (ms)")
            print(f"  {'mode':<8} {'p50':>7} {'p95':>7} {'max':>7}")
            for mode, r in results.items():
                verdict = "ok" if r["p95"] <= 100 else "OVER TARGET"
                print(f"  {mode:<8} {r['p50']:7.2f} {r['p95']:7.2f} {r['max']:7.2f}   {verdict}")
            print("  README: | " + kind + " | " + " | ".join(
                f"{results[m]['p50']:.1f} / {results[m]['p95']:.1f}" for m in ("service", "api", "http")) + " |")
    return out


def measure(scale: float = 1.0) -> list[dict]:
    """For ``make bench``: 300 dispatches per mode at scale 1, both databases when PostgreSQL answers."""
    from bench.harness import PG_URL, REDIS_URL, figure, pg_reachable, sized
    n = round(sized(300, scale, 10))
    out = main(["--n", str(n), "--db", "both" if pg_reachable() else "sqlite", "--pg", PG_URL, "--redis", REDIS_URL])
    names = {"service": "CommandService.dispatch", "api": "API in-process", "http": "API over HTTP"}
    return [figure(f"click-to-stream p95, {kind}, {names[mode]}", r["p95"], "ms", at_most=100,
                   note=f"p50 {r['p50']:.1f} ms, {r['n']} dispatches")
            for kind, modes in out.items() for mode, r in modes.items()]


if __name__ == "__main__":
    main()
