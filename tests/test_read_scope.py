"""Scope on reads (issue 12, item 5): a department user reads only its own department's cases
— one rule in the domain (:func:`dashboard.domain.scope.may_read_case`), asked by the API's read
endpoints and by the pages' case panels.  Real Redis, both databases, the app in-process.

Before: ``GET /api/v1/cases/{id}`` answered any case (timeline and all) to a department user,
while its list held only its own."""
from __future__ import annotations

import pytest

from dashboard.domain.scope import may_read_case
from datasource.services import accounts
from datasource.services.command_types import Actor
from datasource.services.commands import CommandService
from tests.helpers import LAT, LON
from tests.test_api import client  # noqa: F401 - every answer checked against the OpenAPI document

ADMIN = Actor("setup", "admin")


def test_the_rule():
    assert may_read_case("department", "sanitation", None, "sanitation", "110101001", None)
    assert not may_read_case("department", "sanitation", None, "roads", "110101001", None)
    assert not may_read_case("department", "sanitation", None, None, "110101001", None)   # not dispatched
    assert not may_read_case("department", None, None, None, None, None)                  # no department
    assert may_read_case("operator", None, None, "roads", "110101001", None)
    assert not may_read_case("operator", None, "110101002", "roads", "110101001", None)
    assert may_read_case("supervision", None, "110101001009", None, "110101001", "110101001009")


@pytest.fixture
def people(system) -> dict[str, dict]:
    out = {}
    for name, role, department in (("sani", "department", "sanitation"), ("roads", "department", "roads"),
                                   ("op", "operator", None), ("adm", "admin", None)):
        accounts.add_user(system.engine, name, role, "password-123", department)
        out[name] = {"Authorization": f"Bearer {accounts.create_token(system.engine, name)}"}
    return out


@pytest.fixture
def cases(system) -> dict[str, str]:
    """A case dispatched to sanitation, one to roads, one only filed."""
    service = CommandService(system)
    out = {}
    for name in ("sanitation", "roads", "filed"):
        case_id = service.report(ADMIN, "E0102", LON, LAT, name).case_id
        service.file(ADMIN, case_id)
        if name != "filed":
            service.dispatch(ADMIN, case_id, name)
        out[name] = case_id
    return out


def test_a_department_reads_its_own_cases_only(system, client, people, cases):
    for projected in (False, True):   # the command side only (worker behind), then the reporting database
        if projected:
            system.worker().drain()
        assert client.get(f"/api/v1/cases/{cases['sanitation']}", headers=people["sani"]).status_code == 200
        for other in ("roads", "filed"):
            answer = client.get(f"/api/v1/cases/{cases[other]}", headers=people["sani"])
            assert answer.status_code == 403, (other, projected, answer.json)
            assert "not your department" in answer.json["message"] and "timeline" not in answer.json
        assert client.get(f"/api/v1/cases/{cases['roads']}", headers=people["roads"]).status_code == 200
        assert client.get(f"/api/v1/cases/{cases['roads']}", headers=people["op"]).status_code == 200
        assert client.get("/api/v1/cases/DC20990101000001", headers=people["sani"]).status_code == 404
    listed = client.get("/api/v1/cases?stage=dispatched", headers=people["sani"]).json["cases"]
    assert [c["case_id"] for c in listed] == [cases["sanitation"]]
    assert client.get(f"/api/v1/cases/{cases['roads']}/recommendation", headers=people["sani"]).status_code == 403


def test_the_department_pages_case_panel_asks_the_same_rule(system, client, people, cases):
    """The page's own callback, called as the browser would: another department's case is
    "not found", whatever id the browser sends."""
    system.worker().drain()
    outputs = [("department-panel-body", "children"), ("department-panel-timeline", "children"),
               ("department-actions", "className"), ("department-note", "value"), ("department-shown", "data")]

    def panel(case_id):
        payload = {"output": ".." + "...".join(f"{i}.{p}" for i, p in outputs) + "..",
                   "outputs": [{"id": i, "property": p} for i, p in outputs],
                   "inputs": [{"id": "department-selected", "property": "data", "value": case_id},
                              {"id": "department-refresh", "property": "data", "value": 0},
                              {"id": "department-tick", "property": "n_intervals", "value": 0}],
                   "state": [{"id": "department-shown", "property": "data", "value": None},
                             {"id": "department-lang", "property": "data", "value": "en"}],
                   "changedPropIds": ["department-selected.data"]}
        answer = client.post("/_dash-update-component", json=payload, headers=people["sani"])
        assert answer.status_code == 200, answer.data[:300]
        return str(answer.json["response"])

    assert "Case not found" not in panel(cases["sanitation"])
    assert "Case not found" in panel(cases["roads"])
    assert cases["roads"] not in panel(cases["roads"])
