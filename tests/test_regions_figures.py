"""Regional and people figures against hand-computed expectations on a small fixed event set,
on SQLite and PostgreSQL (the same events, the same numbers).

The story (Monday 2026-11-02 and Tuesday 2026-11-03, both ordinary working days; work
periods 08:30–12:00 and 13:00–17:30).  Grids g1 and g2 lie in one community of street A
and are patrolled by two different inspectors (ins1, ins2); g3 lies in street B (ins3).

  C1  g1  ins1 reports Mon 09:00 · filed 09:10 · dispatched 09:20 (disp-a) · handled 10:00
          · verified 10:30 (ins1) · closed 10:40                         — all on time
  C2  g1  12345 Mon 16:50 · filed 17:40 (50 min: late) · dispatched 17:50 (disp-b)
          · handled Tue 09:00 · verified Tue 10:15 (ins1: 75 working minutes, late) · closed 10:20
  C3  g2  ins2 reports Mon 13:00 · filed 13:05 · dispatched 13:10 (disp-a, sewage cover:
          2 natural hours) · handled 17:00 (late) · verified Tue 08:45 (ins2: 30 + 15 = 45
          working minutes over the night, on time) · closed Tue 10:30 (105 min: late)
  C4  g1  ins1 reports Mon 10:00 · rejected 10:05
  C5  g2  app Tue 11:00 · filed 11:20 · dispatched 11:25 (disp-a) · returned 11:40
          · dispatched 12:30 (disp-b, 50 min after the return: late) · handled 14:00
          · rework 14:30 (ins2, on time) · handled 15:00 · verified 16:30 (ins2, late)
  C6  g3  ins3 reports Mon 09:30 · filed 09:35
  C7  g1  ins1 reports Wed 09:00 (after the period)
  C8  g3  camera Sun 23:50 (before the period) · filed Mon 00:05
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from shapely.geometry import shape
from sqlalchemy import text

from dashboard.domain.evaluation import MAX_REPORT_DAYS, Period, PeriodError, from_to
from dashboard.domain.indicators import grade
from dashboard.i18n import t
from datasource.services.regions import RegionReport, ReportError
from datasource.services.report_sql import Dialect, WorkClockSQL
from datasource.services.staff import StaffReport
from tests.helpers import CST, event, publish

MON = datetime(2026, 11, 2, tzinfo=CST)


def at(day: int, hhmm: str) -> datetime:
    """Local time on day 0 = Monday (−1 Sunday, 2 Wednesday)."""
    h, m = map(int, hhmm.split(":"))
    return MON + timedelta(days=day, hours=h, minutes=m)


def places(scenario):
    """g1, g2 (same community, different inspectors) and g3 (another street), with their
    inspectors and a point inside each."""
    inspectors = scenario.inspectors
    first, second = inspectors[0], inspectors[1]
    assert first["community_code"] == second["community_code"] and first["id"] != second["id"]
    third = next(i for i in inspectors if i["street_code"] != first["street_code"])
    geometry = {f["properties"]["code"]: shape(f["geometry"]) for f in scenario.grids_geojson["features"]}
    out = {}
    for name, inspector in (("g1", first), ("g2", second), ("g3", third)):
        grid = inspector["grids"][0]
        point = geometry[grid].representative_point()
        out[name] = {"grid": grid, "inspector": inspector["id"], "street": inspector["street_code"],
                     "community": inspector["community_code"], "lon": point.x, "lat": point.y}
    return out


def story(scenario) -> tuple[list, dict]:
    p = places(scenario)
    ins1, ins2, ins3 = p["g1"]["inspector"], p["g2"]["inspector"], p["g3"]["inspector"]
    events = []

    def case(n, grid, when, source, reporter, category, steps):
        case_id = f"DC20261102{n:06d}"
        where = p[grid]
        events.append(event(case_id, "reported", when, reporter, category=category, lon=where["lon"],
                            lat=where["lat"], description="测试", source=source, urgency="normal"))
        for kind, moment, actor, body in steps:
            events.append(event(case_id, kind, moment, actor, **body))

    dept = "sanitation"
    case(1, "g1", at(0, "09:00"), "inspector", ins1, "E0102", [
        ("filed", at(0, "09:10"), "supervisor-03", {}), ("dispatched", at(0, "09:20"), "disp-a", {"department": dept}),
        ("handled", at(0, "10:00"), dept, {}), ("verified", at(0, "10:30"), ins1, {}),
        ("closed", at(0, "10:40"), "supervisor-03", {})])
    case(2, "g1", at(0, "16:50"), "hotline12345", "12345", "E0102", [
        ("filed", at(0, "17:40"), "supervisor-05", {}), ("dispatched", at(0, "17:50"), "disp-b", {"department": dept}),
        ("handled", at(1, "09:00"), dept, {}), ("verified", at(1, "10:15"), ins1, {}),
        ("closed", at(1, "10:20"), "supervisor-03", {})])
    case(3, "g2", at(0, "13:00"), "inspector", ins2, "C0102", [
        ("filed", at(0, "13:05"), "supervisor-03", {}), ("dispatched", at(0, "13:10"), "disp-a", {"department": "water"}),
        ("handled", at(0, "17:00"), "water", {}), ("verified", at(1, "08:45"), ins2, {}),
        ("closed", at(1, "10:30"), "supervisor-04", {})])
    case(4, "g1", at(0, "10:00"), "inspector", ins1, "E0102", [
        ("rejected", at(0, "10:05"), "supervisor-03", {"reason": "重复"})])
    case(5, "g2", at(1, "11:00"), "app", "app", "E0505", [
        ("filed", at(1, "11:20"), "supervisor-03", {}), ("dispatched", at(1, "11:25"), "disp-a", {"department": dept}),
        ("returned", at(1, "11:40"), dept, {"reason": "非本部门"}),
        ("dispatched", at(1, "12:30"), "disp-b", {"department": "traffic"}),
        ("handled", at(1, "14:00"), "traffic", {}), ("rework", at(1, "14:30"), ins2, {"reason": "未完成"}),
        ("handled", at(1, "15:00"), "traffic", {}), ("verified", at(1, "16:30"), ins2, {})])
    case(6, "g3", at(0, "09:30"), "inspector", ins3, "E0102", [("filed", at(0, "09:35"), "supervisor-03", {})])
    case(7, "g1", at(2, "09:00"), "inspector", ins1, "E0102", [])
    case(8, "g3", at(-1, "23:50"), "camera", "camera", "E0102", [("filed", at(0, "00:05"), "supervisor-01", {})])
    return events, p


def publish_story(system) -> tuple[list, dict]:
    """The story of :func:`story` through the stream and the worker, every event applied."""
    events, places = story(system.scenario)
    publish(system.stream, events)
    stats = system.worker().drain()
    assert stats.dead == 0 and stats.applied == len(events)
    return events, places


@pytest.fixture
def seeded(system):
    for department in ("water", "traffic"):
        assert department in system.scenario.departments
    events, p = publish_story(system)
    period = Period(date(2026, 11, 2), date(2026, 11, 3), tz=system.scenario.calendar.tz)
    return system, p, period


def test_streets_communities_grids_and_one_grids_cases(seeded):
    system, p, period = seeded
    report = RegionReport(system)
    streets = {r["code"]: r for r in report.figures("street", period)}
    assert len(streets) == 17
    a, b = streets[p["g1"]["street"]], streets[p["g3"]["street"]]
    # Street A: C1–C5 reported in the period; C4 rejected → 4 cases; C1–C3 closed, of which
    # C3 was handled after its 2-hour limit; C2 (12345) and C5 (app) are the public's.
    assert (a["reports"], a["cases"], a["closed"], a["closed_on_time"]) == (5, 4, 3, 2)
    assert a["closure_rate"] == pytest.approx(0.75) and a["on_time_closure_rate"] == pytest.approx(2 / 3)
    assert (a["public"], a["hotline"], a["public_share"]) == (2, 1, 0.5)
    assert a["per_km2"] == pytest.approx(round(4 / a["area_km2"], 2), rel=1e-3)
    assert a["per_grid"] == pytest.approx(round(4 / a["grids"], 3))
    assert a["top_categories"] == [{"code": "E0102", "n": 2}, {"code": "C0102", "n": 1}, {"code": "E0505", "n": 1}]
    # Street B: C6 only (C8 was reported on Sunday, before the period).
    assert (b["reports"], b["cases"], b["closed"], b["public"]) == (1, 1, 0, 0)
    assert b["closure_rate"] == 0 and b["on_time_closure_rate"] is None and b["public_share"] == 0
    quiet = [r for code, r in streets.items() if code not in (a["code"], b["code"])]
    assert all(r["cases"] == 0 and r["closure_rate"] is None for r in quiet)
    # Drill down: the community of g1/g2, then its grids.
    communities = {r["code"]: r for r in report.figures("community", period, parent=a["code"])}
    assert set(communities) == {r.code for r in report.regions_by_level["community"].values() if r.parent == a["code"]}
    assert communities[p["g1"]["community"]]["cases"] == 4
    grids = {r["code"]: r for r in report.figures("grid", period, parent=p["g1"]["community"])}
    assert (grids[p["g1"]["grid"]]["cases"], grids[p["g2"]["grid"]]["cases"]) == (2, 2)
    assert grids[p["g1"]["grid"]]["per_grid"] == 2 and grids[p["g1"]["grid"]]["public_share"] == 0.5
    # One grid: its cases, newest first (C7 lies after the period).
    cases = report.grid_cases(p["g1"]["grid"], period)
    assert [c["case_id"][-1] for c in cases] == ["2", "4", "1"]
    assert cases[0]["public"] and cases[0]["stage"] == "closed" and cases[1]["stage"] == "rejected"


def test_bad_level_parent_and_region_are_refused(seeded):
    system, p, period = seeded
    report = RegionReport(system)
    for level, parent in (("district", None), ("community", p["g1"]["community"]), ("street", p["g1"]["street"])):
        with pytest.raises(ReportError):
            report.figures(level, period, parent)
    with pytest.raises(ReportError):
        report.grid_cases("110101999999999", period)


def test_inspectors_dispatchers_and_shifts(seeded):
    system, p, period = seeded
    staff = StaffReport(system).report(period)
    inspectors = {r["id"]: r for r in staff["inspectors"]}
    assert len(inspectors) == len(system.scenario.inspectors)
    ins1, ins2, ins3 = (inspectors[p[g]["inspector"]] for g in ("g1", "g2", "g3"))
    # ins1: reported C1 (filed) and C4 (rejected); its grids hold C1 and C2 (12345);
    # verified C1 on time and C2 late.
    assert (ins1["reports"], ins1["filed"], ins1["rejected"], ins1["valid_rate"]) == (2, 1, 1, 0.5)
    assert (ins1["grid_filed"], ins1["grid_public"], ins1["missed_rate"]) == (2, 1, 0.5)
    assert (ins1["verifications"], ins1["on_time_verifications"]) == (2, 1)
    assert ins1["on_time_check_rate"] is None      # not in the data
    assert ins1["composite"] == 50.0 and ins1["grade"] == "D"   # (40·½ + 20·½ + 20·½) / 80
    # ins2: reported C3 (filed); grids hold C3 and C5 (app); C3 verified on time over the
    # night, C5 reworked on time and verified late.
    assert (ins2["reports"], ins2["valid_rate"], ins2["grid_filed"], ins2["missed_rate"]) == (1, 1.0, 2, 0.5)
    assert (ins2["verifications"], ins2["on_time_verifications"]) == (3, 2)
    assert ins2["composite"] == pytest.approx(round(100 * (40 + 10 + 20 * 2 / 3) / 80, 1))
    assert ins2["grade"] == grade(ins2["composite"]) == "B"
    # ins3: C6 only, nothing to verify: composite over valid and missed.
    assert (ins3["valid_rate"], ins3["missed_rate"], ins3["on_time_verification_rate"]) == (1.0, 0.0, None)
    assert ins3["composite"] == 100.0
    assert staff["grids"][p["g1"]["grid"]] == {"inspector": ins1["id"], "filed": 2, "public": 1}
    assert staff["unrostered"] == 0
    # Dispatchers: disp-a dispatched C1, C3, C5 on time, C5 came back; disp-b dispatched C2
    # on time and C5 again 50 minutes after the return.
    dispatchers = {r["actor"]: r for r in staff["dispatchers"]}
    a, b = dispatchers["disp-a"], dispatchers["disp-b"]
    assert (a["dispatches"], a["on_time"], a["returned"]) == (3, 3, 1)
    assert a["accurate_rate"] == pytest.approx(2 / 3) and a["composite"] == pytest.approx(86.7)
    assert (b["dispatches"], b["on_time"], b["returned"]) == (2, 1, 0)
    assert b["composite"] == pytest.approx(round(20 * 2 / 3 + 40 * 0.5 + 40, 1)) and b["grade"] == "C"
    # Shifts: filing decisions by the shift that received the report; closings by the shift
    # that received the verified case.  C8's filing (Monday 00:05) belongs to Sunday evening.
    shifts = {r["shift"]: r for r in staff["shifts"]}
    day, evening, night = shifts["day"], shifts["evening"], shifts["night"]
    assert (day["filings"], day["on_time_filings"], day["closings"], day["on_time_closings"]) == (5, 5, 3, 2)
    assert (evening["filings"], evening["on_time_filings"], evening["closings"]) == (2, 1, 0)
    assert (night["filings"], night["closings"], night["composite"]) == (0, 0, None)
    assert day["accurate_filing_rate"] is None      # no void event in the lifecycle
    assert day["composite"] == pytest.approx(round(100 * (25 + 35 * 2 / 3) / 60, 1))
    assert evening["composite"] == 50.0
    assert "supervisor-05" in evening["staff"] and "supervisor-01" in evening["staff"]
    sunday = [d for d in staff["daily"] if d["day"] == "2026-11-01"]
    assert sunday == [{"day": "2026-11-01", "shift": "evening", "filings": 1, "on_time_filings": 1, "closings": 0,
                       "on_time_closings": 0, "on_time_filing_rate": 1.0, "on_time_closing_rate": None}]


def test_working_minutes_in_sql_match_the_calendar(system):
    """W(b) − W(a) computed by the database equals the domain's working_minutes_between —
    over nights, weekends, the National Day holiday and the make-up Saturday 2026-10-10."""
    calendar = system.scenario.calendar
    clock = WorkClockSQL(Dialect(system.engine.dialect.name), calendar)
    pairs = [(datetime(2026, 11, 2, 17, 0, tzinfo=CST), datetime(2026, 11, 3, 8, 45, tzinfo=CST)),
             (datetime(2026, 11, 6, 16, 0, tzinfo=CST), datetime(2026, 11, 9, 9, 30, tzinfo=CST)),
             (datetime(2026, 9, 30, 11, 0, tzinfo=CST), datetime(2026, 10, 8, 9, 0, tzinfo=CST)),
             (datetime(2026, 10, 9, 17, 0, tzinfo=CST), datetime(2026, 10, 12, 8, 40, tzinfo=CST)),
             (datetime(2026, 11, 2, 12, 10, tzinfo=CST), datetime(2026, 11, 2, 12, 50, tzinfo=CST)),
             (datetime(2026, 11, 2, 7, 0, tzinfo=CST), datetime(2026, 11, 2, 19, 0, tzinfo=CST))]
    epoch = date(1970, 1, 1)
    selects = []
    for a, b in pairs:
        (da, ma), (db, mb) = [((x.date() - epoch).days, x.hour * 60 + x.minute) for x in (a, b)]
        selects.append(f"SELECT {clock.minutes(str(db), f'{mb}.0')} - {clock.minutes(str(da), f'{ma}.0')} AS w")
    with system.engine.connect() as c:
        got = [float(c.execute(text(s)).scalar()) for s in selects]
    assert got == [pytest.approx(calendar.working_minutes_between(a, b)) for a, b in pairs]
    assert got[:2] == [45.0, 150.0] and got[3] == pytest.approx(30 + 480 + 10)


def parse_period(first, last, tz, today=None):
    """The report API's reading of ``from``/``to`` (the one period rule of the domain)."""
    return from_to(first, last, today or datetime.now(tz).date(), limit=MAX_REPORT_DAYS, tz=tz)


def test_periods_are_inclusive_local_dates_and_mistakes_are_one_line(scenario):
    tz = scenario.calendar.tz
    period = parse_period("2026-11-02", "2026-11-03", tz)
    assert period.start.astimezone(tz) == datetime(2026, 11, 2, tzinfo=tz)
    assert period.end.astimezone(tz) == datetime(2026, 11, 4, tzinfo=tz) and period.days == 2
    assert parse_period(None, None, tz, today=date(2026, 11, 30)).key == ("2026-11-01", "2026-11-30")
    for first, last in (("2026-11-3", None), ("2026/11/02", None), ("2026-11-05", "2026-11-04"),
                        ("2020-01-01", "2026-01-01"), (None, "tomorrow")):
        with pytest.raises(PeriodError) as info:
            parse_period(first, last, tz)
        assert "\n" not in t(info.value.key, "zh", **info.value.values) and "\n" not in str(info.value)


def test_recorded_acts_follow_new_events_and_a_new_configuration(seeded):
    """Acts are judged once and incrementally; a changed configuration judges them again."""
    from sqlalchemy import func, select, update

    from datasource.services.report_acts import CONFIG, UPTO, ActFacts
    from datasource.store import schema
    system, p, period = seeded
    facts = ActFacts(system)
    facts.refresh()

    def recorded():
        with system.engine.connect() as c:
            rows = c.execute(select(schema.report_acts.c.type, func.count()).group_by(schema.report_acts.c.type)).all()
            mark = c.execute(select(schema.report_state.c.n).where(schema.report_state.c.key == UPTO)).scalar()
            top = c.execute(select(func.max(schema.case_events.c.id))).scalar()
        return dict(rows), mark, top

    kinds, mark, top = recorded()
    assert kinds == {"filed": 6, "rejected": 1, "dispatched": 5, "verified": 4, "rework": 1, "closed": 3}
    assert mark == top and facts.refresh() == 0          # nothing new: nothing judged
    # C5 is closed on Tuesday 16:40, 10 minutes after its verification at 16:30 — received
    # by the evening shift: one more act.
    publish(system.stream, [event("DC20261102000005", "closed", at(1, "16:40"), "supervisor-03")])
    system.worker().drain()
    assert facts.refresh() == 1
    kinds, mark, top = recorded()
    assert kinds["closed"] == 4 and mark == top
    shifts = {r["shift"]: r for r in StaffReport(system).report(period)["shifts"]}
    assert (shifts["evening"]["closings"], shifts["evening"]["on_time_closings"], shifts["day"]["closings"]) == (1, 1, 3)
    # A new limits table or calendar: everything is judged again, with the same result here.
    with system.engine.begin() as c:
        c.execute(update(schema.report_state).where(schema.report_state.c.key == CONFIG).values(value="old"))
    assert facts.refresh() == top
    assert recorded()[0] == kinds
