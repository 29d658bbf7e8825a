"""Benchmark: server time of the regional and people reports over a large generated history.

    python bench/regions.py --days 180 --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_regions
    python bench/regions.py --database-url … --reuse        # time again on a database filled before

Fills an EMPTY database through the real path (the simulator's stories → the embedded
Redis stream → the worker; ``datasource.simulation.backfill``), records the acts' verdicts
once (``report_acts``, timed on its own), then times, uncached, the
calls behind each page for the last 30 and 90 days: the service calls (``RegionReport``,
``StaffReport``), the API answers in-process (auth, JSON) and the pages' main Dash
callbacks (formatting, map features, charts).  Medians and maxima of ``--rounds`` rounds.
Targets: ``/regions`` street level ≤ 300 ms, ``/inspectors`` ≤ 500 ms (PostgreSQL).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from dashboard.domain.evaluation import Period  # noqa: E402
from dashboard.settings import Settings  # noqa: E402
from datasource.redis.server import stop_embedded  # noqa: E402
from datasource.services import accounts  # noqa: E402
from datasource.services.regions import RegionReport  # noqa: E402
from datasource.services.staff import StaffReport  # noqa: E402
from datasource.simulation.backfill import backfill  # noqa: E402
from datasource.store import schema  # noqa: E402
from datasource.system import System  # noqa: E402


def timed(call, rounds: int) -> tuple[float, float]:
    """(median, max) milliseconds of ``rounds`` calls after one warm-up call."""
    call()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append(1000 * (time.perf_counter() - started))
    return statistics.median(samples), max(samples)


def callback_payload(outputs: list[tuple[str, str]], inputs: list[tuple[str, str, object]],
                     state: list[tuple[str, str, object]]) -> dict:
    """A Dash callback request as the browser sends it."""
    return {"output": ".." + "...".join(f"{i}.{p}" for i, p in outputs) + "..",
            "outputs": [{"id": i, "property": p} for i, p in outputs],
            "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
            "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
            "changedPropIds": [f"{inputs[0][0]}.{inputs[0][1]}"]}


def page_calls(app, token: str, period: Period) -> dict:
    """The main callbacks of /regions (street level) and /inspectors, and the API, as HTTP
    requests.  The app keeps answers for 15 s, so each call asks for a window shifted by
    one more day (same length): every call is computed."""
    client = app.server.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    shift = iter(range(10_000))

    def window() -> tuple[str, str]:
        k = next(shift)
        return (period.first - timedelta(days=k)).isoformat(), (period.last - timedelta(days=k)).isoformat()

    def regions():
        first, last = window()
        return callback_payload(
            [("regions-shapes", "data"), ("regions-shapes", "hideout"), ("regions-map", "viewport"),
             ("regions-legend", "children"), ("regions-chart", "figure"), ("regions-level-title", "children"),
             ("regions-count", "children"), ("regions-table", "rowData"), ("regions-export-csv", "href"),
             ("regions-export-xlsx", "href"), ("regions-crumbs", "children"), ("regions-message", "children")],
            [("regions-period", "start_date", first), ("regions-period", "end_date", last),
             ("regions-path", "data", {"street": None, "community": None, "grid": None}),
             ("regions-metric", "value", "per_km2")], [("regions-lang", "data", "zh")])

    def people():
        first, last = window()
        outputs = [("people-grids", "hideout"), ("people-scatter", "figure"), ("people-inspectors", "rowData"),
                   ("people-unrostered", "children"), ("people-dispatchers", "rowData"),
                   ("people-shifts", "rowData"), ("people-shift-chart", "figure")]
        outputs += [(f"people-{t}-{f}", "href") for t in ("inspectors", "dispatchers", "shifts")
                    for f in ("csv", "xlsx")] + [("people-message", "children")]
        return callback_payload(outputs, [("people-period", "start_date", first), ("people-period", "end_date", last)],
                                [("people-selected", "data", None), ("people-lang", "data", "zh")])

    def post(make):
        def call():
            answer = client.post("/_dash-update-component", json=make(), headers=headers)
            assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
        return call

    def get(path):
        def call():
            first, last = window()
            answer = client.get(f"{path}&from={first}&to={last}", headers=headers)
            assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
        return call
    return {"/regions page callback (street level)": post(regions),
            "/inspectors page callback (all tables, map, charts)": post(people),
            "GET /api/v1/regions?level=street": get("/api/v1/regions?level=street"),
            "GET /api/v1/inspectors": get("/api/v1/inspectors?format=json")}


def part_calls(system, period: Period) -> dict:
    """The statements behind ``StaffReport.report`` one by one, and the acts' two groupings
    read from ``report_acts`` directly (what the report read before the daily roll-up)."""
    from datasource.services import report_rollup as rollup
    from datasource.services.report_sql import for_reports, returns_query
    a = schema.report_acts

    def direct(types, group):
        columns = {"type": a.c.type, "actor": a.c.actor, "day": a.c.start_day, "shift": a.c.shift}
        keys = [columns[g] for g in group]
        return (select(*keys, func.count(), func.sum(a.c.on_time))
                .where(a.c.type.in_(types), a.c.at >= period.start, a.c.at < period.end, a.c.on_time.is_not(None))
                .group_by(*keys))

    def run(statement, params=None):
        def call():
            with system.engine.connect() as c:
                for_reports(c)
                c.execute(statement, params or {}).all()
        return call
    people, shifts = (("dispatched", "verified", "rework"), ("type", "actor")), \
        (("filed", "rejected", "closed"), ("type", "day", "shift", "actor"))
    returns_sql, returns_params = returns_query(period)
    return {"  part: cases per grid and reporter": run(StaffReport._cases_statement(period)),
            "  part: acts per type, actor — report_acts": run(direct(*people)),
            "  part: acts per type, actor — roll-up": run(rollup.acts_statement(period.first, period.last, *people)),
            "  part: acts per type, day, shift, actor — report_acts": run(direct(*shifts)),
            "  part: acts per type, day, shift, actor — roll-up": run(rollup.acts_statement(period.first, period.last,
                                                                                            *shifts)),
            "  part: returns per dispatcher": run(returns_sql, returns_params)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=180)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--reuse", action="store_true", help="time a database filled by an earlier run")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--parts", action="store_true", help="also time the people report's statements one by one")
    args = parser.parse_args(argv)
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=args.database_url, secret_key="bench")
        system = System(settings).start()
        with system.engine.connect() as c:
            held = c.execute(select(func.count()).select_from(schema.cases)).scalar()
            events = c.execute(select(func.count()).select_from(schema.case_events)).scalar()
        if not args.reuse:
            if held:
                sys.exit(f"the database already holds {held} cases; use an empty one or --reuse")
            figures = backfill(system, args.days)
            print(f"backfill: {figures['cases']:,} cases, {figures['events']:,} events in {figures['total_s']} s "
                  f"(dead letters {figures['dead_letters']})")
            with system.engine.connect() as c:
                held = c.execute(select(func.count()).select_from(schema.cases)).scalar()
                events = c.execute(select(func.count()).select_from(schema.case_events)).scalar()
        if "postgresql" in args.database_url:
            with system.engine.connect() as c:
                c.exec_driver_sql("ANALYZE cases")
                c.exec_driver_sql("ANALYZE case_events")
                c.commit()
        with system.engine.connect() as c:
            newest = c.execute(select(func.max(schema.cases.c.reported_at))).scalar()
        tz = system.scenario.calendar.tz
        today = newest.astimezone(tz).date()
        print(f"database: {system.engine.dialect.name}, {held:,} cases, {events:,} events; last report {today}; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        regions, staff = RegionReport(system, ttl=0), StaffReport(system, ttl=0)
        started = time.perf_counter()
        judged = staff.facts.refresh()
        print(f"report_acts: {judged:,} events judged once in {time.perf_counter() - started:.1f} s "
              f"(the first report after a backfill; later ones judge only the new events)")
        from dashboard.web.factory import create_app, start
        app = start(create_app(settings, system))
        if accounts.find_user(system.engine, "bench-supervisor") is None:
            accounts.add_user(system.engine, "bench-supervisor", "supervisor", "bench-password-1", None)
        token = accounts.create_token(system.engine, "bench-supervisor")
        for days in (30, 90):
            period = Period(today - timedelta(days=days - 1), today, tz=tz)
            street = regions.figures("street", period)
            busiest = max(street, key=lambda r: r["cases"])
            communities = regions.figures("community", period, busiest["code"])
            community = max(communities, key=lambda r: r["cases"])
            grid = max(regions.figures("grid", period, community["code"]), key=lambda r: r["cases"])
            cases_in_period = sum(r["reports"] for r in street)
            print(f"\nperiod: last {days} days ({period.first} … {period.last}), {cases_in_period:,} cases reported")
            calls = {
                "RegionReport.figures street": lambda: regions.figures("street", period),
                "RegionReport.figures community (one street)": lambda: regions.figures("community", period,
                                                                                       busiest["code"]),
                "RegionReport.figures grid (one community)": lambda: regions.figures("grid", period, community["code"]),
                "RegionReport.figures grid (whole district)": lambda: regions.figures("grid", period),
                "RegionReport.grid_cases (one grid)": lambda: regions.grid_cases(grid["code"], period),
                "StaffReport.report (inspectors, dispatchers, shifts)": lambda: staff.report(period),
                **page_calls(app, token, period),
                **(part_calls(system, period) if args.parts else {}),
            }
            for name, call in calls.items():
                median, worst = out.setdefault(days, {})[name] = timed(call, args.rounds)
                print(f"  {name:55s} median {median:8.1f} ms   max {worst:8.1f} ms")
            print(f"  (load average now {os.getloadavg()[0]:.1f})")
        system.close()
        stop_embedded(Path(tmp))
    return out


def measure(scale: float = 1.0) -> list[dict]:
    """For ``make bench``: 60 days through the real path into PostgreSQL at scale 1 (the README's
    figures used 180 days; the pages open on 30), 5 rounds."""
    from bench.harness import figure, need_postgresql, sized
    from bench.worker import fresh_database
    pg = need_postgresql()
    days = sized(60, scale, 1)
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_database("postgresql", pg, Path(tmp), "regions")
    out = main(["--days", f"{days:g}", "--database-url", url, "--rounds", str(round(sized(5, scale, 1)))])[30]
    note = f"a 30-day window over {days:g} days of history, PostgreSQL"
    return [figure("/regions page callback, street level", out["/regions page callback (street level)"][0], "ms",
                   at_most=300, note=note),
            figure("/inspectors page callback", out["/inspectors page callback (all tables, map, charts)"][0], "ms",
                   at_most=500, note=note)]


if __name__ == "__main__":
    main()
