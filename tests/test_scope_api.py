"""Sub-centres over the API: a street user acts on and reads its own street only (issue 9)."""
from __future__ import annotations

import pytest

from datasource.services import accounts, audit
from tests.helpers import LAT, LON
from tests.test_api import client  # noqa: F401  (every answer checked against the OpenAPI document)

STREET_1, STREET_2 = "110101001", "110101002"
OTHER_LON, OTHER_LAT = 116.397188, 39.932354        # a grid of street 110101002 (LON, LAT lie in 110101001)


def bearer(system, name, role, scope=None, department=None):
    accounts.add_user(system.engine, name, role, "password-123", department, scope=scope,
                      streets=system.scenario.streets, communities=system.scenario.communities)
    return {"Authorization": f"Bearer {accounts.create_token(system.engine, name)}"}


@pytest.fixture
def people(system):
    return {"admin": bearer(system, "adm", "admin"),
            "sup1": bearer(system, "sup1", "supervision", STREET_1),
            "sup2": bearer(system, "sup2", "supervision", STREET_2),
            "op2": bearer(system, "op2", "operator", STREET_2),
            "com1": bearer(system, "com1", "supervision", "110101001009")}


def report(client, headers, lon=LON, lat=LAT):
    answer = client.post("/api/v1/cases", json={"category": "E0102", "lon": lon, "lat": lat, "description": "垃圾"},
                         headers=headers)
    return answer


def test_a_street_user_acts_on_its_own_street_only(system, client, people):
    mine = report(client, people["admin"], OTHER_LON, OTHER_LAT).json["case_id"]
    theirs = report(client, people["admin"]).json["case_id"]
    refused = client.post(f"/api/v1/cases/{theirs}/file", headers=people["sup2"])
    assert refused.status_code == 403 and "outside your area (110101002)" in refused.json["message"]
    zh = client.post(f"/api/v1/cases/{theirs}/file?lang=zh", headers=people["sup2"])
    assert zh.status_code == 403 and "不在本分中心" in zh.json["message"]
    assert client.post(f"/api/v1/cases/{mine}/file", headers=people["sup2"]).status_code == 200
    assert client.post(f"/api/v1/cases/{theirs}/file", headers=people["sup1"]).status_code == 200
    # the operator of street 2 dispatches its own case, not street 1's
    assert client.post(f"/api/v1/cases/{theirs}/dispatch", json={"department": "sanitation"},
                       headers=people["op2"]).status_code == 403
    assert client.post(f"/api/v1/cases/{mine}/dispatch", json={"department": "sanitation"},
                       headers=people["op2"]).status_code == 200
    # the refusal is audited, with who and why
    rows = audit.query(system.engine, case_id=theirs, user="sup2")
    assert rows and rows[0]["outcome"] == "refused" and "outside your area" in rows[0]["message"]
    # a report outside the area is refused; inside it is accepted
    outside = report(client, people["sup2"])
    assert outside.status_code == 403 and "outside your area" in outside.json["message"]
    assert report(client, people["sup2"], OTHER_LON, OTHER_LAT).status_code == 201


def test_a_community_user_covers_its_community_only(system, client, people):
    here = report(client, people["com1"])
    assert here.status_code == 201
    elsewhere = report(client, people["admin"], 116.393066, 39.920896).json["case_id"]  # street 1, community 001
    assert client.post(f"/api/v1/cases/{elsewhere}/file", headers=people["com1"]).status_code == 403
    assert client.post(f"/api/v1/cases/{elsewhere}/file", headers=people["sup1"]).status_code == 200


def test_users_add_scope_via_cli(runner):
    ok = runner.invoke("users", "add", "street1", "--role", "supervision", "--password", "password-123",
                       "--scope", STREET_1)
    assert ok.exit_code == 0 and "scope 110101001" in ok.output
    listed = runner.invoke("users", "list")
    assert "110101001" in listed.output
    unknown = runner.invoke("users", "add", "x", "--role", "operator", "--password", "password-123",
                            "--scope", "110101099")
    assert unknown.exit_code == 1 and "unknown street '110101099'" in unknown.output
    bad = runner.invoke("users", "add", "y", "--role", "operator", "--password", "password-123", "--scope", "12")
    assert bad.exit_code == 1 and "9-digit street or 12-digit community" in bad.output


def test_a_street_user_reads_its_own_street_only(system, client, people):
    mine = report(client, people["admin"], OTHER_LON, OTHER_LAT).json["case_id"]
    theirs = report(client, people["admin"]).json["case_id"]
    # before the worker has seen them (command side only) and after
    assert client.get(f"/api/v1/cases/{theirs}", headers=people["sup2"]).status_code == 403
    for case_id in (mine, theirs):
        assert client.post(f"/api/v1/cases/{case_id}/file", headers=people["admin"]).status_code == 200
    system.worker().drain()
    refused = client.get(f"/api/v1/cases/{theirs}", headers=people["sup2"])
    assert refused.status_code == 403 and "outside your area" in refused.json["message"]
    assert client.get(f"/api/v1/cases/{theirs}/recommendation", headers=people["op2"]).status_code == 403
    assert client.get(f"/api/v1/cases/{mine}", headers=people["sup2"]).status_code == 200
    assert client.get(f"/api/v1/cases/{theirs}", headers=people["admin"]).status_code == 200
    listed = client.get("/api/v1/cases?stage=filed", headers=people["op2"]).json["cases"]
    assert [c["case_id"] for c in listed] == [mine]
    assert {c["case_id"] for c in client.get("/api/v1/cases?stage=filed", headers=people["admin"]).json["cases"]} \
        == {mine, theirs}
    assert client.get("/api/v1/stages", headers=people["op2"]).json["filed"] == 1
    assert client.get("/api/v1/stages", headers=people["admin"]).json["filed"] == 2
    assert client.get("/api/v1/stages", headers=people["com1"]).json["filed"] == 1    # theirs lies in 110101001009
    from datasource.services.cases import CaseQueries
    queries = CaseQueries(system)
    assert [p["case_id"] for p in queries.map_points(("filed",), scope=STREET_2)] == [mine]
    assert [p["case_id"] for p in queries.queue(("filed",), scope="110101001009")] == [theirs]
    assert queries.queue(("filed",), scope="110101001001") == []


def test_admin_and_wall_users_are_the_districts(system):
    for role in ("admin", "wall"):
        with pytest.raises(accounts.AccountError, match=f"a {role} user works for the whole district"):
            accounts.add_user(system.engine, f"x-{role}", role, "password-123", scope=STREET_1)


def test_a_sub_centre_gets_its_own_briefing(system, app):
    """The briefing is no longer refused to a sub-centre: a street leader asking for a day
    without data is told so (404), like the district — not 403."""
    from tests.test_landing import log_in
    client = app.server.test_client()
    accounts.add_user(system.engine, "lead1", "leader", "password-123", scope=STREET_1,
                      streets=system.scenario.streets)
    assert log_in(app, client, "lead1").status_code == 302
    answer = client.get("/briefing/pdf?date=2020-01-01&lang=en")
    assert answer.status_code == 404 and "no case data" in answer.get_data(as_text=True)


def test_the_dispatch_pages_queue_and_map_hold_the_street_only(system, client, people):
    """The page's own callback, called as the browser would (the server filters, not the page)."""
    mine = report(client, people["admin"], OTHER_LON, OTHER_LAT).json["case_id"]
    theirs = report(client, people["admin"]).json["case_id"]
    for case_id in (mine, theirs):
        assert client.post(f"/api/v1/cases/{case_id}/file", headers=people["admin"]).status_code == 200
    system.worker().drain()
    outputs = [("dispatch-filed-layer", "data"), ("dispatch-active-layer", "data"), ("dispatch-filed-layer", "hideout"),
               ("dispatch-queue", "children"), ("dispatch-queue-count", "children"),
               ("dispatch-active-count", "children"), ("dispatch-signature", "data")]
    payload = {"output": ".." + "...".join(f"{i}.{p}" for i, p in outputs) + "..",
               "outputs": [{"id": i, "property": p} for i, p in outputs],
               "inputs": [{"id": "dispatch-tick", "property": "n_intervals", "value": 1},
                          {"id": "dispatch-refresh", "property": "data", "value": 0},
                          {"id": "dispatch-selected", "property": "data", "value": None}],
               "state": [{"id": "dispatch-lang", "property": "data", "value": "en"},
                         {"id": "dispatch-signature", "property": "data", "value": None},
                         {"id": "dispatch-view", "property": "data", "value": {"sort": "urgent"}},
                         {"id": "dispatch-selection", "property": "data", "value": []}],
               "changedPropIds": ["dispatch-tick.n_intervals"]}

    def shown(headers):
        answer = client.post("/_dash-update-component", json=payload, headers=headers)
        assert answer.status_code == 200, answer.data[:300]
        response = answer.json["response"]
        return ({f["properties"]["case_id"] for f in response["dispatch-filed-layer"]["data"]["features"]},
                response["dispatch-queue-count"]["children"])
    assert shown(people["op2"]) == ({mine}, "1")
    assert shown(people["admin"]) == ({mine, theirs}, "2")
