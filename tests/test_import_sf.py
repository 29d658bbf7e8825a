"""The San Francisco 311 sample through ``citygrid import`` (issue 14, parts 2 and 4): every
row accounted for, the department figures of ``/api/v1/departments`` equal to an independent
pandas computation over the same CSV, a re-import that changes nothing, and ``citygrid
rebuild`` of the imported stream giving the same tables — on SQLite and PostgreSQL."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from datasource.store import schema
from datasource.store.database import make_engine
from tests.import_helpers import city_settings, citygrid, import_json
from tests.streams import differences, snapshot

SAMPLE = Path(__file__).resolve().parent / "fixtures" / "sf311-sample.csv"
LIMIT_HOURS = 72   # the shipped sf311 mapping's [limits] hours: SF's export has no due date
ZONE = "America/Los_Angeles"


def expected() -> tuple[pd.DataFrame, dict]:
    """The rows that must be imported, with their figures, and the skip counts, computed from
    the CSV with pandas alone (none of the importer's code)."""
    d = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    opened = pd.to_datetime(d["created_date"].str.removesuffix(" UTC"), utc=True)
    closed = pd.to_datetime(d["closed_date"].str.removesuffix(" UTC").replace("", None), utc=True)
    lat, lon = d["latitude"].astype(float), d["longitude"].astype(float)
    no_position = (lat == 0) & (lon == 0)
    before = (closed < opened) & ~no_position
    skipped = {"closed_before_opened": int(before.sum()), "missing_position": int(no_position.sum())}
    keep = ~no_position & ~before
    rows = pd.DataFrame({"department": d["agency_name"].str.strip(), "opened": opened,
                         "closed": closed.where(d["status"] == "Closed"), "lat": lat, "lon": lon})[keep]
    rows["year"] = rows["opened"].dt.tz_convert(ZONE).dt.year
    rows["on_time"] = rows["closed"].notna() & (rows["closed"] <= rows["opened"] + pd.Timedelta(hours=LIMIT_HOURS))
    return rows, skipped


@pytest.fixture
def sf_settings(tmp_path, database_url, stream_key, redis_server_url):
    rows, _ = expected()
    return city_settings(tmp_path, database_url, stream_key, redis_server_url, rows, ZONE)


def test_the_sf_sample_loads_with_every_row_accounted_for_and_figures_that_match(sf_settings, tmp_path, clock):
    from dashboard.web.factory import create_app, start
    from datasource.services import accounts
    from datasource.system import System
    rows, skipped = expected()
    # 1. Import: every row read is imported or skipped, and each skip has its reason.
    summary = import_json(sf_settings, str(SAMPLE), "--mapping", "sf311", "--skipped", str(tmp_path / "skipped.csv"))
    assert summary["read"] == 10_000 == summary["imported"] + summary["skipped"]
    assert summary["imported"] == len(rows)
    assert summary["skipped_by_reason"] == skipped
    assert summary["drained"] == {"applied": summary["events"], "dead": 0}
    written = pd.read_csv(tmp_path / "skipped.csv", dtype=str, keep_default_na=False)
    assert written["reason"].value_counts().to_dict() == skipped
    assert set(written.columns[3:]) == set(pd.read_csv(SAMPLE, nrows=0).columns)   # the rows as they were
    assert len(summary["departments_created"]) == rows["department"].nunique()

    # 2. The figures of /api/v1/departments, year by year, equal pandas' over the same CSV.
    system = System(sf_settings, clock=clock).start()
    app = start(create_app(sf_settings, system))
    accounts.add_user(system.engine, "boss", "supervisor", "pw-boss-boss")
    auth = {"Authorization": f"Bearer {accounts.create_token(system.engine, 'boss')}"}
    client = app.server.test_client()
    for year, cohort in rows.groupby("year"):
        answer = client.get(f"/api/v1/departments?from={year}-01-01&to={year}-12-31", headers=auth)
        assert answer.status_code == 200, answer.json
        got = {r["name"]: r for r in answer.json if r["due"]}
        want = cohort.groupby("department").agg(due=("opened", "size"), closed=("closed", "count"),
                                                  on_time=("on_time", "sum"))
        assert set(got) == set(want.index), year
        for name, w in want.iterrows():
            g = got[name]
            assert (g["due"], g["closed"], g["handled"], g["handled_on_time"]) == \
                (w["due"], w["closed"], w["closed"], w["on_time"]), (year, name)
            assert g["closure_rate"] == round(w["closed"] / w["due"], 4), (year, name)
            if w["closed"]:
                assert g["on_time_rate"] == round(w["on_time"] / w["closed"], 4), (year, name)
    length, tables = system.stream.length(), counts(system.engine)

    # 3. Re-import: nothing new on the stream or in the tables.
    again = import_json(sf_settings, str(SAMPLE), "--mapping", "sf311", "--skipped", str(tmp_path / "again.csv"))
    assert (again["imported"], again["events"], again["departments_created"]) == (0, 0, {})
    assert again["skipped_by_reason"] == {**skipped, "already_imported": len(rows)}
    assert system.stream.length() == length and again["drained"] is None
    assert counts(system.engine) == tables

    # 4. The stream refuses a second report of an imported case (the check, not the importer).
    case = system.engine.connect().execute(select(schema.cases.c.case_id).limit(1)).scalar()
    from tests.helpers import event
    conflict = system.stream.append(event(case, "reported", clock(), category="E90001", lon=0.0, lat=0.0))
    assert not isinstance(conflict, str) and conflict.stage is not None

    # 5. citygrid rebuild of the imported stream gives the same tables (on SQLite: a replay of
    #    58,611 events costs half a minute per database, and test_rebuild.py covers both).
    try:
        if sf_settings.database_url.startswith("sqlite"):
            target = f"sqlite:///{tmp_path / 'rebuilt.db'}"
            result = citygrid(sf_settings, "rebuild", "--database-url", target)
            assert result.exit_code == 0, result.output
            engine = make_engine(target)
            assert not differences(snapshot(system.engine), snapshot(engine))
            with engine.connect() as c:   # the created departments came back from the city folder's files
                codes = set(c.execute(select(schema.departments.c.code)).scalars())
            assert set(summary["departments_created"]) <= codes == set(system.scenario.departments)
            engine.dispose()
    finally:
        system.close()


def counts(engine) -> dict[str, int]:
    with engine.connect() as c:
        return {name: c.execute(select(func.count()).select_from(schema.metadata.tables[name])).scalar()
                for name in ("cases", "case_events", "dead_letters", "departments", "categories", "daily_flow")}
