"""``GET /api/v1/cases?q=…``: the case search over the API, checked against the OpenAPI
document; a department's token finds its own cases only, a sub-centre's its own area."""
from __future__ import annotations

from datasource.services import accounts
from tests.test_api import client  # noqa: F401  (every answer checked against the OpenAPI document)
from tests.test_search import story


def bearer(system, name, role, department=None, scope=None):
    accounts.add_user(system.engine, name, role, "password-123", department, scope=scope,
                      streets=system.scenario.streets, communities=system.scenario.communities)
    return {"Authorization": f"Bearer {accounts.create_token(system.engine, name)}"}


def test_search_over_the_api(system, client):
    cases = story(system)
    admin = bearer(system, "adm", "admin")
    answer = client.get("/api/v1/cases?q=垃圾", headers=admin)
    assert answer.status_code == 200
    assert answer.json["total"] == 3 and {c["case_id"] for c in answer.json["cases"]} == {
        cases["sanitation"], cases["handled"], cases["closed"]}
    paged = client.get("/api/v1/cases?q=DC&limit=4&page=2", headers=admin).json
    assert (paged["total"], paged["page"], paged["pages"], paged["count"]) == (6, 2, 2, 2)
    department = bearer(system, "sani", "department", "sanitation")
    mine = client.get("/api/v1/cases?q=DC&limit=50", headers=department).json
    assert {c["case_id"] for c in mine["cases"]} == {cases["sanitation"], cases["handled"], cases["closed"]}
    street = bearer(system, "op2", "operator", scope="110101002")
    assert [c["case_id"] for c in client.get("/api/v1/cases?q=DC", headers=street).json["cases"]] == [cases["roads"]]
    assert client.get("/api/v1/cases?q=" + "x" * 101, headers=admin).status_code == 400   # a one-line refusal
    assert client.get("/api/v1/cases?q=DC").status_code == 401
    # without q the list is the old one: filed cases only
    assert [c["case_id"] for c in client.get("/api/v1/cases", headers=admin).json["cases"]] == [cases["filed"]]
