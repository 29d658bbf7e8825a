"""The daily briefing against the database, on SQLite and PostgreSQL: every headline figure
equals the count made directly from ``case_events`` (folded by the domain's projection,
independently of the service's queries); the narrative states those numbers and names;
planted surges are found; days never mix across the Asia/Shanghai midnight.

History: 100 days of generated cases (about 200 a day) ending on Tuesday 24 November
2026, read at 08:00 the next morning — with a quiet Sunday (22nd, a dozen cases), a surge
Monday (23rd, 60 % more cases and a planted local surge) and a planted surge on the 24th.
"""
from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import select

from dashboard.domain import briefing as rules
from dashboard.domain.events import CaseEvent
from dashboard.domain.indicators import department_score
from dashboard.domain.lifecycle import EventType
from dashboard.domain.projection import apply_event
from datasource.services.briefing import BriefingService, Names
from datasource.services.briefing_text import biggest_changes
from datasource.services.briefing_view import view
from datasource.store import schema
from tests.briefing_data import Surge, Town

TZ = timezone(timedelta(hours=8))
DAY = date(2026, 11, 24)            # Tuesday
SURGE_DAY = date(2026, 11, 23)      # Monday
QUIET_DAY = date(2026, 11, 22)      # Sunday
NORMAL_DAYS = (date(2026, 11, 19), date(2026, 11, 20))
FIRST = DAY - timedelta(days=100)
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=TZ)
PER_DAY = 200
DAYS = (DAY, SURGE_DAY, QUIET_DAY)


class World:
    """The generated history in one database, and the truth computed from its events."""

    def __init__(self, system):
        self.system, self.scenario = system, system.scenario
        self.tz = self.scenario.calendar.tz
        town = Town(self.scenario, seed=11)
        grids = [g["code"] for g in town.grids]
        self.surge_grid, self.day_grid = grids[1200], grids[2500]
        volumes = {QUIET_DAY: 12, SURGE_DAY: PER_DAY * 1.6}
        town.history(FIRST, DAY + timedelta(days=1), PER_DAY, NOW, volumes=volumes,
                     surges=[Surge(SURGE_DAY, self.surge_grid, "E0505", 9), Surge(DAY, self.day_grid, "E0102", 8)])
        # Midnight on both sides of DAY: these four cases must land on the right day.
        edge = lambda d, h, m, s, us: datetime.combine(d, time(h, m, s, us), self.tz).astimezone(timezone.utc)  # noqa: E731
        self.edges = {
            town.case(edge(DAY, 0, 0, 0, 0), NOW, stages=1): DAY,
            town.case(edge(DAY, 23, 59, 59, 999000), NOW, stages=1): DAY,
            town.case(edge(DAY - timedelta(days=1), 23, 59, 59, 999000), NOW, stages=1): SURGE_DAY,
            town.case(edge(DAY + timedelta(days=1), 0, 0, 0, 0), NOW, stages=1): DAY + timedelta(days=1),
        }
        # An urgent emergency on DAY still waiting: its outcome must say so.
        self.open_emergency = town.case(edge(DAY, 21, 0, 0, 0), NOW, category="E0401", urgency="urgent", stages=3)
        self.size = town.write(system.engine)
        self._truth()

    def _truth(self) -> None:
        """Replay every event in time order through the domain's projection (no service
        query involved): event times per case and type, final rows, overdue at instants."""
        with self.system.engine.connect() as c:
            places = {r[0]: (r[1], r[2], r[3]) for r in c.execute(select(
                schema.cases.c.case_id, schema.cases.c.grid_code, schema.cases.c.community_code,
                schema.cases.c.street_code))}
            events = [CaseEvent(e, case, EventType(kind), at, actor, json.loads(body)) for e, case, kind, at, actor, body
                      in c.execute(select(schema.case_events.c.event_id, schema.case_events.c.case_id,
                                          schema.case_events.c.type, schema.case_events.c.at, schema.case_events.c.actor,
                                          schema.case_events.c.body).order_by(schema.case_events.c.at,
                                                                              schema.case_events.c.id))]
        instants = sorted({rules.day_bounds(d - timedelta(days=k), self.tz)[1]
                           for d in DAYS + NORMAL_DAYS for k in (0, 1, 7)}
                          | {NOW - timedelta(days=k) for k in (0, 1, 7)})   # today, so far
        self.times = defaultdict(lambda: defaultdict(list))   # case → type → [at]
        self.bodies = {}
        self.overdue_at: dict[datetime, int] = {}
        rows: dict[str, dict] = {}
        pending = list(instants)
        for e in events:
            while pending and e.at > pending[0]:   # events at the instant itself count as before it
                instant = pending.pop(0)
                self.overdue_at[instant] = _overdue(rows, instant)
            rows[e.case_id] = apply_event(rows.get(e.case_id), e, self.scenario, places[e.case_id])
            self.times[e.case_id][e.type.value].append(e.at)
            if e.type is EventType.REPORTED:
                self.bodies[e.case_id] = e.body
        for instant in pending:
            self.overdue_at[instant] = _overdue(rows, instant)
        self.rows = rows

    def figures(self, day: date, back: int = 0, scope: str | None = None) -> dict:
        """The headline values of ``day - back`` as the briefing of ``day`` defines them —
        over the cases of ``scope`` (a street or community code; None = the district)."""
        start, end = rules.day_bounds(day, self.tz)
        elapsed = min(end, NOW) - start
        w_start = rules.day_bounds(day - timedelta(days=back), self.tz)[0]
        w_end = w_start + elapsed
        cutoff = min(NOW, w_start + (NOW - start))

        def inside(at):
            return w_start <= at < w_end
        times = {c: t for c, t in self.times.items() if self.rows[c]["grid_code"].startswith(scope or "")}
        counts = Counter(kind for case in times.values() for kind, ats in case.items() for at in ats if inside(at))
        new = [c for c, t in times.items() if inside(t["reported"][0])]
        cohort = [c for c, t in times.items() if t.get("dispatched") and inside(min(t["dispatched"]))]
        closed = [c for c in cohort if self.times[c].get("closed") and self.times[c]["closed"][0] <= cutoff]
        handled = [c for c in cohort if self.rows[c]["stage"] in rules.HANDLED_STAGES
                   and max(self.times[c]["handled"]) <= cutoff]
        on_time = [c for c in handled if self.rows[c]["handled_on_time"]]
        public = [c for c in new if self.bodies[c].get("source") in ("hotline12345", "app", "phone")]
        return {"new": len(new), "filed": counts["filed"], "dispatched": len(cohort), "closed": counts["closed"],
                "closure_rate": rules.ratio(len(closed), len(cohort)), "on_time_rate": rules.ratio(len(on_time), len(handled)),
                "overdue": self._overdue(w_end, scope), "public_share": rules.ratio(len(public), len(new)),
                "_new": new, "_cohort": cohort}

    def _overdue(self, at: datetime, scope: str | None = None) -> int:
        return sum(n for community, n in self.overdue_at[at].items() if community.startswith(scope or ""))

    def departments(self, day: date, scope: str | None = None) -> list[tuple[str, float, int]]:
        """(department, composite, due) of the day's cohort, best first — from the replay."""
        acc = defaultdict(lambda: [0, 0, 0, 0, 0])
        for c in self.figures(day, scope=scope)["_cohort"]:
            row = self.rows[c]
            a = acc[row["department_code"]]
            a[0] += 1
            a[1] += row["closed_at"] is not None
            a[2] += row["stage"] in rules.HANDLED_STAGES
            a[3] += row["stage"] in rules.HANDLED_STAGES and bool(row["handled_on_time"])
            a[4] += row["rework_count"]
        ranked = [(d, department_score(*v).composite, v[0]) for d, v in acc.items()]
        return sorted(ranked, key=lambda r: (-r[1], -r[2], r[0]))


def _overdue(rows: dict, instant: datetime) -> Counter:
    """Cases open and past their stage deadline at ``instant``, in replayed rows, per community."""
    return Counter(r["community_code"] for r in rows.values() if rules.is_overdue(r["stage"], r["deadline_at"], instant))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory):
    from dashboard.settings import Settings
    from datasource.system import System
    from tests.conftest import create_pg_database, drop_pg_database
    folder = tmp_path_factory.mktemp(f"briefing-{request.param}")
    pg = None
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'briefing.db'}"
    else:
        server = request.getfixturevalue("pg_server_url")
        pg = url = create_pg_database(server)
    system = System(Settings(data_dir=folder, database_url=url)).start(redis=False)
    world = World(system)
    world.service = BriefingService(system)
    world.built = {}
    yield world
    system.close()
    if pg:
        drop_pg_database(server, pg)


def built(world, day: date) -> dict:
    if day not in world.built:
        world.built[day] = world.service.build(day, now=NOW)
    return world.built[day]


# ---------------------------------------------------------------------------- headline figures
@pytest.mark.parametrize("day", DAYS, ids=str)
def test_headline_figures_equal_counts_from_case_events(world, day):
    data = built(world, day)
    assert not data["empty"] and data["complete"]
    for name in rules.HEADLINES:
        headline = data["headlines"][name]
        expected = world.figures(day)[name]
        assert headline["value"] == pytest.approx(expected), name
        for comparison, back in rules.COMPARISONS:
            assert headline[comparison]["base"] == pytest.approx(world.figures(day, back)[name]), (name, comparison)


def test_days_never_mix_across_midnight(world):
    truth = {d: set(world.figures(d)["_new"]) for d in (SURGE_DAY, DAY)}
    for case_id, day in world.edges.items():
        if day in truth:
            assert case_id in truth[day]
        for other, ids in truth.items():
            if other != day:
                assert case_id not in ids
    # And the service counts the same sets: DAY's new cases include both of its edges.
    assert built(world, DAY)["headlines"]["new"]["value"] == len(truth[DAY])
    hourly = built(world, DAY)["hourly"]["day"]
    assert sum(hourly) == len(truth[DAY]) and hourly[0] >= 1 and hourly[23] >= 1


def test_emergencies_of_the_day_with_their_outcome(world):
    data = built(world, DAY)
    truth = [c for c in world.figures(DAY)["_new"]
             if rules.is_emergency(world.bodies[c]["category"], world.bodies[c]["urgency"])]
    assert sorted(e["case_id"] for e in data["emergencies"]) == sorted(truth)
    waiting = next(e for e in data["emergencies"] if e["case_id"] == world.open_emergency)
    assert waiting["stage"] == "dispatched" and waiting["to_handle_min"] is None and waiting["to_dispatch_min"] >= 0


def test_the_oldest_overdue_cases_are_overdue_and_oldest_first(world):
    data = built(world, DAY)
    rows = data["overdue_cases"]
    assert rows and len(rows) <= 10
    assert [r["overdue_minutes"] for r in rows] == sorted((r["overdue_minutes"] for r in rows), reverse=True)
    assert all(r["overdue_minutes"] >= 0 for r in rows)


# ---------------------------------------------------------------------------- the narrative
@pytest.mark.parametrize("day", DAYS, ids=str)
def test_the_narrative_states_the_facts(world, day):
    data = built(world, day)
    truth = world.figures(day)
    zh = " ".join(view(data, world.scenario, "zh")["narrative"])
    en = " ".join(view(data, world.scenario, "en")["narrative"])
    assert f"共受理案件 {truth['new']:,} 件" in zh and f"took in {truth['new']:,} cases" in en
    assert f"立案 {truth['filed']:,} 件，派遣 {truth['dispatched']:,} 件，结案 {truth['closed']:,} 件" in zh
    assert f"日末超期在办 {truth['overdue']:,} 件" in zh
    if truth["dispatched"]:
        assert f"结案率 {truth['closure_rate'] * 100:.1f}%" in zh
    prev = world.figures(day, 1)["new"]
    if prev and truth["new"] != prev:
        word = "增加" if truth["new"] > prev else "减少"
        assert f"较前日{word} {abs(truth['new'] - prev) / prev * 100:.1f}%（{abs(truth['new'] - prev):,} 件）" in zh
    # The departments it names are the best and the worst of the day's cohort.
    names = Names(world.scenario, "zh")
    ranked = [r for r in world.departments(day) if r[2] >= rules.RANKING_MIN_DUE and r[0]]
    if len(ranked) >= 2:
        best, worst = names.department(ranked[0][0]), names.department(ranked[-1][0])
        sentence = next(p for p in view(data, world.scenario, "zh")["narrative"] if "综合得分最高" in p)
        assert sentence.index(best) < sentence.index("最高") < sentence.index(worst) < sentence.index("最低")
        assert f"{ranked[0][1]:.1f} 分" in sentence
    else:
        assert "不作部门排名" in zh
    # The biggest changes it names are the biggest in the data.
    rise, fall = biggest_changes(data)
    if rise:
        label = names.group(rise["code"]) if rise["kind"] == "group" else names.street(rise["code"])
        assert f"增加最多的是{label}（{rise['n']:,} 件，多 {rise['delta']:,} 件）" in zh
    # Emergencies: the count of the day's class-04 urgent cases.
    n_emergencies = sum(rules.is_emergency(world.bodies[c]["category"], world.bodies[c]["urgency"]) for c in truth["_new"])
    assert (f"突发事件 {n_emergencies} 起" in zh) if n_emergencies else ("没有突发事件" in zh)


def test_a_quiet_day_reads_as_quiet(world):
    data = built(world, QUIET_DAY)
    zh = " ".join(view(data, world.scenario, "zh")["narrative"])
    assert data["headlines"]["new"]["value"] <= 25
    assert "较前日减少" in zh and "不作部门排名" in zh
    assert data["unusual"]["flagged_count"] == 0


def test_the_surge_day_names_its_surge(world):
    data = built(world, SURGE_DAY)
    zh = " ".join(view(data, world.scenario, "zh")["narrative"])
    assert data["headlines"]["new"]["last_week"]["relative"] > 0.3
    assert "较上周同日增加" in zh
    names = Names(world.scenario, "zh")
    assert f"网格 …{world.surge_grid[-3:]}的街面秩序类事件" in zh
    assert names.community(world.surge_grid[:12]) in zh


# ---------------------------------------------------------------------------- unusual places
@pytest.mark.parametrize("day,attr,group", [(DAY, "day_grid", "E01"), (SURGE_DAY, "surge_grid", "E05")], ids=str)
def test_planted_surges_are_flagged_and_drawn(world, day, attr, group):
    data = built(world, day)
    u = data["unusual"]
    grid = getattr(world, attr)
    assert u["available"] and u["baseline"] == "same_weekday" and len(u["baseline_days"]) == 12
    place = next(p for p in u["places"] if p["level"] == "grid" and p["code"] == grid)
    assert place["group"] == group and place["observed"] >= 8 and place["p"] < 1e-4
    assert grid in u["flagged_grids"]
    from datasource.services.briefing_figures import unusual_map
    svg = unusual_map(data, world.scenario, Names(world.scenario, "zh"), "zh")
    assert f'data-grid="{grid}" class="flagged"' in svg


@pytest.mark.parametrize("day", NORMAL_DAYS, ids=str)
def test_ordinary_days_flag_next_to_nothing(world, day):
    u = built(world, day)["unusual"]
    assert u["available"] and u["family"] > 0
    assert u["flagged_count"] <= 1 and len(u["clusters"]) <= 1


# ---------------------------------------------------------------------------- next day
def test_the_next_day_forecast_with_its_measured_accuracy(world):
    f = built(world, DAY)["forecast"]
    assert f["available"] and f["day"] == "2026-11-25" and f["working_day"]
    total = f["total"]
    assert total["low"] <= total["mean"] <= total["high"]
    assert sum(s["mean"] for s in f["streets"]) == pytest.approx(total["mean"], rel=0.01)
    assert len(f["streets"]) == 17 and len(f["groups"]) == 11
    a = f["accuracy"]
    assert a["days"] == 28 and len(a["daily"]) == 28
    assert 0.75 <= a["coverage"] <= 1.0 and a["mape_total"] < 0.5
    text = view(built(world, DAY), world.scenario, "zh")["forecast"]["accuracy"]
    assert f"{a['coverage'] * 100:.1f}%" in text and f"{a['mape_total'] * 100:.1f}%" in text


# ---------------------------------------------------------------------------- edges
def test_a_date_without_data_says_so(world):
    empty = world.service.build(FIRST - timedelta(days=30), now=NOW)
    assert empty["empty"] and empty["reason"] == "no_data"
    text = view(empty, world.scenario, "zh")["narrative"][0]
    assert "没有任何案件数据" in text and re.search(r"\d{4}年\d+月\d+日", text)


def test_today_is_partial_and_compared_at_the_same_clock_time(world):
    today = world.service.build(DAY + timedelta(days=1), now=NOW)
    assert not today["complete"] and today["forecast"]["available"] is False
    for name in rules.HEADLINES:
        assert today["headlines"][name]["value"] == pytest.approx(world.figures(DAY + timedelta(days=1))[name]), name
        for comparison, back in rules.COMPARISONS:
            assert today["headlines"][name][comparison]["base"] == pytest.approx(
                world.figures(DAY + timedelta(days=1), back)[name]), (name, comparison)
    with pytest.raises(rules.BriefingDateError):
        world.service.resolve("2026-11-27", now=NOW)


# ---------------------------------------------------------------------------- one truth across pages
@pytest.mark.parametrize("day", DAYS, ids=str)
def test_headline_figures_equal_the_department_evaluation_of_the_day(world, day):
    """The briefing's cohort figures for day D are the /departments figures for the period
    D … D, summed over departments: dispatched = due, closure rate = closed / due, on-time rate
    = handled on time / handled — one definition, two pages."""
    from dashboard.domain.evaluation import Period
    from datasource.services.evaluation import DepartmentEvaluation
    rows = DepartmentEvaluation(world.system).api_rows(Period(day, day, "custom"), now=NOW)
    due, closed = sum(r["due"] for r in rows), sum(r["closed"] for r in rows)
    handled, on_time = sum(r["handled"] for r in rows), sum(r["handled_on_time"] for r in rows)
    headlines = built(world, day)["headlines"]
    assert due > 0 and handled > 0
    assert headlines["dispatched"]["value"] == due
    assert headlines["closure_rate"]["value"] == pytest.approx(closed / due)
    assert headlines["on_time_rate"]["value"] == pytest.approx(on_time / handled)


# ---------------------------------------------------------------------------- a sub-centre's briefing
def built_scoped(world, day: date, scope: str) -> dict:
    key = (day, scope)
    if key not in world.built:
        world.built[key] = world.service.build(day, now=NOW, scope=scope)
    return world.built[key]


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_a_streets_briefing_is_the_district_briefing_restricted_to_the_street(world, day):
    """Every headline and comparison equals the replay restricted by hand to the street; the
    lists equal the district briefing's rows of that street."""
    street = world.surge_grid[:9]
    data, district = built_scoped(world, day, street), built(world, day)
    assert data["scope"] == street and not data["empty"]
    for name in rules.HEADLINES:
        assert data["headlines"][name]["value"] == pytest.approx(world.figures(day, scope=street)[name]), name
        for comparison, back in rules.COMPARISONS:
            assert data["headlines"][name][comparison]["base"] == pytest.approx(
                world.figures(day, back, scope=street)[name]), (name, comparison)
    assert data["streets"] == [r for r in district["streets"] if r["code"] == street]
    assert data["emergencies"] == [e for e in district["emergencies"] if e["street"] == street]
    assert sum(data["hourly"]["day"]) == data["headlines"]["new"]["value"]
    ranked = [(d["code"], d["score"], d["due"]) for d in data["departments"]]
    assert ranked == [(c, pytest.approx(s), n) for c, s, n in world.departments(day, scope=street)]


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_another_streets_cases_never_appear_in_a_streets_briefing(world, day):
    street = world.surge_grid[:9]
    data = built_scoped(world, day, street)
    mine = {c for c, r in world.rows.items() if r["street_code"] == street}
    assert {r["case_id"] for r in data["overdue_cases"]} <= mine
    assert {e["case_id"] for e in data["emergencies"]} <= mine
    u = data["unusual"]
    places = [p["code"] for p in u["places"]] + u["flagged_grids"] + u["flagged_streets"] + u["cluster_grids"]
    assert all(code.startswith(street) for code in places)
    assert all(g.startswith(street) for c in u["clusters"] for g in c["grids"] + c["hot"])
    if data["forecast"].get("available"):
        assert [s["code"] for s in data["forecast"]["streets"]] == [street]
    text = " ".join(view(data, world.scenario, "zh")["narrative"])
    others = [name for code, name in world.scenario.streets.items() if code != street]
    assert not [name for name in others if name in text]


def test_a_streets_briefing_finds_its_own_surge_and_forecasts_its_street(world):
    street = world.surge_grid[:9]
    data = built_scoped(world, SURGE_DAY, street)
    assert world.surge_grid in data["unusual"]["flagged_grids"]
    from datasource.services.briefing_figures import unusual_map
    svg = unusual_map(data, world.scenario, Names(world.scenario, "zh"), "zh")   # the street alone, framed on it
    assert f'data-grid="{world.surge_grid}" class="flagged"' in svg
    assert re.findall(r'data-street="(\d+)"', svg) == [street]
    f = built_scoped(world, DAY, street)["forecast"]
    assert f["available"] and f["total"]["low"] <= f["total"]["mean"] <= f["total"]["high"]
    assert f["total"]["mean"] == pytest.approx(f["streets"][0]["mean"], rel=0.01)
    v = view(built_scoped(world, DAY, street), world.scenario, "zh")
    name = world.scenario.streets[street]
    assert name in v["title"] and name in v["scope_note"] and v["forecast"]["total"].startswith(name)


def test_a_community_stations_briefing_covers_its_community(world):
    community = world.surge_grid[:12]
    data = built_scoped(world, SURGE_DAY, community)
    for name in ("new", "filed", "dispatched", "closed", "overdue", "closure_rate"):
        assert data["headlines"][name]["value"] == pytest.approx(world.figures(SURGE_DAY, scope=community)[name]), name
    assert {e["case_id"] for e in data["emergencies"]} <= {c for c, r in world.rows.items()
                                                          if r["community_code"] == community}
    assert all(g.startswith(community) for g in data["unusual"]["flagged_grids"] + data["unusual"]["cluster_grids"])
