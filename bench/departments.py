"""Benchmark: the department evaluation on years of history in PostgreSQL.

    python bench/departments.py [--cases 2000000] [--days 1461] [--pg URL] [--keep] [--reuse]

1. Generates ``--cases`` cases over ``--days`` days before now straight into a fresh
   PostgreSQL database ``citygrid_bench_departments`` with COPY (no stream, no worker: years
   of history in minutes).  Realistic shapes: arrivals by weekday and hour, categories by
   the scenario's weights, the routing table's department (street offices for street
   categories), the department's speed; ≈4 % rejected, ≈3 % returned and re-dispatched to
   another department, ≈6 % reworked, ≈2 % extended, ≈1 % suspended and resumed; deadlines
   from the time-limit table on the working calendar; the last days still open.  The
   ``cases`` columns follow the projection's rules (last dispatch, latest handling, handling
   deadline with extensions, on time, counters).
2. Indexes are built after the load, then VACUUM ANALYZE.
3. Counts the daily roll-up once (``DepartmentDays.refresh``, what the first report would
   do; the COPY bypassed the worker), then VACUUM ANALYZE.
4. Times ``DepartmentEvaluation.overview`` (what ``/departments`` and the API call) for
   several 30-day windows — through the roll-up, and side by side grouped from the cases
   (the sub-centres' path, and the figure before the roll-up; both must be equal) — and
   ``department`` (one department's page) for several departments, each ``--rounds`` times after one warm-up; prints medians; then the API over
   the real app in-process (Flask test client, bearer token) and the process's memory.

``--reuse`` skips the generation and times an existing bench database.
"""
from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sqlalchemy import text  # noqa: E402

from dashboard.domain.evaluation import Period  # noqa: E402
from dashboard.domain.scenario import Scenario  # noqa: E402
from dashboard.settings import Settings  # noqa: E402
from datasource.services.department_rollup import DepartmentDays  # noqa: E402
from datasource.services.workhours import WorkTable  # noqa: E402
from datasource.store import partitions  # noqa: E402
from datasource.store.database import make_engine  # noqa: E402
from datasource.system import System  # noqa: E402

DATABASE = "citygrid_bench_departments"
HOURLY = np.array((0.15, 0.10, 0.08, 0.07, 0.08, 0.15, 0.35, 0.70, 1.30, 1.90, 2.10, 1.80,
                   1.00, 1.20, 1.80, 2.00, 1.80, 1.20, 0.70, 0.50, 0.45, 0.35, 0.25, 0.20))
REASONS = {"returned": ("不属于本部门职责", "位置不在辖区", "应由街道处置"),
           "rework": ("未清理干净", "整改不到位", "照片与现场不符"),
           "rejected": ("重复上报", "不属于城市管理范围"), "suspended": ("需市级协调",),
           "extended": ("需协调多部门",)}
CHUNK = 250_000


# ---------------------------------------------------------------------------- generation
class Model:
    """What the generator needs from the scenario, as arrays."""

    def __init__(self, scenario: Scenario, first: date, last: date):
        self.scenario = scenario
        self.categories = list(scenario.categories)
        weights = np.array([scenario.categories[c].weight for c in self.categories])
        self.category_p = weights / weights.sum()
        self.streets = list(scenario.streets)
        grids = [f["properties"] for f in scenario.grids_geojson["features"]]
        self.grids = {s: [(g["code"], g["community_code"]) for g in grids if g["street_code"] == s] for s in self.streets}
        self.street_p = np.array([len(self.grids[s]) for s in self.streets], float)
        self.street_p /= self.street_p.sum()
        self.departments = list(scenario.departments)
        self.speed = {d: scenario.departments[d].speed for d in self.departments}
        self.table = WorkTable(scenario.calendar, first - timedelta(days=2), last + timedelta(days=400))
        self.calendar = scenario.calendar

    def limit_seconds(self, stage: str, category: np.ndarray, urgent: np.ndarray):
        """(seconds, counted in working time?) of the stage's limit for each case."""
        seconds = np.zeros(category.size)
        work = np.zeros(category.size, bool)
        for c_index, code in enumerate(self.categories):
            for urgency, flag in (("normal", False), ("urgent", True)):
                mask = (category == c_index) & (urgent == flag)
                if not mask.any():
                    continue
                limit = self.scenario.limits.limit(stage, code, urgency)
                per = {"minutes": 60, "hours": 3600, "work_hours": 3600,
                       "work_days": self.calendar.minutes_per_day * 60}[limit.unit]
                seconds[mask] = limit.amount * per
                work[mask] = limit.unit.startswith("work")
        return seconds, work

    def deadline(self, start, seconds, work):
        out = start + seconds
        if work.any():
            out[work] = self.table.after(start[work], seconds[work])
        return out


def arrivals(rng, n: int, first: date, days: int, calendar) -> np.ndarray:
    """``n`` report instants (epoch s) over ``days`` days from ``first``: busier on working days
    and mid-morning, quiet at night."""
    day_weight = np.array([1.0 if calendar.is_working_day(first + timedelta(days=i)) else 0.55 for i in range(days)])
    day = rng.choice(days, size=n, p=day_weight / day_weight.sum())
    hour = rng.choice(24, size=n, p=HOURLY / HOURLY.sum())
    midnight = np.array([datetime.combine(first + timedelta(days=i), datetime.min.time(), calendar.tz).timestamp()
                         for i in range(days)])
    return np.sort(midnight[day] + hour * 3600 + rng.uniform(0, 3600, n))


def lognormal(rng, median, sigma, n):
    return np.exp(np.log(median) + sigma * np.clip(rng.standard_normal(n), -3, 2.5))


def chunk_frames(model: Model, rng, reported: np.ndarray, case_ids: np.ndarray, now: float, first_event_id: int):
    """(cases frame, events frame) of one chunk of cases (all their events)."""
    n = reported.size
    cat = rng.choice(len(model.categories), size=n, p=model.category_p)
    cat_codes = np.array(model.categories)[cat]
    urgent = (np.char.startswith(cat_codes.astype(str), "E04")) & (rng.random(n) < 0.5)
    street_i = rng.choice(len(model.streets), size=n, p=model.street_p)
    streets = np.array(model.streets)[street_i]
    grid = np.empty(n, dtype=object)
    community = np.empty(n, dtype=object)
    for s_index, street in enumerate(model.streets):
        mask = street_i == s_index
        picks = rng.integers(0, len(model.grids[street]), mask.sum())
        choices = model.grids[street]
        grid[mask] = [choices[k][0] for k in picks]
        community[mask] = [choices[k][1] for k in picks]
    routed = np.array([model.scenario.department_for(c, s) for c, s in zip(cat_codes, streets)], dtype=object)
    other = np.array(model.departments, dtype=object)[rng.integers(0, len(model.departments), n)]
    other = np.where(other == routed, "sanitation", other)
    other = np.where(other == routed, "roads", other)

    u = rng.random((6, n))
    rejected = u[0] < 0.04
    returned = ~rejected & (u[1] < 0.03)
    suspended = ~rejected & (u[2] < 0.01)
    extended = ~rejected & ~suspended & (u[3] < 0.02)
    rework = ~rejected & (u[4] < 0.06)
    t = {"reported": reported}
    t["rejected"] = np.where(rejected, reported + rng.exponential(1200, n), np.nan)
    t["filed"] = np.where(~rejected, reported + rng.exponential(600, n) + 30, np.nan)
    t["dispatched"] = t["filed"] + rng.exponential(900, n) + 30
    t["returned"] = np.where(returned, t["dispatched"] + lognormal(rng, 5400, 0.6, n), np.nan)
    t["dispatched2"] = np.where(returned, t["returned"] + rng.exponential(1200, n) + 30, np.nan)
    last_dispatch = np.where(returned, t["dispatched2"], t["dispatched"])
    t["suspended"] = np.where(suspended, last_dispatch + lognormal(rng, 3600, 0.5, n), np.nan)
    t["resumed"] = np.where(suspended, t["suspended"] + lognormal(rng, 3 * 86400, 0.5, n), np.nan)
    clock = np.where(suspended, t["resumed"], last_dispatch)
    lim, work = model.limit_seconds("dispatched", cat, urgent)
    clock_safe = np.where(rejected, reported, clock)
    deadline = model.deadline(clock_safe, lim, work)
    t["extended"] = np.where(extended, clock + 0.4 * (deadline - clock), np.nan)
    until = np.where(extended, model.table.after(deadline, np.full(n, 8 * 3600.0)), np.nan)
    speed = np.array([model.speed[d] for d in np.where(returned, other, routed)])
    handling = np.maximum(lognormal(rng, 0.55, 0.8, n) * lim * speed * np.where(extended, 1.4, 1.0), 60)
    begin = np.where(extended, t["extended"], clock_safe)   # an extension is asked for before handling
    t["handled"] = np.where(rejected, np.nan, np.where(work, model.table.after(begin, handling), begin + handling))
    t["rework"] = np.where(rework, t["handled"] + lognormal(rng, 5400, 0.5, n), np.nan)
    rework_safe = np.where(rework, t["rework"], reported)
    deadline2 = model.deadline(rework_safe, lim, work)
    handling2 = np.maximum(lognormal(rng, 0.4, 0.7, n) * lim * speed, 60)
    t["handled2"] = np.where(rework, np.where(work, model.table.after(rework_safe, handling2),
                                              rework_safe + handling2), np.nan)
    last_handled = np.where(rework, t["handled2"], t["handled"])
    t["verified"] = last_handled + lognormal(rng, 2400, 0.6, n)
    t["closed"] = t["verified"] + lognormal(rng, 1200, 0.6, n)

    # What has happened by now.  Along this order each case's times increase, so cutting at
    # now leaves every case a prefix of its story.
    order = ["reported", "rejected", "filed", "dispatched", "returned", "dispatched2", "suspended", "resumed",
             "extended", "handled", "rework", "handled2", "verified", "closed"]
    present = {}
    for k in order:
        t[k] = np.where(t[k] <= now, t[k], np.nan)
        present[k] = ~np.isnan(t[k])

    stage = np.full(n, "reported", dtype=object)
    stage_at = reported.copy()
    for k, s in (("rejected", "rejected"), ("filed", "filed"), ("dispatched", "dispatched"), ("returned", "filed"),
                 ("dispatched2", "dispatched"), ("suspended", "suspended"), ("resumed", "dispatched"),
                 ("handled", "handled"), ("rework", "dispatched"), ("handled2", "handled"),
                 ("verified", "verified"), ("closed", "closed")):
        stage = np.where(present[k], s, stage)
        stage_at = np.where(present[k], t[k], stage_at)
    updated = np.nanmax(np.vstack([t[k] for k in order]), axis=0)
    department = np.where(present["dispatched2"], other, np.where(present["dispatched"], routed, None))
    dispatched_at = np.where(present["rework"], t["rework"], np.where(present["dispatched2"], t["dispatched2"],
                                                                      t["dispatched"]))
    handled_at = np.where(present["handled2"], t["handled2"], t["handled"])
    before_rework = np.where(present["extended"], until, deadline)
    handle_deadline = np.where(present["rework"], deadline2, np.where(present["dispatched"], before_rework, np.nan))
    on_time = np.where(present["handled2"], t["handled2"] <= deadline2,
                       np.where(present["handled"], t["handled"] <= before_rework, None))
    on_time = np.where(present["handled"], on_time, None)
    open_deadline = np.where(stage == "dispatched", handle_deadline,
                             np.where(np.isin(stage, ("reported", "filed")), stage_at + 1800,
                                      np.where(np.isin(stage, ("handled", "verified")), stage_at + 3600, np.nan)))
    warn = np.where(np.isnan(open_deadline), np.nan, stage_at + 0.8 * (open_deadline - stage_at))
    n_events = sum(present[k].astype(int) for k in order) + 1

    def ts(values):
        return pd.to_datetime(values, unit="s", utc=True)

    cases = pd.DataFrame({
        "case_id": case_ids, "stage": stage, "category_code": cat_codes, "urgency": np.where(urgent, "urgent", "normal"),
        "department_code": department, "grid_code": grid, "community_code": community, "street_code": streets,
        "lon": 116.41, "lat": 39.92, "source": "inspector", "description": "生成的历史案件", "reporter": "bench",
        "reported_at": ts(reported), "filed_at": ts(np.where(present["returned"] & ~present["dispatched2"],
                                                             t["returned"], t["filed"])),
        "dispatched_at": ts(dispatched_at), "first_dispatched_at": ts(t["dispatched"]), "handled_at": ts(handled_at),
        "verified_at": ts(t["verified"]),
        "closed_at": ts(t["closed"]), "rejected_at": ts(t["rejected"]), "stage_entered_at": ts(stage_at),
        "warn_at": ts(warn), "deadline_at": ts(open_deadline), "handle_deadline_at": ts(handle_deadline),
        "handled_on_time": pd.array(on_time, dtype="boolean"),
        "rework_count": present["rework"].astype(int), "return_count": present["returned"].astype(int),
        "extension_count": present["extended"].astype(int), "suspended_from": np.where(
            stage == "suspended", "dispatched", None),
        "version": n_events, "updated_at": ts(updated), "last_actor": "bench"})

    frames = []
    for k in order:
        mask = present[k] if k != "reported" else np.ones(n, bool)
        if not mask.any():
            continue
        kind = {"dispatched2": "dispatched", "handled2": "handled"}.get(k, k)
        idx = np.nonzero(mask)[0]
        if kind == "dispatched":
            dept = (other if k == "dispatched2" else routed)[idx]
            body = ['{"department":"%s"}' % d for d in dept]
        elif kind in REASONS and kind != "extended":
            choices = REASONS[kind]
            body = [json.dumps({"reason": choices[j % len(choices)]}, ensure_ascii=False) for j in range(idx.size)]
        elif kind == "extended":
            body = [json.dumps({"until": datetime.fromtimestamp(x, timezone.utc).isoformat(), "reason": "需协调多部门"},
                               ensure_ascii=False) for x in until[idx]]
        elif kind == "reported":
            body = [json.dumps({"category": c, "lon": 116.41, "lat": 39.92, "source": "inspector"}) for c in cat_codes]
        else:
            body = ["{}"] * idx.size
        frames.append(pd.DataFrame({"case_id": case_ids[idx], "type": kind, "at_s": t[k][idx],
                                    "actor": "bench", "body": body}))
    events = pd.concat(frames, ignore_index=True).sort_values(["at_s", "case_id"], kind="stable")
    events.insert(0, "event_id", [f"bench-{first_event_id + i}" for i in range(len(events))])
    events["at"] = ts(events.pop("at_s").to_numpy())
    events = events[["event_id", "case_id", "type", "at", "actor", "body"]]
    return cases, events


def copy_frame(raw, table: str, frame: pd.DataFrame) -> None:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, date_format="%Y-%m-%d %H:%M:%S.%f+00")
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    with raw.cursor() as cursor:
        with cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN WITH (FORMAT csv)') as copy:
            copy.write(buffer.getvalue())


def generate(url: str, n: int, days: int, now: datetime, seed: int) -> dict:
    """Fill the bench database; seconds per phase."""
    system = System(Settings(database_url=url, redis_url="redis://127.0.0.1:6379/0"))
    system.start(redis=False)
    scenario, engine = system.scenario, system.engine
    tz = scenario.calendar.tz
    last = now.astimezone(tz).date()
    first = last - timedelta(days=days - 1)
    model = Model(scenario, first, last)
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    reported = arrivals(rng, n, first, days, scenario.calendar)
    reported = reported[reported <= now.timestamp() - 60]
    local_days = pd.to_datetime(reported, unit="s", utc=True).tz_convert(str(tz)).strftime("%Y%m%d").to_numpy()
    serial = pd.Series(local_days).groupby(local_days).cumcount().to_numpy() + 1
    case_ids = np.array([f"DC{d}{s:06d}" for d, s in zip(local_days, serial)])
    with engine.connect() as c:
        indexes = c.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('cases', 'case_events') "
                                 "AND indexname NOT LIKE '%pkey' AND indexname <> 'case_events_event_id_key'")).all()
        c.execute(text("ALTER TABLE case_events DROP CONSTRAINT IF EXISTS case_events_event_id_key"))
        for name, _ in indexes:
            c.execute(text(f'DROP INDEX IF EXISTS "{name}"'))
        c.execute(text("ALTER TABLE cases DROP CONSTRAINT IF EXISTS cases_category_code_fkey, "
                       "DROP CONSTRAINT IF EXISTS cases_department_code_fkey, "
                       "DROP CONSTRAINT IF EXISTS cases_grid_code_fkey"))
        c.commit()
    generate_s = copy_s = 0.0
    total_events = 0
    with engine.connect() as c:
        raw = c.connection.dbapi_connection
        for i in range(0, reported.size, CHUNK):
            t0 = time.perf_counter()
            cases, events = chunk_frames(model, rng, reported[i:i + CHUNK], case_ids[i:i + CHUNK], now.timestamp(),
                                         total_events)
            t1 = time.perf_counter()
            copy_frame(raw, "cases", cases)
            copy_frame(raw, "case_events", events)
            raw.commit()
            total_events += len(events)
            generate_s += t1 - t0
            copy_s += time.perf_counter() - t1
            print(f"  {min(i + CHUNK, reported.size):,} cases, {total_events:,} events", flush=True)
    t2 = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        if not partitions.is_partitioned(c):     # partitioned (issue 15): the registry's key keeps ids unique
            c.execute(text("ALTER TABLE case_events ADD CONSTRAINT case_events_event_id_key UNIQUE (event_id)"))
        for _, definition in indexes:
            c.execute(text(definition.replace(" ON ONLY ", " ON ")))
        partitions.maintain(engine)                    # the months loaded into the default partition
        c.execute(text("ALTER TABLE cases ADD FOREIGN KEY (category_code) REFERENCES categories(code), "
                       "ADD FOREIGN KEY (department_code) REFERENCES departments(code), "
                       "ADD FOREIGN KEY (grid_code) REFERENCES grids(code)"))
        c.execute(text("VACUUM ANALYZE cases"))
        c.execute(text("VACUUM ANALYZE case_events"))
    index_vacuum_s = time.perf_counter() - t2
    # The COPY bypassed the worker: count the daily roll-up once, as the first report would.
    t3 = time.perf_counter()
    DepartmentDays(system).refresh()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE report_departments_daily"))
    system.close()
    return {"cases": int(reported.size), "events": total_events, "generate_s": round(generate_s, 1),
            "copy_s": round(copy_s, 1), "index_vacuum_s": round(index_vacuum_s, 1),
            "rollup_s": round(time.perf_counter() - t3, 1), "total_s": round(time.perf_counter() - started, 1)}


def generate_apart(url: str, n: int, days: int, now: datetime, seed: int) -> dict:
    """:func:`generate` in a child process.  Its frames and CSV buffers (~330 MB at scale 1) are
    freed but kept by the allocator, not given back to the system: generated here, they stood in
    the "memory of the serving process" measured afterwards (501 MB, of which ``malloc_trim``
    gave back 260)."""
    import multiprocessing
    with multiprocessing.get_context("fork").Pool(1) as pool:
        return pool.apply(generate, (url, n, days, now, seed))


# ---------------------------------------------------------------------------- timing
def dash_request(prefix: str, outputs: tuple, store: dict, states: dict) -> dict:
    """The body of a Dash callback request: the page's period store changed."""
    ids = [f"{prefix}-{o}" for o in outputs]
    state = [{"id": f"{prefix}-lang", "property": "data", "value": "zh"}]
    state += [{"id": k, "property": "data", "value": v} for k, v in states.items()]
    if states:
        state = [state[1], state[0]]   # the department page's states: code, then language
    return {"output": ".." + "...".join(ids) + "..",
            "outputs": [{"id": i.rsplit(".", 1)[0], "property": i.rsplit(".", 1)[1]} for i in ids],
            "inputs": [{"id": f"{prefix}-period", "property": "data", "value": store}],
            "state": state, "changedPropIds": [f"{prefix}-period.data"]}


def median_ms(call, rounds: int) -> float:
    call()  # warm-up (plans, caches of the first call)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def timings(url: str, now: datetime, rounds: int, redis_url: str) -> dict:
    import psutil

    from dashboard.web.factory import create_app, start
    from datasource.services import accounts
    from datasource.services.evaluation import DepartmentEvaluation

    settings = Settings(database_url=url, redis_url=redis_url, stream="bench:departments:events",
                        data_dir=Path("/tmp/citygrid-bench-departments"), secret_key="bench")
    system = System(settings).start()
    evaluation = DepartmentEvaluation(system)
    today = now.astimezone(system.scenario.calendar.tz).date()
    with system.engine.connect() as c:
        oldest = c.execute(text("SELECT min(at) FROM case_events")).scalar()
    span = (today - oldest.astimezone(system.scenario.calendar.tz).date()).days
    backs = sorted({0, 45, span // 4, span // 2, 3 * span // 4, span - 31})
    ends = [today - timedelta(days=d) for d in backs if d <= span - 31]
    windows = [Period(end - timedelta(days=29), end) for end in ends]
    from_cases = DepartmentEvaluation(system, use_rollup=False)   # the same figures grouped from the cases
    out = {"windows": [], "windows_from_cases": [], "departments": []}
    for period in windows:
        rows = evaluation.overview(period, now)["departments"]
        assert rows == from_cases.overview(period, now)["departments"], f"roll-up ≠ cases for {period}"
        ms = median_ms(lambda: evaluation.overview(period, now), rounds)
        base = median_ms(lambda: from_cases.overview(period, now), rounds)
        out["windows"].append((str(period.first), str(period.last), sum(r["due"] for r in rows), round(ms, 1)))
        out["windows_from_cases"].append((str(period.first), str(period.last), round(base, 1)))
        print(f"  overview {period.first}…{period.last}: {sum(r['due'] for r in rows):,} cases, {ms:.1f} ms "
              f"(from the cases: {base:.1f} ms)", flush=True)
    for code in ("sanitation", "enforcement", "street-110101001", "roads"):
        for period in windows[:3]:
            ms = median_ms(lambda: evaluation.department(code, period, now), rounds)
            out["departments"].append((code, str(period.first), round(ms, 1)))
            print(f"  department {code} {period.first}: {ms:.1f} ms", flush=True)
    if accounts.find_user(system.engine, "bench-sup") is None:
        accounts.add_user(system.engine, "bench-sup", "supervisor", "bench-password-1")
    token = accounts.create_token(system.engine, "bench-sup")
    app = start(create_app(settings, system))
    client = app.server.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    period = windows[0]
    query = f"/api/v1/departments?from={period.first}&to={period.last}"
    assert client.get(query, headers=headers).status_code == 200
    out["api_ms"] = round(median_ms(lambda: client.get(query, headers=headers), rounds), 1)
    # The pages' own callbacks (what a browser's request costs the server, formatting included).
    store = {"first": str(period.first), "last": str(period.last), "kind": "custom", "query": period.query()}
    pages = {"departments_page_ms": dash_request("departments", ("professional.rowData", "streets.rowData",
                                                                 "totals.children", "scores.figure"),
                                                 store, {}),
             "department_page_ms": dash_request("dept-report", ("cards.children", "trend.figure",
                                                                "category-chart.figure", "street-chart.figure",
                                                                "categories.rowData", "streets.rowData",
                                                                "open.rowData", "overdue.rowData", "events.rowData"),
                                                store, {"dept-report-code": "sanitation"})}
    for name, body in pages.items():
        answer = client.post("/_dash-update-component", json=body, headers=headers)
        assert answer.status_code == 200, answer.data[:300]
        out[name] = round(median_ms(lambda: client.post("/_dash-update-component", json=body, headers=headers),
                                    rounds), 1)
    export = f"/reports/departments/sanitation/open.xlsx?from={period.first}&to={period.last}"
    out["export_ms"] = round(median_ms(lambda: client.get(export, headers=headers), rounds), 1)
    out["rss_mb"] = round(psutil.Process().memory_info().rss / 2**20)
    system.close()
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2_000_000)
    parser.add_argument("--days", type=int, default=1461)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse", action="store_true", help="time the existing bench database")
    args = parser.parse_args(argv)
    now = datetime.now(timezone.utc)
    url = args.pg.rsplit("/", 1)[0] + "/" + DATABASE
    if not args.reuse:
        admin = make_engine(args.pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
            c.execute(text(f'CREATE DATABASE "{DATABASE}"'))
        admin.dispose()
        print(f"generating {args.cases:,} cases over {args.days} days into {DATABASE} …", flush=True)
        print(json.dumps(generate_apart(url, args.cases, args.days, now, args.seed)), flush=True)
    print("timing (medians of", args.rounds, "rounds):", flush=True)
    out = timings(url, now, args.rounds, args.redis)
    print(json.dumps(out, ensure_ascii=False), flush=True)
    return out


def measure(scale: float = 1.0) -> list[dict]:
    """For ``make bench``: 250,000 cases over 180 days at scale 1 (the README's run: 2,000,000 over
    four years; a 30-day window holds ~40,000 either way), 5 rounds."""
    from bench.harness import figure, need_postgresql, sized
    pg = need_postgresql()
    cases, days = round(sized(250_000, scale, 3_000)), round(sized(180, scale, 35))
    out = main(["--cases", str(cases), "--days", str(days), "--pg", pg, "--rounds", str(round(sized(5, scale, 1)))])
    note = f"{cases:,} cases over {days} days, PostgreSQL"
    overview = max(w[3] for w in out["windows"])
    department = max(d[2] for d in out["departments"])
    return [figure("department overview, 30-day window (slowest)", overview, "ms", at_most=300, note=note),
            figure("one department, 30-day window (slowest)", department, "ms", at_most=500, note=note),
            figure("/departments page callback", out["departments_page_ms"], "ms", at_most=300, note=note),
            figure("/departments/<code> page callback", out["department_page_ms"], "ms", at_most=500, note=note),
            figure("memory of the serving process (RSS)", out["rss_mb"], "MB", at_most=500, note=note)]


if __name__ == "__main__":
    main()
