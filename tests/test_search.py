"""Case search (issue 11, item 1): by case id, address, description words and reporter, in SQL,
respecting the asker's role, department and sub-centre; paged; the page that can act on a hit.
Runs on SQLite and PostgreSQL (``database_url``)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from datasource.services.search import CaseSearch, action_page, terms_of
from tests.helpers import LAT, LON, TEST_NOW, event, publish

STREET_1 = "110101001"                                # LON, LAT lie in 东华门街道
OTHER_LON, OTHER_LAT = 116.397188, 39.932354         # a grid of street 110101002


def story(system) -> dict[str, str]:
    """Six cases in different stages, places, words and reporters; projected by the worker."""
    start = TEST_NOW - timedelta(days=2)
    ids = {name: f"DC{start:%Y%m%d}{800001 + i:06d}" for i, name in enumerate(
        ("reported", "filed", "sanitation", "roads", "handled", "closed"))}
    texts = {"reported": ("井盖破损，需更换", "张三"), "filed": ("路灯不亮 50%_test", "李四"),
             "sanitation": ("垃圾堆积", "王五"), "roads": ("道路坑洼", "赵六"), "handled": ("垃圾桶满溢", "钱七"),
             "closed": ("垃圾已清运", "孙八")}
    steps = {"reported": [], "filed": ["filed"], "sanitation": ["filed", ("dispatched", "sanitation")],
             "roads": ["filed", ("dispatched", "roads")], "handled": ["filed", ("dispatched", "sanitation"), "handled"],
             "closed": ["filed", ("dispatched", "sanitation"), "handled", "verified", "closed"]}
    events = []
    for i, (name, case_id) in enumerate(ids.items()):
        at = start + timedelta(hours=i)
        lon, lat = (OTHER_LON, OTHER_LAT) if name == "roads" else (LON, LAT)
        description, reporter = texts[name]
        events.append(event(case_id, "reported", at, actor=reporter, category="E0102", lon=lon, lat=lat,
                            description=description, source="phone"))
        for j, step in enumerate(steps[name], start=1):
            kind, department = step if isinstance(step, tuple) else (step, None)
            body = {"department": department} if department else {}
            events.append(event(case_id, kind, at + timedelta(minutes=5 * j), **body))
    publish(system.stream, events)
    system.worker().drain()
    return ids


@pytest.fixture
def cases(system):
    return story(system)


def found(answer) -> list[str]:
    return [r["case_id"] for r in answer["rows"]]


def test_by_case_id_words_reporter_and_address(system, cases):
    search = CaseSearch(system)
    exact = search.search(cases["filed"].lower(), "admin")           # an id, in any case
    assert found(exact)[0] == cases["filed"] and exact["total"] == 1
    assert set(found(search.search("垃圾", "admin"))) == {cases["sanitation"], cases["handled"], cases["closed"]}
    assert found(search.search("垃圾 满溢", "admin")) == [cases["handled"]]          # every word must match
    assert found(search.search("王五", "admin")) == [cases["sanitation"]]             # the reporter
    assert found(search.search("50%_", "admin")) == [cases["filed"]]                 # LIKE wildcards are literal
    assert found(search.search("%", "admin")) == [cases["filed"]]
    street = system.scenario.streets["110101002"]                                      # an address: the street's name
    assert found(search.search(street, "admin")) == [cases["roads"]]
    assert search.search("   ", "admin")["total"] == 0 and search.search(None, "admin")["rows"] == []
    assert search.search("没有这种案件", "admin")["total"] == 0


def test_hits_carry_stage_light_names_and_the_page_to_act(system, cases):
    rows = {r["case_id"]: r for r in CaseSearch(system).search("DC", "operator", per_page=50)["rows"]}
    assert len(rows) == 6
    assert rows[cases["filed"]]["stage"] == "filed" and rows[cases["filed"]]["page"] == "/dispatch"
    assert rows[cases["closed"]]["light"] == "none" and rows[cases["filed"]]["light"] in ("green", "yellow", "red")
    assert rows[cases["filed"]]["category"] and rows[cases["filed"]]["street"] == system.scenario.streets[STREET_1]
    assert list(rows)[-1] == cases["closed"]                                           # closed cases last
    supervision = {r["case_id"]: r["page"] for r in CaseSearch(system).search("DC", "supervision", per_page=50)["rows"]}
    assert supervision[cases["reported"]] == "/intake" and supervision[cases["handled"]] == "/intake"


def test_a_department_finds_only_its_own_cases(system, cases):
    search = CaseSearch(system)
    mine = set(found(search.search("DC", "department", department="sanitation", per_page=50)))
    assert mine == {cases["sanitation"], cases["handled"], cases["closed"]}
    assert search.search(cases["roads"], "department", department="sanitation")["total"] == 0
    assert search.search("DC", "department", department=None)["total"] == 0             # no department: nothing
    assert {r["page"] for r in search.search("DC", "department", department="sanitation")["rows"]} == {"/department"}


def test_a_sub_centre_finds_only_its_scope(system, cases):
    search = CaseSearch(system)
    assert found(search.search("DC", "operator", scope="110101002", per_page=50)) == [cases["roads"]]
    assert cases["roads"] not in found(search.search("DC", "operator", scope=STREET_1, per_page=50))


def test_paged_with_the_total(system, cases):
    search = CaseSearch(system)
    first = search.search("DC", "admin", per_page=4)
    second = search.search("DC", "admin", page=2, per_page=4)
    assert (first["total"], first["pages"], len(first["rows"]), len(second["rows"])) == (6, 2, 4, 2)
    assert not set(found(first)) & set(found(second))
    assert search.search("DC", "admin", page=99, per_page=4)["page"] == 2             # clamped
    assert search.search("DC", "admin", page="x", per_page=4)["page"] == 1


def test_the_page_that_acts_on_a_stage_for_a_role():
    assert action_page("filed", "operator") == "/dispatch"
    assert action_page("filed", "admin") == "/dispatch"
    assert action_page("dispatched", "admin") == "/department"
    assert action_page("dispatched", "department") == "/department"
    assert action_page("dispatched", "supervision") == "/intake"        # extend or suspend
    assert action_page("handled", "supervision") == "/intake"
    assert action_page("handled", "operator") == "/dispatch"            # read only: the operator's own page
    assert action_page("closed", "department") == "/department"
    assert action_page("filed", "leader") is None
    assert terms_of("  a  b c d e f g h ") == ["a", "b", "c", "d", "e", "f"]
