"""City components (issue 16): the committed inventory is valid and reproducible; a report can
name a component and the projection (and a rebuild) keeps it; the API, the repeat offenders and
the map layer answer from the components table."""
from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest

from dashboard.domain.components import InvalidComponentCode, is_component_code, make_code, parse_code
from dashboard.domain.events import InvalidEvent
from dashboard.domain.projection import apply_event
from datasource.services.command_types import Actor, CommandRefused
from datasource.services.commands import CommandService
from tests.components_data import as_dict, inventory, load, pick
from tests.helpers import TEST_NOW, cases_table, event, publish

ADMIN = Actor("admin", "admin")


@pytest.fixture
def tokens(system) -> dict[str, dict]:
    """A bearer header per role (a sub-centre supervisor of street 110101001 too)."""
    from datasource.services import accounts
    out = {}
    for role in ("operator", "supervision", "supervisor", "leader", "wall", "admin"):
        accounts.add_user(system.engine, f"u-{role}", role, "password-123")
        out[role] = {"Authorization": f"Bearer {accounts.create_token(system.engine, f'u-{role}')}"}
    return out


# ---------------------------------------------------------------- codes (domain)
def test_codes_parse_and_refuse():
    code = parse_code("1101010118000042")
    assert (code.district, code.major, code.minor, code.serial, code.kind) == ("110101", "01", "18", 42, "C0118")
    assert make_code("C0118", 42) == "1101010118000042"
    for bad in ("110101011800004", "11010101180000420", "1101010718000042", "1101010100000001",
                "1101010118000000", "11010101180000x2", None, 1101010118000042):
        assert not is_component_code(bad)
    with pytest.raises(InvalidComponentCode):
        make_code("E0102", 1)


# ---------------------------------------------------------------- the committed inventory
def test_inventory_codes_valid_unique_classes_from_the_scenario(scenario):
    rows = inventory()
    assert len(rows) == 168_339                                   # Dongcheng's published total
    codes = [r[0] for r in rows]
    assert len(set(codes)) == len(codes)
    kinds = {c for c, cat in scenario.categories.items() if cat.kind == "component"}
    for code, kind, *_ in rows:
        assert is_component_code(code) and parse_code(code).kind == kind and kind in kinds
    by_class = Counter(r[1][1:3] for r in rows)
    assert set(by_class) == {"01", "02", "03", "04", "05", "06"}
    assert by_class["01"] > by_class["04"] > by_class["03"] > by_class["02"]   # covers, trees, bins, traffic
    assert {r[10] for r in rows} <= set(scenario.departments)     # maintainers are scenario departments
    assert {r[11] for r in rows} <= {"in_service", "damaged", "removed"}
    origins = Counter(r[13] for r in rows)
    assert origins["facility"] > 4000 and origins["green_space"] > 100   # the real facilities are in


def test_each_component_lies_inside_the_grid_it_names(system):
    rows = inventory()
    places = system.locator.locate_many([(r[3], r[4]) for r in rows])
    wrong = [(r[0], r[5], p) for r, p in zip(rows, places) if p is None or p != (r[5], r[6], r[7])]
    assert wrong == []


@pytest.mark.timeout(300)
def test_generation_is_deterministic_and_matches_the_committed_file(scenario, tmp_path):
    from datasource.tools.componentgen import FILE_NAME, generate
    summary = generate(scenario, tmp_path)
    assert summary["components"] == 168_339
    assert (tmp_path / FILE_NAME).read_bytes() == (scenario.root / FILE_NAME).read_bytes()


# ---------------------------------------------------------------- in the loop
def test_projection_keeps_the_component_and_refuses_a_bad_code(scenario):
    body = {"category": "C0118", "lon": 116.41, "lat": 39.92, "component": "1101010118000042"}
    where = ("110101001001001", "110101001001", "110101001")
    row = apply_event(None, event("DC20261118000001", "reported", TEST_NOW, **body), scenario, where)
    assert row["component_code"] == "1101010118000042"
    plain = {k: v for k, v in body.items() if k != "component"}
    assert apply_event(None, event("DC20261118000002", "reported", TEST_NOW, **plain), scenario, where)[
        "component_code"] is None
    with pytest.raises(InvalidEvent, match="component"):
        apply_event(None, event("DC20261118000003", "reported", TEST_NOW, **{**body, "component": "42"}), scenario,
                    where)


def test_report_names_a_component_and_the_worker_keeps_it(system):
    lamp = pick("C0118")[0]
    load(system.engine, [lamp])
    service = CommandService(system)
    done = service.report(ADMIN, "C0118", None, None, "路灯不亮", "phone", component=lamp[0])   # its position
    with pytest.raises(CommandRefused) as unknown:
        service.report(ADMIN, "C0118", lamp[3], lamp[4], "x", "phone", component="1101010118999999")
    assert unknown.value.status == 400 and "1101010118999999" in unknown.value.message("en")
    with pytest.raises(CommandRefused) as bad:
        service.report(ADMIN, "C0118", lamp[3], lamp[4], "x", "phone", component="lamp-42")
    assert bad.value.status == 400
    system.worker().drain()
    from datasource.services.cases import CaseQueries
    case = CaseQueries(system).row(done.case_id)
    assert case["component_code"] == lamp[0]
    assert (case["lon"], case["lat"], case["grid_code"]) == (lamp[3], lamp[4], lamp[5])


def test_rebuild_reproduces_the_component_column(system, stream_key, tmp_path):
    from datasource.follower.rebuild import rebuild
    events = []
    for i, code in enumerate(["1101010118000001", "1101010305000002", None]):
        body = {"category": "C0118", "lon": 116.41, "lat": 39.92, "description": "x", "source": "inspector"}
        if code:
            body["component"] = code
        events.append(event(f"DC20261118{i + 1:06d}", "reported", TEST_NOW - timedelta(hours=1), **body))
    publish(system.stream, events)
    system.worker().drain()
    before = cases_table(system.engine)
    assert [r["component_code"] for r in before] == ["1101010118000001", "1101010305000002", None]
    from datasource.store.database import make_engine
    target = make_engine(f"sqlite:///{tmp_path / 'rebuilt.db'}")
    rebuild(system, target)
    assert cases_table(target) == before


# ---------------------------------------------------------------- API
def test_api_lists_a_box_and_shows_a_component_with_its_cases(system, client, tokens):
    rows = pick("C0118", n=3) + pick("C0305", n=2)
    load(system.engine, rows)
    lamp = rows[0]
    CommandService(system).report(ADMIN, "C0118", None, None, "灯不亮", "phone", component=lamp[0])
    system.worker().drain()
    headers = tokens["supervisor"]
    west, south = min(r[3] for r in rows) - 0.001, min(r[4] for r in rows) - 0.001
    east, north = max(r[3] for r in rows) + 0.001, max(r[4] for r in rows) + 0.001
    answer = client.get(f"/api/v1/components?bbox={west},{south},{east},{north}&kind=C0118", headers=headers)
    assert answer.status_code == 200
    assert {c["code"] for c in answer.json["components"]} == {r[0] for r in rows[:3]}
    assert answer.json["total"] == 3
    both = client.get(f"/api/v1/components?kind=C0118,C0305&limit=4", headers=headers).json
    assert both["count"] == 4 and both["total"] == 5
    one = client.get(f"/api/v1/components/{lamp[0]}", headers=headers)
    assert one.status_code == 200 and one.json["maintainer_department"] == lamp[10]
    assert [c["component_code"] if "component_code" in c else lamp[0] for c in one.json["cases"]] == [lamp[0]]
    assert len(one.json["cases"]) == 1 and one.json["cases"][0]["category_code"] == "C0118"
    for bad in ("bbox=1,2,3", "bbox=4,3,2,1", "bbox=a,b,c,d", "kind=E0102", "kind=C9999", "limit=x"):
        refused = client.get(f"/api/v1/components?{bad}", headers=headers)
        assert refused.status_code == 400 and refused.json["message"], bad
    assert client.get("/api/v1/components/1101010118999999", headers=headers).status_code == 404
    assert client.get("/api/v1/components/nonsense", headers=headers).status_code == 404
    assert client.get("/api/v1/components", headers=tokens["wall"]).status_code == 403
    spec = client.get("/api/v1/openapi.json", headers=headers).json
    assert "/components" in spec["paths"] and "/components/{component}" in spec["paths"]
    assert "component" in spec["components"]["schemas"]["ReportBody"]["properties"]


def test_api_report_with_a_component_code(system, client, tokens):
    bin_ = pick("C0305")[0]
    load(system.engine, [bin_])
    answer = client.post("/api/v1/cases", json={"category": "E0102", "component": bin_[0], "description": "满溢"},
                         headers=tokens["supervision"])
    assert answer.status_code == 201, answer.json
    system.worker().drain()
    assert client.get(f"/api/v1/cases/{answer.json['case_id']}", headers=tokens["supervision"]).json[
        "component_code"] == bin_[0]


# ---------------------------------------------------------------- repeat offenders and the map layer
def test_repeat_offenders_rank_components_by_cases_in_the_period(system):
    from datasource.services.components import ComponentQueries
    lamps = pick("C0118", n=3)
    load(system.engine, lamps)
    events, n = [], 0
    for code, times in ((lamps[0][0], 4), (lamps[1][0], 2), (lamps[2][0], 1)):
        for _ in range(times):
            n += 1
            events.append(event(f"DC20261118{n:06d}", "reported", TEST_NOW - timedelta(days=n),
                                category="C0118", lon=116.41, lat=39.92, component=code))
    publish(system.stream, events)
    system.worker().drain()
    found = ComponentQueries(system).repeat_offenders(TEST_NOW - timedelta(days=30), TEST_NOW)
    assert [(r["code"], r["cases"]) for r in found] == [(lamps[0][0], 4), (lamps[1][0], 2)]
    assert found[0]["kind"] == "C0118" and found[0]["street_code"] == lamps[0][7]
    short = ComponentQueries(system).repeat_offenders(TEST_NOW - timedelta(days=1, hours=12), TEST_NOW)
    assert short == []      # in the last 1.5 days none had two cases


def test_map_layer_clusters_by_class_and_stays_small(system):
    from datasource.services.components_map import ComponentLayer
    rows = inventory()
    load(system.engine, rows[::10])       # every tenth component: 16,834
    layer = ComponentLayer(system)
    west, south, east, north = system.locator.bbox
    district = layer.features(west, south, east, north, zoom=13)
    assert district["clustered"]
    assert sum(f["properties"]["n"] for f in district["features"]) == len(rows[::10])
    assert {f["properties"]["g"] for f in district["features"]} == {"01", "02", "03", "04", "05", "06"}
    assert len(json.dumps(district).encode()) < 1_000_000
    lamp = rows[::10][0]
    close = layer.features(lamp[3] - 0.001, lamp[4] - 0.001, lamp[3] + 0.001, lamp[4] + 0.001, zoom=18)
    assert not close["clustered"]
    assert lamp[0] in {f["properties"]["c"] for f in close["features"]}
    assert next(f for f in close["features"] if f["properties"]["c"] == lamp[0])["properties"]["m"] == lamp[10]
    scoped = layer.features(west, south, east, north, zoom=13, scope="110101001")
    assert 0 < sum(f["properties"]["n"] for f in scoped["features"]) < len(rows[::10])
    assert as_dict(lamp)["code"] == lamp[0]
