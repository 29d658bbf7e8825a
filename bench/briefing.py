"""Benchmark: the daily briefing over a large history on PostgreSQL — the page (≤ 1 s) and
the PDF (≤ 5 s).

    python bench/briefing.py [--cases 2000000] [--per-day 1330] [--pg URL] [--reuse] [--rounds 3]

Generates ``--cases`` cases (~6 events each, four years at Dongcheng's 1,330 a day) into a
database of its own with COPY — vectorised with numpy, indexes built after the load,
then ANALYZE and VACUUM — ending now, so yesterday is a full day and today's backlog is
open.  Measures, medians of ``--rounds``:

* service: :meth:`BriefingService.build` of yesterday, uncached (all SQL and statistics);
* page: the page's Dash callback over HTTP in-process as a logged-in leader (build +
  figures + map + JSON), uncached;
* PDF warm: :meth:`Briefings.ensure_pdf` with the web process's kept Chromium;
* PDF cold: the same with a browser started for it (what cron pays), and the whole
  ``citygrid briefing`` command in a fresh process.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime, time as dtime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402

from dashboard.settings import Settings  # noqa: E402
from datasource.store import schema  # noqa: E402

PG_SERVER = os.environ.get("CITYGRID_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DB_NAME = "citygrid_bench_briefing"
HOURLY = np.array([0.15, 0.10, 0.08, 0.07, 0.08, 0.15, 0.35, 0.70, 1.30, 1.90, 2.10, 1.80,
                   1.00, 1.20, 1.80, 2.00, 1.80, 1.20, 0.70, 0.50, 0.45, 0.35, 0.25, 0.20])
SOURCES = np.array(["inspector", "hotline12345", "app", "phone", "camera"])
SOURCE_P = np.array([0.74, 0.15, 0.05, 0.03, 0.03])
CHUNK = 100_000
# The columns the rows below are written in, named (later columns keep their defaults: a new
# column in ``cases`` no longer shifts every value written after it).
CASE_COLUMNS = ", ".join((
    "case_id", "stage", "category_code", "urgency", "department_code", "grid_code", "community_code", "street_code",
    "lon", "lat", "source", "description", "reporter", "reported_at", "filed_at", "dispatched_at",
    "first_dispatched_at", "handled_at", "verified_at", "closed_at", "rejected_at", "stage_entered_at", "warn_at",
    "deadline_at", "handle_deadline_at", "handled_on_time", "rework_count", "return_count", "extension_count",
    "suspended_from", "version", "updated_at", "last_actor"))
SECONDARY = {"case_events": ["ix_case_events_case_id", "ix_case_events_type_at"],
             "cases": ["ix_cases_stage_deadline", "ix_cases_updated_at", "ix_cases_department_stage",
                       "ix_cases_closed_at", "ix_cases_reported"]}


def database_url(server: str) -> str:
    return server.rsplit("/", 1)[0] + "/" + DB_NAME


def create_database(server: str) -> str:
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    return database_url(server)


# ---------------------------------------------------------------------------- generation
def generate(system, cases: int, per_day: float, now: datetime, seed: int = 1) -> dict:
    """``cases`` cases ending ``now`` into an empty database, with COPY; figures of the load."""
    scenario = system.scenario
    tz = scenario.calendar.tz
    rng = np.random.default_rng(seed)
    grids = scenario.grids_geojson["features"]
    grid_codes = np.array([g["properties"]["code"] for g in grids])
    communities = np.array([g["properties"]["community_code"] for g in grids])
    streets = np.array([g["properties"]["street_code"] for g in grids])
    from shapely.geometry import shape
    points = np.array([shape(g["geometry"]).representative_point().coords[0] for g in grids])
    grid_p = rng.gamma(1.2, 1.0, len(grids))
    grid_p /= grid_p.sum()
    categories = list(scenario.categories.values())
    cat_codes = np.array([c.code for c in categories])
    cat_p = np.array([c.weight for c in categories])
    cat_p /= cat_p.sum()
    departments = {(c, s): scenario.department_for(c, s) for c in cat_codes for s in set(streets)}

    # Days back from yesterday, weighted by the working calendar (days off at 55 %).
    today = now.astimezone(tz).date()
    n_days = int(np.ceil(cases / per_day * 1.15))
    days = [today - timedelta(days=i) for i in range(n_days, -1, -1)]
    weight = np.array([1.0 if scenario.calendar.is_working_day(d) else 0.55 for d in days])
    day_start = np.array([datetime.combine(d, dtime(0), tz).timestamp() for d in days])
    hour_p = HOURLY / HOURLY.sum()
    engine = system.engine
    with engine.begin() as c:
        for table, names in SECONDARY.items():
            for name in names:
                c.execute(text(f'DROP INDEX IF EXISTS "{name}"'))
    started = time.perf_counter()
    serial: dict[int, int] = {}
    made = events = 0
    now_s = now.timestamp()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        while made < cases:
            n = min(CHUNK, cases - made)
            # Later days hold the most recent cases: spread the chunk over the days by weight.
            day_i = rng.choice(len(days), n, p=weight / weight.sum())
            at = day_start[day_i] + rng.choice(24, n, p=hour_p) * 3600 + rng.uniform(0, 3600, n)
            keep = at <= now_s
            day_i, at = day_i[keep], at[keep]
            order = np.argsort(at)
            day_i, at = day_i[order], at[order]
            m = at.size
            g = rng.choice(len(grids), m, p=grid_p)
            cat = rng.choice(len(cat_codes), m, p=cat_p)
            src = rng.choice(len(SOURCES), m, p=SOURCE_P)
            urgent = rng.random(m) < np.where(np.char.startswith(cat_codes[cat], "E04"), 0.35, 0.03)
            rejected = rng.random(m) < 0.04
            t_filed = at + rng.uniform(300, 3000, m)
            t_disp = t_filed + rng.uniform(300, 4800, m)
            t_hand = t_disp + rng.lognormal(np.log(5 * 3600), 0.9, m)
            t_veri = t_hand + rng.uniform(1800, 14400, m)
            t_close = t_veri + rng.uniform(300, 5400, m)
            deadline = t_disp + 24 * 3600
            case_lines, event_lines = [], []
            for i in range(m):
                d = int(day_i[i])
                serial[d] = s = serial.get(d, 0) + 1
                case_id = f"DC{days[d]:%Y%m%d}{s:06d}"
                code, street = cat_codes[cat[i]], streets[g[i]]
                body = json.dumps({"category": code, "lon": float(points[g[i], 0]), "lat": float(points[g[i], 1]),
                                   "description": "bench", "source": SOURCES[src[i]],
                                   "urgency": "urgent" if urgent[i] else "normal"}, ensure_ascii=False)
                steps = [("reported", at[i], body)]
                dept = departments[(code, street)]
                if rejected[i]:
                    steps.append(("rejected", t_filed[i], '{"reason": "duplicate"}'))
                else:
                    steps += [("filed", t_filed[i], "{}"), ("dispatched", t_disp[i], json.dumps({"department": dept})),
                              ("handled", t_hand[i], "{}"), ("verified", t_veri[i], "{}"), ("closed", t_close[i], "{}")]
                steps = [st for st in steps if st[1] <= now_s]
                for kind, when, b in steps:
                    event_lines.append(f"{uuid.uuid4().hex}\t\\N\t{case_id}\t{kind}\t{_ts(when)}\tbench\t{b}\n")
                last = steps[-1][0]
                stage = {"reported": "reported", "rejected": "rejected", "filed": "filed", "dispatched": "dispatched",
                         "handled": "handled", "verified": "verified", "closed": "closed"}[last]
                times = {k: w for k, w, _ in steps}
                dispatched = "dispatched" in times
                entered = steps[-1][1]
                limit = {"reported": 1800, "filed": 1800, "dispatched": 24 * 3600, "handled": 4 * 3600,
                         "verified": 3600}.get(stage)
                stage_deadline = entered + limit if limit else None
                fields = [case_id, stage, code, "urgent" if urgent[i] else "normal", dept if dispatched else None,
                          grid_codes[g[i]], communities[g[i]], street, float(points[g[i], 0]), float(points[g[i], 1]),
                          SOURCES[src[i]], "bench", "bench", _ts(at[i]), _ts(times.get("filed")),
                          _ts(times.get("dispatched")), _ts(times.get("dispatched")), _ts(times.get("handled")),
                          _ts(times.get("verified")),
                          _ts(times.get("closed")), _ts(times.get("rejected")), _ts(entered),
                          _ts(entered + 0.8 * limit if limit else None), _ts(stage_deadline),
                          _ts(deadline[i] if dispatched else None),
                          (None if "handled" not in times else ("t" if t_hand[i] <= deadline[i] else "f")),
                          0, 0, 0, None, len(steps), _ts(entered), "bench"]
                case_lines.append("\t".join("\\N" if v is None else str(v) for v in fields) + "\n")
            with cursor.copy("COPY case_events (event_id, stream_id, case_id, type, at, actor, body) FROM STDIN") as cp:
                cp.write("".join(event_lines))
            with cursor.copy(f"COPY cases ({CASE_COLUMNS}) FROM STDIN") as cp:
                cp.write("".join(case_lines))
            raw.commit()
            made += m if m else n
            events += len(event_lines)
            print(f"  {made:,} cases, {events:,} events, {time.perf_counter() - started:.0f} s", flush=True)
    finally:
        raw.close()
    loaded = time.perf_counter()
    with engine.begin() as c:
        for index in [*schema.case_events.indexes, *schema.cases.indexes]:
            if index.name in SECONDARY["case_events"] + SECONDARY["cases"]:
                index.create(c, checkfirst=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE case_events"))
        c.execute(text("VACUUM ANALYZE cases"))
    return {"cases": made, "events": events, "copy_s": round(loaded - started, 1),
            "index_vacuum_s": round(time.perf_counter() - loaded, 1)}


def _ts(epoch) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(float(epoch), timezone.utc).isoformat()


# ---------------------------------------------------------------------------- measuring
def timings(system, rounds: int) -> dict:
    from dashboard.web.factory import create_app, start
    from datasource.services import accounts
    from datasource.services.briefing_archive import Briefings
    tz = system.scenario.calendar.tz
    yesterday = datetime.now(tz).date() - timedelta(days=1)
    briefings = Briefings(system)
    service = briefings.service
    service.build(yesterday, cache=False)   # warm: imports, grid contiguity, map geometry
    build = []
    for _ in range(rounds):
        t = time.perf_counter()
        data = service.build(yesterday, cache=False)
        build.append(time.perf_counter() - t)
    if accounts.find_user(system.engine, "bench-leader") is None:
        accounts.add_user(system.engine, "bench-leader", "leader", "bench-password-1")
    app = start(create_app(system.settings, system))
    client = app.server.test_client()
    # A bearer token, as the other page benchmarks do (a hand-made session is no login since sessions
    # are recorded server-side: the callback answered 204).
    headers = {"Authorization": f"Bearer {accounts.create_token(system.engine, 'bench-leader')}"}
    request = {"output": "..briefing-content.children...briefing-pdf.href...briefing-archive.children..",
               "outputs": [{"id": "briefing-content", "property": "children"},
                           {"id": "briefing-pdf", "property": "href"}, {"id": "briefing-archive", "property": "children"}],
               "inputs": [{"id": "briefing-date", "property": "date", "value": yesterday.isoformat()}],
               "state": [{"id": "briefing-asked", "property": "data", "value": "yesterday"},
                         {"id": "briefing-lang", "property": "data", "value": "zh"}],
               "changedPropIds": ["briefing-date.date"]}
    page_service = app.server.extensions["citygrid.services"].briefing.service
    client.post("/_dash-update-component", json=request, headers=headers)   # warm this app's own service
    page, size = [], 0
    for _ in range(rounds):
        page_service._cache.clear()
        t = time.perf_counter()
        answer = client.post("/_dash-update-component", json=request, headers=headers)
        page.append(time.perf_counter() - t)
        assert answer.status_code == 200, answer.status_code
        size = len(answer.data)
    cold = Briefings(system, keep_browser=False)
    t = time.perf_counter()
    cold.ensure_pdf(yesterday, "zh", force=True)
    pdf_cold = time.perf_counter() - t
    briefings.ensure_pdf(yesterday, "zh", force=True)   # start the kept browser
    warm = []
    for _ in range(rounds):
        t = time.perf_counter()
        pdf = briefings.ensure_pdf(yesterday, "zh", force=True)
        warm.append(time.perf_counter() - t)
    briefings.close()
    env = {**os.environ, "CITYGRID_DATABASE_URL": system.settings.database_url,
           "CITYGRID_DATA_DIR": str(system.settings.data_dir)}
    t = time.perf_counter()
    cli = subprocess.run([sys.executable, "-m", "dashboard.cli.commands", "briefing", "--date", yesterday.isoformat(),
                          "--force", "--out", str(Path(system.settings.data_dir) / "bench.pdf")],
                         env=env, cwd=ROOT, capture_output=True, text=True)
    cli_s = time.perf_counter() - t
    assert cli.returncode == 0, cli.stderr
    return {"day": yesterday.isoformat(), "new": data["headlines"]["new"]["value"],
            "service_s": statistics.median(build), "page_s": statistics.median(page), "page_bytes": size,
            "pdf_warm_s": statistics.median(warm), "pdf_cold_s": pdf_cold, "cli_s": cli_s, "pdf_bytes": len(pdf.content),
            "flagged": data["unusual"].get("flagged_count"), "clusters": len(data["unusual"]["clusters"])}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=2_000_000)
    parser.add_argument("--per-day", type=float, default=1330)
    parser.add_argument("--pg", default=PG_SERVER, help="URL of the PostgreSQL server's maintenance database")
    parser.add_argument("--reuse", action="store_true", help="measure the database a previous run filled")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    from datasource.system import System
    folder = Path("/tmp/citygrid-bench-briefing")
    folder.mkdir(exist_ok=True)
    url = database_url(args.pg) if args.reuse else create_database(args.pg)
    system = System(Settings(data_dir=folder, database_url=url)).start(redis=False)
    if not args.reuse:
        print(f"generating {args.cases:,} cases into {DB_NAME} …", flush=True)
        print(generate(system, args.cases, args.per_day, datetime.now(timezone.utc)))
    with system.engine.connect() as c:
        n_cases = c.execute(select(func.count()).select_from(schema.cases)).scalar()
        n_events = c.execute(select(func.count()).select_from(schema.case_events)).scalar()
    figures = timings(system, args.rounds)
    print(f"\nPostgreSQL, {n_cases:,} cases, {n_events:,} events; briefing of {figures['day']} "
          f"({figures['new']:,} new cases; {figures['flagged']} unusual places, {figures['clusters']} clusters)")
    print("| figure | measured | target |\n|---|---:|---|")
    print(f"| service: build the briefing (uncached) | {figures['service_s']:.2f} s | |")
    print(f"| page: Dash callback over HTTP, in-process ({figures['page_bytes'] // 1024} KB) | {figures['page_s']:.2f} s | ≤ 1 s |")
    print(f"| PDF, web process (Chromium kept) | {figures['pdf_warm_s']:.2f} s | ≤ 5 s |")
    print(f"| PDF, browser started for it | {figures['pdf_cold_s']:.2f} s | |")
    print(f"| `citygrid briefing --force` (new process, {figures['pdf_bytes'] // 1024} KB) | {figures['cli_s']:.2f} s | |")
    system.close()
    return figures


def measure(scale: float = 1.0) -> list[dict]:
    """For ``make bench``: 250,000 cases at Dongcheng's 1,330 a day at scale 1 (the README's run:
    2,000,000), 3 rounds."""
    from bench.harness import figure, need_postgresql, sized
    pg = need_postgresql()
    cases = round(sized(250_000, scale, 20_000))
    from datasource.redis.server import stop_embedded
    try:
        out = main(["--cases", str(cases), "--pg", pg, "--rounds", str(round(sized(3, scale, 1)))])
    finally:   # the app's embedded Redis (started in main's folder) would outlive the run
        stop_embedded(Path("/tmp/citygrid-bench-briefing"))
    note = f"{cases:,} cases, PostgreSQL; briefing of {out['day']}"
    return [figure("briefing page (Dash callback, uncached)", out["page_s"] * 1000, "ms", at_most=1000, note=note),
            figure("briefing PDF, web process", out["pdf_warm_s"] * 1000, "ms", at_most=5000, note=note),
            figure("`citygrid briefing` in a new process", out["cli_s"] * 1000, "ms", note=note)]


if __name__ == "__main__":
    main()
