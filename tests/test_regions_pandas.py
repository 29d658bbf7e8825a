"""The regional and people figures against an independent pandas computation over a
generated period (the simulator's stories through the real stream and worker), on SQLite
and PostgreSQL.

pandas reads the whole tables here — a test may; the services may not — and recomputes
every figure the straightforward way: the previous stage change of each act by sorting the
case's events, its deadline with the domain's :meth:`Limit.end` on the working calendar.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from dashboard.domain.evaluation import Period
from dashboard.domain.lifecycle import Stage
from dashboard.domain.performance import ACT_STAGE, PUBLIC_SOURCES, shift_of
from datasource.services.regions import RegionReport
from datasource.services.staff import StaffReport
from datasource.simulation.backfill import append_history, generate_history
from tests.helpers import case_frames

DAYS, PER_DAY = 6, 450


@pytest.fixture
def generated(system):
    now = datetime.now(timezone.utc)
    history = generate_history(system.scenario, system.locator, DAYS, seed=11, now=now, per_day=PER_DAY)
    append_history(system.stream, history, seed=11)
    assert system.worker().drain().dead == 0
    tz = system.scenario.calendar.tz
    today = now.astimezone(tz).date()
    period = Period(today - timedelta(days=DAYS - 2), today - timedelta(days=1), tz=tz)
    cases, events = case_frames(system.engine)
    return system, period, cases, events


def in_period(series, period):
    return (series >= pd.Timestamp(period.start)) & (series < pd.Timestamp(period.end))


def rate(numerator, denominator):
    return None if not denominator else numerator / denominator


def test_street_and_grid_figures_match_pandas(generated):
    system, period, cases, _ = generated
    cohort = cases[in_period(cases.reported_at, period)]
    filed = cohort[cohort.filed_at.notna()]
    assert len(filed) > 1000
    report = RegionReport(system)
    for level, column in (("street", "street_code"), ("community", "community_code")):
        rows = {r["code"]: r for r in report.figures(level, period)}
        for code, group in cohort.groupby(column):
            f = group[group.filed_at.notna()]
            closed = f[f.closed_at.notna()]
            on_time = closed[closed.handled_on_time.fillna(False).astype(bool)]
            public = f[f.source.isin(PUBLIC_SOURCES)]
            row = rows[code]
            assert (row["reports"], row["cases"], row["closed"], row["closed_on_time"], row["public"],
                    row["hotline"]) == (len(group), len(f), len(closed), len(on_time), len(public),
                                        int((f.source == "hotline12345").sum())), code
            top = f.groupby("category_code").size().reset_index(name="n").sort_values(
                ["n", "category_code"], ascending=[False, True]).head(3)
            assert row["top_categories"] == [{"code": c, "n": int(n)} for c, n in zip(top.category_code, top.n)]
            assert row["closure_rate"] == pytest.approx(rate(len(closed), len(f)))
    everywhere = {r["code"]: r for r in report.figures("grid", period)}      # every grid of the district
    per_grid = filed.groupby("grid_code").size()
    assert {code: r["cases"] for code, r in everywhere.items() if r["cases"]} == per_grid.to_dict()
    busiest = per_grid.idxmax()
    top = filed[filed.grid_code == busiest].groupby("category_code").size().reset_index(name="n").sort_values(
        ["n", "category_code"], ascending=[False, True]).head(3)
    assert everywhere[busiest]["top_categories"] == [{"code": c, "n": int(n)} for c, n in zip(top.category_code, top.n)]
    community = filed.community_code.iloc[0]
    grids = {r["code"]: r for r in report.figures("grid", period, parent=community)}
    expected = filed[filed.community_code == community].groupby("grid_code").size()
    assert {code: r["cases"] for code, r in grids.items() if r["cases"]} == expected.to_dict()


def acts_frame(system, period, cases, events) -> pd.DataFrame:
    """Every act in the period with its clock start and whether it met its deadline."""
    scenario, calendar, tz = system.scenario, system.scenario.calendar, system.scenario.calendar.tz
    moves = events[~events.type.isin(["extended", "attached", "visited"])].sort_values("id").copy()
    moves["start"] = moves.groupby("case_id").t.shift(1)
    acts = moves[moves.type.isin(list(ACT_STAGE)) & in_period(moves.t, period)]
    acts = acts.merge(cases[["case_id", "category_code", "urgency"]], on="case_id")

    def on_time(row) -> bool:
        limit = scenario.limits.limit(Stage(ACT_STAGE[row.type]), row.category_code, row.urgency)
        return limit is None or row.t.to_pydatetime() <= limit.end(row.start.to_pydatetime(), calendar)

    acts = acts.assign(on_time=acts.apply(on_time, axis=1))
    local = acts.start.dt.tz_convert(tz)
    acts["shift"] = [shift_of(t.hour * 60 + t.minute + t.second / 60) for t in local]
    acts["day"] = [t.date().isoformat() for t in local]
    return acts


def test_people_figures_match_pandas(generated):
    system, period, cases, events = generated
    staff = StaffReport(system).report(period)
    acts = acts_frame(system, period, cases, events)
    cohort = cases[in_period(cases.reported_at, period)]
    # Inspectors: reports, decisions, grids, verification visits.
    own = cohort[cohort.source == "inspector"]
    visits = acts[acts.type.isin(["verified", "rework"])]
    grid_owner = {g: i["id"] for i in system.scenario.inspectors for g in i["grids"]}
    filed = cohort[cohort.filed_at.notna()].assign(owner=lambda f: f.grid_code.map(grid_owner))
    checked = 0
    for row in staff["inspectors"]:
        mine = own[own.reporter == row["id"]]
        seen = visits[visits.actor == row["id"]]
        grid_cases = filed[filed.owner == row["id"]]
        assert (row["reports"], row["filed"], row["rejected"]) == (
            len(mine), int(mine.filed_at.notna().sum()), int(mine.rejected_at.notna().sum())), row["id"]
        assert (row["grid_filed"], row["grid_public"]) == (len(grid_cases),
                                                           int(grid_cases.source.isin(PUBLIC_SOURCES).sum()))
        assert (row["verifications"], row["on_time_verifications"]) == (len(seen), int(seen.on_time.sum())), row["id"]
        checked += len(seen)
    assert checked == len(visits) > 300 and staff["unrostered"] == 0
    # Dispatchers: dispatches, on time, and returns charged to the dispatch they undid.
    dispatches = acts[acts.type == "dispatched"]
    ordered = events.sort_values("id")
    last_dispatch = ordered.assign(d=ordered.id.where(ordered.type == "dispatched")).groupby("case_id").d.ffill()
    returned_ids = last_dispatch[ordered.type == "returned"].dropna().astype(int)
    returned = ordered[ordered.id.isin(returned_ids) & in_period(ordered.t, period)].groupby("actor").size()
    got = {r["actor"]: (r["dispatches"], r["on_time"], r["returned"]) for r in staff["dispatchers"]}
    expected = {actor: (len(g), int(g.on_time.sum()), int(returned.get(actor, 0)))
                for actor, g in dispatches.groupby("actor")}
    assert got == expected and sum(v[2] for v in got.values()) > 0
    # Shifts: filings and closings by the shift in which their clock started.
    decisions = acts[acts.type.isin(["filed", "rejected"])]
    closings = acts[acts.type == "closed"]
    for row in staff["shifts"]:
        f, c = decisions[decisions["shift"] == row["shift"]], closings[closings["shift"] == row["shift"]]
        assert (row["filings"], row["on_time_filings"], row["closings"], row["on_time_closings"]) == (
            len(f), int(f.on_time.sum()), len(c), int(c.on_time.sum())), row["shift"]
    late = decisions[~decisions.on_time]
    assert len(late) > 0 and len(closings) > 100     # the comparison covers late and on-time acts
    daily = {(d["day"], d["shift"]): d["filings"] for d in staff["daily"] if d["filings"]}
    assert daily == decisions.groupby(["day", "shift"]).size().astype(int).to_dict()
