"""Department evaluation (/departments, the API, the exports) against hand-computed figures.

A small fixed set of cases, projected by the real projector into SQLite and PostgreSQL,
evaluated over Mon 2026-11-09 … Fri 2026-11-13 (no holiday that week; work periods 08:30–12:00
and 13:00–17:30) at "now" = Mon 2026-11-16 12:00.  Each case's comment says what it tests and
what it contributes; the expected figures are worked out by hand beside them.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from shapely.geometry import shape

from dashboard.domain.evaluation import (Period, PeriodError, checked, evaluate, resolve, target_ratio)
from dashboard.domain.indicators import department_score
from datasource.services.evaluation import DepartmentEvaluation, UnknownDepartment
from datasource.services.workhours import working_hours
from tests.helpers import event, stream_entries

CST = timezone(timedelta(hours=8))
PERIOD = Period(date(2026, 11, 9), date(2026, 11, 13))
NOW = datetime(2026, 11, 16, 12, 0, tzinfo=CST)


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=CST)


def street_point(scenario, street: str) -> tuple[float, float]:
    feature = next(f for f in scenario.grids_geojson["features"] if f["properties"]["street_code"] == street)
    p = shape(feature["geometry"]).representative_point()
    return p.x, p.y


class Story:
    """Events of the fixed cases, in time order per case."""

    def __init__(self, scenario):
        self.events = []
        self.points = {"A": street_point(scenario, "110101001"), "B": street_point(scenario, "110101002")}

    def case(self, case_id, reported, steps, category="E0102", street="A"):
        lon, lat = self.points[street]
        self.events.append(event(case_id, "reported", reported, category=category, lon=lon, lat=lat,
                                 description="暴露垃圾", source="inspector"))
        for kind, when, body in steps:
            self.events.append(event(case_id, kind, when, **body))


def D(dept, **extra):
    return {"department": dept, **extra}


def fixed_cases(scenario) -> list:
    s = Story(scenario)
    S, R = "sanitation", "roads"
    # A1 S: dispatched Mon 09:10 (4 working hours → 14:10), handled 11:00, closed.  Handling 1.83 h.
    s.case("DC20261109000001", at(9, 9), [("filed", at(9, 9, 5), {}), ("dispatched", at(9, 9, 10), D(S)),
                                          ("handled", at(9, 11), {}), ("verified", at(9, 11, 30), {}),
                                          ("closed", at(9, 11, 40), {})])
    # A2 S: dispatched Fri 16:30 → deadline Mon 11:30 by the working calendar (1 h Friday, 3 h
    # Monday); handled Mon 11:00 — 66 natural hours later, yet on time.  Handling 3.5 h.  Stage handled.
    s.case("DC20261113000002", at(13, 16), [("filed", at(13, 16, 10), {}), ("dispatched", at(13, 16, 30), D(S)),
                                            ("handled", at(16, 11), {})])
    # A3 S: dispatched Tue 09:00 (deadline 14:00), handled late Wed 10:00, verification fails →
    # rework Wed 11:00 (new deadline 16:00), handled 15:00 on time, closed.  The latest handling
    # counts: on time.  1 rework.  Handling Tue 09:00 → Wed 15:00 = 7.5 + 5.5 = 13 h.
    s.case("DC20261110000003", at(10, 8), [("filed", at(10, 8, 30), {}), ("dispatched", at(10, 9), D(S)),
                                           ("handled", at(11, 10), {}),
                                           ("rework", at(11, 11), {"reason": "未清理干净"}),
                                           ("handled", at(11, 15), {}), ("verified", at(11, 16), {}),
                                           ("closed", at(11, 16, 30), {})])
    # A4 S: dispatched Wed 10:00 (deadline 15:00), extended to Fri 17:00, handled Thu 17:00:
    # late by the first deadline, on time with the extension.  1 extension.  Handling 6.5 + 7.5 = 14 h.
    s.case("DC20261111000004", at(11, 9), [("filed", at(11, 9, 30), {}), ("dispatched", at(11, 10), D(S)),
                                           ("extended", at(11, 12), {"until": at(13, 17).isoformat(),
                                                                     "reason": "需协调"}),
                                           ("handled", at(12, 17), {})])
    # A5 S: dispatched Thu 09:00 (deadline 14:00), never handled → overdue now; the oldest of
    # the backlog: Mon 12:00 − Thu 09:00 = 4.125 days.
    s.case("DC20261112000005", at(12, 8), [("filed", at(12, 8, 30), {}), ("dispatched", at(12, 9), D(S))])
    # A6 S, another category and street: dispatched Fri 09:00 with a deadline the next Monday
    # week → waiting, not overdue.
    s.case("DC20261113000006", at(13, 8), [("filed", at(13, 8, 30), {}),
                                           ("dispatched", at(13, 9), D(S, deadline=at(23, 17).isoformat()))],
           category="C0118", street="B")
    # A7: first dispatched Mon 10:30 to roads, returned by roads 11:00, re-dispatched to S 11:10,
    # handled 14:00 (deadline 16:10), closed.  S's case (dispatched to it now); roads' return.
    # Handling from the first dispatch: 10:30 → 14:00 = 1.5 + 1 = 2.5 h.
    s.case("DC20261109000007", at(9, 10), [("filed", at(9, 10, 10), {}), ("dispatched", at(9, 10, 30), D(R)),
                                           ("returned", at(9, 11), {"reason": "不属于本部门"}),
                                           ("dispatched", at(9, 11, 10), D(S)), ("handled", at(9, 14), {}),
                                           ("verified", at(9, 15), {}), ("closed", at(9, 15, 30), {})])
    # A8: first dispatched Sun 11-08 (before the period) to S, returned, re-dispatched to roads
    # inside the period → not the period's case; its return is not counted either.
    s.case("DC20261108000008", at(8, 19), [("filed", at(8, 19, 30), {}), ("dispatched", at(8, 20), D(S)),
                                           ("returned", at(9, 9), {"reason": "错派"}),
                                           ("dispatched", at(9, 9, 30), D(R)), ("handled", at(9, 10), {})])
    # A9 roads: dispatched Sat 11-14 00:30 local (Fri 16:30 UTC) → after the period.
    s.case("DC20261114000009", at(13, 23, 40), [("filed", at(13, 23, 45), {}), ("dispatched", at(14, 0, 30), D(R))])
    # A10 roads: dispatched Fri 23:50 local (Fri 15:50 UTC) → inside the period (local days);
    # deadline Mon 13:30 → waiting, not overdue at 12:00; backlog age 2.507 days.
    s.case("DC20261113000010", at(13, 23, 30), [("filed", at(13, 23, 40), {}), ("dispatched", at(13, 23, 50), D(R))])
    # A11 rejected report; A12 filed, never dispatched → neither is anybody's case.
    s.case("DC20261110000011", at(10, 9), [("rejected", at(10, 9, 10), {"reason": "重复上报"})])
    s.case("DC20261110000012", at(10, 9), [("filed", at(10, 9, 10), {})])
    # A13 roads: dispatched Tue 09:00, suspended 10:00 → due, not handled, not waiting, not overdue.
    s.case("DC20261110000013", at(10, 8), [("filed", at(10, 8, 30), {}), ("dispatched", at(10, 9), D(R)),
                                           ("suspended", at(10, 10), {"reason": "需市级协调"})])
    # A15 roads: dispatched Mon 09:00 (deadline 14:00), handled 16:00 late, closed.  Handling 3 + 3 = 6 h.
    s.case("DC20261109000015", at(9, 8), [("filed", at(9, 8, 30), {}), ("dispatched", at(9, 9), D(R)),
                                          ("handled", at(9, 16), {}), ("verified", at(9, 16, 30), {}),
                                          ("closed", at(9, 17), {})])
    return s.events


def project(system, events) -> None:
    result = system.projector().apply(stream_entries((e.to_fields(), e.at) for e in events))
    assert not result.dead, result.dead


@pytest.fixture
def evaluation(system):
    project(system, fixed_cases(system.scenario))
    return DepartmentEvaluation(system)


def rows_by_code(overview) -> dict:
    return {r["code"]: r for r in overview["departments"]}


def test_figures_match_the_hand_computation(evaluation):
    rows = rows_by_code(evaluation.overview(PERIOD, NOW))
    s, r = rows["sanitation"], rows["roads"]
    assert {k: s[k] for k in ("due", "handled", "handled_on_time", "closed", "reworks", "extensions", "returns",
                              "overdue_now", "backlog")} == dict(due=7, handled=5, handled_on_time=5, closed=3,
                                                                 reworks=1, extensions=1, returns=0, overdue_now=1,
                                                                 backlog=2)
    assert s["backlog_age_days"] == 4.1                       # A5: 4.125 days
    assert s["handling_median_h"] == 3.5                      # 1.83, 2.5, 3.5, 13, 14
    assert s["handling_p90_h"] == pytest.approx(13.6)         # 13 + 0.6 · (14 − 13)
    assert (s["on_time_rate"], s["closure_rate"], s["rework_rate"]) == (1.0, 3 / 7, 1 / 7)
    score = department_score(7, 3, 5, 5, 1)
    assert (s["score"], s["grade"]) == (score.composite, score.grade)
    assert s["closure_points"] + s["on_time_points"] + s["rework_points"] + s["volume_points"] == pytest.approx(
        score.composite, abs=0.15)
    assert s["series"] == [2, 1, 1, 1, 2]                     # Mon A1 A7, Tue A3, Wed A4, Thu A5, Fri A2 A6

    assert {k: r[k] for k in ("due", "handled", "handled_on_time", "closed", "reworks", "returns", "overdue_now",
                              "backlog")} == dict(due=3, handled=1, handled_on_time=0, closed=1, reworks=0,
                                                  returns=1, overdue_now=0, backlog=1)
    assert r["backlog_age_days"] == 2.5                       # A10, Fri 23:50 → Mon 12:00
    assert (r["handling_median_h"], r["handling_p90_h"]) == (6.0, 6.0)
    assert r["series"] == [1, 1, 0, 0, 1]                     # A15, A13, A10 (Friday by local time)
    assert r["on_time_rate"] == 0.0 and r["on_time_rate_ratio"] == 0.0

    # Every other department is listed, ungraded; rejected and undispatched reports count nowhere.
    assert len(rows) == len(evaluation.scenario.departments)
    assert sum(x["due"] for x in rows.values()) == 10
    assert rows["water"]["due"] == 0 and rows["water"]["score"] is None and rows["water"]["grade"] is None
    assert [x["kind"] for x in rows.values()].index("street") > [x["kind"] for x in rows.values()].index("professional")


def test_period_boundaries_follow_local_days(evaluation):
    def due(first, last, dept="roads"):
        return rows_by_code(evaluation.overview(Period(first, last), NOW))[dept]["due"]
    assert due(date(2026, 11, 13), date(2026, 11, 13)) == 1    # A10 at 23:50 local
    assert due(date(2026, 11, 14), date(2026, 11, 14)) == 1    # A9 at 00:30 local
    assert due(date(2026, 11, 8), date(2026, 11, 8)) == 1      # A8, first dispatched Sunday, now roads'
    assert due(date(2026, 11, 8), date(2026, 11, 8), "sanitation") == 0
    assert due(date(2026, 11, 1), date(2026, 11, 30), "sanitation") == 7


def test_one_department_report(evaluation):
    report = evaluation.department("sanitation", PERIOD, NOW)
    summary = report["summary"]
    overview = rows_by_code(evaluation.overview(PERIOD, NOW))["sanitation"]
    for key in ("due", "handled", "handled_on_time", "closed", "reworks", "returns", "extensions", "overdue_now",
                "backlog", "backlog_age_days", "score", "grade", "handling_median_h", "handling_p90_h"):
        assert summary[key] == overview[key], key
    assert [t["due"] for t in report["trend"]] == [2, 1, 1, 1, 2]
    assert [t["day"] for t in report["trend"]] == PERIOD.dates()
    assert {c["category"]: c["due"] for c in report["categories"]} == {"E0102": 6, "C0118": 1}
    assert {s["street"]: s["due"] for s in report["streets"]} == {"110101001": 6, "110101002": 1}
    assert report["categories"][0]["name"] == "暴露垃圾" and report["categories"][0]["name_en"]
    # Now (whatever the period): open cases by nearest deadline, overdue ones oldest first.
    # (A5 dispatched: Thu 14:00; A4 handled Thu 17:00: check by Fri 09:00; A2 handled Mon 11:00:
    # check by 12:00; A6: the Monday after)
    assert [c["case_id"] for c in report["open"]] == ["DC20261112000005", "DC20261111000004",
                                                      "DC20261113000002", "DC20261113000006"]
    lights = {c["case_id"]: c["light"] for c in report["open"]}
    assert lights["DC20261112000005"] == "red" and lights["DC20261113000006"] == "green"
    assert [c["case_id"] for c in report["overdue"]] == ["DC20261112000005"]
    assert report["overdue"][0]["overdue_hours"] == pytest.approx((NOW - at(12, 14)).total_seconds() / 3600, abs=0.05)
    assert [(e["type"], e["case_id"], e["reason"]) for e in report["events"]] == [
        ("rework", "DC20261110000003", "未清理干净")]
    roads = evaluation.department("roads", PERIOD, NOW)
    assert [(e["type"], e["case_id"], e["reason"]) for e in roads["events"]] == [
        ("returned", "DC20261109000007", "不属于本部门")]
    assert roads["summary"]["returns"] == 1
    with pytest.raises(UnknownDepartment):
        evaluation.department("nope", PERIOD, NOW)
    assert evaluation.table("events", PERIOD, "roads", NOW) == roads["events"]


# ---------------------------------------------------------------------------- pure pieces
def test_periods_from_the_url():
    today = date(2026, 11, 30)
    assert resolve({}, today) == Period(date(2026, 11, 1), today, "30d")
    assert resolve({"period": "today"}, today) == Period(today, today, "today")
    assert resolve({"period": "7d"}, today).first == date(2026, 11, 24)
    assert resolve({"period": "month", "month": "2026-02"}, today) == Period(date(2026, 2, 1), date(2026, 2, 28), "month")
    assert resolve({"period": "month", "month": "2026-12"}, today).last == date(2026, 12, 31)
    assert resolve({"from": "2026-01-01", "to": "2026-01-31"}, today).days == 31
    assert resolve(resolve({"period": "month", "month": "2026-03"}, today).query(), today).first == date(2026, 3, 1)
    for bad in ({"period": "x"}, {"period": "month", "month": "2026-13"}, {"from": "2026-1-1"},
                {"from": "2026-02-30", "to": "2026-03-01"}, {"from": "2026-03-02", "to": "2026-03-01"},
                {"from": "2025-01-01", "to": "2026-01-02"}):
        with pytest.raises(PeriodError):
            resolve(bad, today)
    assert checked(date(2025, 1, 1), date(2026, 1, 1)).days == 366   # 366 days is allowed


def test_targets_and_parts():
    assert target_ratio("on_time_rate", 0.9) == 1.0 and target_ratio("on_time_rate", 0.45) == 0.5
    assert target_ratio("rework_rate", 0.10) == 0.5 and target_ratio("rework_rate", 0.0) == 2.0
    assert target_ratio("closure_rate", None) is None
    figures = evaluate(due=60, closed=57, handled=50, handled_on_time=45, reworks=3)
    assert (figures["closure_points"], figures["on_time_points"], figures["rework_points"],
            figures["volume_points"]) == (28.5, 27.0, 28.5, 9.0)
    assert figures["score"] == 93.0 and figures["grade"] == "A"
    assert evaluate(0, 0, 0, 0, 0)["score"] is None


@settings(max_examples=300, deadline=None)
@given(start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 20)),
       minutes=st.integers(min_value=0, max_value=60 * 24 * 40))
def test_vectorised_working_hours_equal_the_calendar(scenario, start, minutes):
    calendar = scenario.calendar
    a = start.replace(tzinfo=timezone.utc)
    b = a + timedelta(minutes=minutes, seconds=start.second)
    expected = calendar.working_minutes_between(a, b) / 60
    got = working_hours(calendar, [a.timestamp()], [b.timestamp()])[0]
    assert got == pytest.approx(expected, abs=1e-6)


def test_migration_fills_first_dispatch_from_the_events(system):
    """Migration 0002 on a database that already holds cases: the column is filled from the
    first ``dispatched`` event of each case (A7 and A8 were dispatched twice)."""
    from alembic import command
    from sqlalchemy import select

    from datasource.store import schema
    from datasource.store.database import alembic_config

    project(system, fixed_cases(system.scenario))
    cases = schema.cases

    def firsts():
        with system.engine.connect() as c:
            return dict(c.execute(select(cases.c.case_id, cases.c.first_dispatched_at)).all())
    before = firsts()
    assert before["DC20261109000007"] == at(9, 10, 30) and before["DC20261108000008"] == at(8, 20)
    assert before["DC20261110000011"] is None and before["DC20261110000012"] is None
    config = alembic_config(system.engine)
    command.downgrade(config, "0002_exact")   # the revision before this one
    command.upgrade(config, "head")
    assert firsts() == before


@settings(max_examples=200, deadline=None)
@given(start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 11, 1)),
       minutes=st.integers(min_value=1, max_value=60 * 8 * 30))
def test_working_time_after_equals_the_calendar(scenario, start, minutes):
    """WorkTable.after (the benchmark's deadlines) is the calendar's add_working."""
    from datasource.services.workhours import WorkTable
    calendar = scenario.calendar
    table = WorkTable(calendar, date(2024, 12, 1), date(2027, 6, 30))
    a = start.replace(tzinfo=timezone.utc)
    got = table.after(np.array([a.timestamp()]), np.array([minutes * 60.0]))[0]
    assert got == pytest.approx(calendar.add_working(a, minutes).timestamp(), abs=1e-3)
