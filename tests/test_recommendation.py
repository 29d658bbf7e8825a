"""The dispatch recommendation (issue 11 item 4, issue 16): the maintainer of the component
first, then the routing table, the street office, the departments with a history in the
category; never a department that does not handle the category ahead of those that do; a
warning when the proposal is late too often or overloaded; reasons in both languages;
statistics inside the user's sub-centre."""
from __future__ import annotations

from datetime import timedelta

import pytest

from dashboard.domain.components import DepartmentRecord, rank_departments, warnings_for
from datasource.services.command_types import Actor
from datasource.services.commands import CommandService
from datasource.services.recommendation import Recommender
from tests.components_data import load, pick
from tests.helpers import event, publish

SUP = Actor("sup", "supervision")


def history(system, department: str, category: str, on_time: int, late: int, street_lonlat=(116.4105, 39.9168),
            start_serial: int = 900001) -> list[str]:
    """``department`` handled ``on_time + late`` cases of ``category`` in the last days; the late
    ones ten days after dispatch (long past any limit).  Published and projected."""
    now = system.now()
    start = now - timedelta(days=12)
    tz = system.scenario.calendar.tz
    ids = [f"DC{start.astimezone(tz):%Y%m%d}{start_serial + i:06d}" for i in range(on_time + late)]
    events = []
    lon, lat = street_lonlat
    for i, case_id in enumerate(ids):
        t0 = start + timedelta(hours=i)
        handled_at = t0 + timedelta(minutes=15) if i < on_time else t0 + timedelta(days=10)
        events += [event(case_id, "reported", t0, category=category, lon=lon, lat=lat, source="inspector"),
                   event(case_id, "filed", t0 + timedelta(minutes=5)),
                   event(case_id, "dispatched", t0 + timedelta(minutes=10), department=department),
                   event(case_id, "handled", handled_at)]
    publish(system.stream, events)
    system.worker().drain()
    return ids


def filed_row(system, category: str, lon: float = 116.4105, lat: float = 39.9168, component: str | None = None):
    service = CommandService(system)
    case_id = service.report(SUP, category, lon, lat, "x", "phone", component=component).case_id
    service.file(SUP, case_id)
    system.worker().drain()
    return service.queries.row(case_id)


# ---------------------------------------------------------------- the rule (domain, no database)
def test_rule_orders_maintainer_routing_street_history_related_then_the_rest():
    r = lambda code, kind="professional", load=0, handled=0, rate=None, n=0: DepartmentRecord(  # noqa: E731
        code, kind, load, handled, rate, n)
    records = {"sanitation": r("sanitation", handled=4, rate=0.5, n=9), "gas": r("gas", handled=4, rate=1.0),
               "enforcement": r("enforcement", handled=4, rate=0.9, n=2), "roads": r("roads", rate=0.95),
               "traffic": r("traffic", handled=3, rate=0.7), "street-1": r("street-1", "street", n=1),
               "street-2": r("street-2", "street", n=5)}
    ranked = rank_departments(records, "sanitation", "street-1", "roads", frozenset({"traffic"}))
    assert [c for c, _ in ranked] == ["roads", "sanitation", "street-1", "enforcement", "traffic", "gas"]
    assert dict(ranked)["roads"] == ["maintainer"]
    assert dict(ranked)["sanitation"] == ["routing", "history"]
    assert dict(ranked)["gas"] == []            # never handled it: last, however punctual and idle
    assert "street-2" not in dict(ranked)       # another street's office is not a candidate


def test_warnings_for_poor_on_time_rate_and_heavy_load():
    slow = DepartmentRecord("x", "professional", load=3, handled=4, on_time_rate=0.5, category_cases=1)
    assert [k for k, _ in warnings_for(slow, 3)] == ["poor_on_time"]
    unjudged = DepartmentRecord("x", "professional", load=3, handled=2, on_time_rate=0.0, category_cases=1)
    assert warnings_for(unjudged, 3) == []      # two cases are too few to call it poor
    busy = DepartmentRecord("x", "professional", load=40, handled=10, on_time_rate=0.95, category_cases=1)
    assert [k for k, _ in warnings_for(busy, 8)] == ["heavy_load"]
    assert warnings_for(busy, 30) == []


# ---------------------------------------------------------------- against the database
def test_exposed_rubbish_routed_first_with_a_warning_and_the_gas_company_last(system):
    history(system, "sanitation", "E0102", on_time=2, late=2)              # sanitation: 50 % on time
    history(system, "gas", "E0402", on_time=4, late=0, start_serial=910001)  # gas: idle, 100 %, other work
    history(system, "enforcement", "E0102", on_time=1, late=0, start_serial=920001)
    advice = Recommender(system).recommend(filed_row(system, "E0102"))
    codes = [c["code"] for c in advice["candidates"]]
    assert advice["department"] == codes[0] == "sanitation"
    assert advice["candidates"][0]["reasons"] == ["routing", "history"]
    assert [w["key"] for w in advice["warnings"]] == ["poor_on_time"]
    assert "50%" in advice["warnings"][0]["zh"] and "50%" in advice["warnings"][0]["en"]
    experienced = [c["code"] for c in advice["candidates"] if "history" in c["reasons"]]
    assert set(experienced) == {"sanitation", "enforcement"}
    gas = codes.index("gas")
    assert gas > max(codes.index(c) for c in experienced)        # never ahead of those who handle it
    assert all(c["reasons"] == [] for c in advice["candidates"][gas:])
    assert "从未处置" in advice["candidates"][gas]["why_zh"] and "never" in advice["candidates"][gas]["why_en"]
    assert "90" in advice["candidates"][codes.index("enforcement")]["why_zh"]    # "近 90 天处置过该类案件 1 件"


@pytest.mark.parametrize("who", ["street", "professional"])
def test_a_component_case_goes_first_to_the_components_maintainer(system, who):
    lamp = pick("C0118", maintainer="power")[0] if who == "professional" else \
        next(r for r in pick("C0118", n=5000) if r[10].startswith("street-"))
    load(system.engine, [lamp])
    advice = Recommender(system).recommend(filed_row(system, "C0118", lamp[3], lamp[4], component=lamp[0]))
    first = advice["candidates"][0]
    assert advice["department"] == first["code"] == lamp[10]
    assert first["reasons"][0] == "maintainer" and lamp[0] in first["why_zh"] and lamp[0] in first["why_en"]
    assert advice["component"]["code"] == lamp[0] and advice["component_found_by"] == "named"
    if who == "street":                                # the routing table's department comes next
        assert advice["candidates"][1]["code"] == "power" and advice["candidates"][1]["reasons"][0] == "routing"


def test_a_component_category_without_a_named_component_takes_the_nearest(system):
    lamp = next(r for r in pick("C0118", n=5000) if r[10].startswith("street-") and abs(r[4] - 39.9168) > 0.01)
    load(system.engine, [lamp])
    advice = Recommender(system).recommend(filed_row(system, "C0118", lamp[3] + 0.00005, lamp[4]))
    assert advice["department"] == lamp[10] and advice["candidates"][0]["reasons"][0] == "nearest"
    assert advice["component_found_by"] == "nearest"
    far = Recommender(system).recommend(filed_row(system, "C0118", 116.4105, 39.9168))   # no lamp loaded there
    assert far["department"] == "power" and far["component"] is None


def test_statistics_respect_the_sub_centre_scope(system):
    located = system.locator.locate(116.4105, 39.9168)
    inside = located[2]
    other_street = next(s for s in system.scenario.streets if s != inside)
    grid = next(f for f in system.scenario.grids_geojson["features"] if f["properties"]["street_code"] == other_street)
    from shapely.geometry import shape
    point = shape(grid["geometry"]).representative_point()
    history(system, "sanitation", "E0102", on_time=4, late=0)                                  # here: on time
    history(system, "sanitation", "E0102", on_time=0, late=4, street_lonlat=(point.x, point.y),
            start_serial=930001)                                                               # there: late
    row = filed_row(system, "E0102")
    district = Recommender(system).recommend(row)
    mine = Recommender(system).recommend(row, scope=inside)
    theirs = Recommender(system).recommend(row, scope=other_street)
    rate = lambda advice: advice["candidates"][0]["on_time_rate"]  # noqa: E731
    assert (rate(district), rate(mine), rate(theirs)) == (0.5, 1.0, 0.0)
    assert [w["key"] for w in mine["warnings"]] == [] and [w["key"] for w in theirs["warnings"]] == ["poor_on_time"]
    assert mine["candidates"][0]["category_cases"] == 4 and district["candidates"][0]["category_cases"] == 8


def test_api_recommendation_says_why_in_both_languages(system, client):
    from datasource.services import accounts
    accounts.add_user(system.engine, "op", "operator", "password-123")
    headers = {"Authorization": f"Bearer {accounts.create_token(system.engine, 'op')}"}
    history(system, "sanitation", "E0102", on_time=1, late=3)
    row = filed_row(system, "E0102")
    advice = client.get(f"/api/v1/cases/{row['case_id']}/recommendation", headers=headers).json
    assert advice["department"] == "sanitation" and advice["candidates"][0]["why_zh"].startswith("按派遣规则表")
    assert advice["candidates"][0]["why_en"].startswith("by the routing table")
    assert advice["warnings"][0]["key"] == "poor_on_time"
