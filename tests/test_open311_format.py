"""The Open311 GeoReport v2 door in-process (Flask's test client, SQLite): the services and
their definitions in XML and JSON against the published schema, the POST's checks and what it
reports, and every error in the specification's form — never an HTML page."""
from __future__ import annotations

import json

import pytest
from plotly.utils import PlotlyJSONEncoder

from datasource.services import accounts
from tests.open311_client import check_error, spark, validate

INSIDE = {"lat": "39.9163", "long": "116.4050"}     # WGS-84, in 东华门街道 (GCJ-02 ≈ 116.4112, 39.9177)


@pytest.fixture
def database_url(tmp_path):
    """SQLite only: these tests check the door, not SQL (tests/test_open311_requests.py runs both)."""
    return f"sqlite:///{tmp_path / 'open311.db'}"


@pytest.fixture
def key(system):
    """An API key of a supervision-centre account (a role that may report)."""
    accounts.add_user(system.engine, "fixmystreet", "supervision", "pw-open311-9")
    return accounts.create_token(system.engine, "fixmystreet")


def post(client, fmt="json", **form):
    return client.post(f"/open311/v2/requests.{fmt}", data=form)


def test_services_in_xml_and_json_are_the_schema_s_and_the_same(client, scenario):
    as_json = client.get("/open311/v2/services.json?jurisdiction_id=")
    as_xml = client.get("/open311/v2/services.xml")
    assert as_json.status_code == as_xml.status_code == 200
    assert as_json.headers["Content-Type"] == "application/json; charset=utf-8"
    assert as_xml.headers["Content-Type"] == "text/xml; charset=utf-8"
    services = as_json.get_json()
    validate(services, "services.json")
    assert spark(as_xml.get_data()) == services                 # the Spark convention, both ways
    assert [s["service_code"] for s in services] == list(scenario.categories)
    assert all(isinstance(s["service_code"], str) for s in services)   # codes are strings ("C0101")
    by_code = {s["service_code"]: s for s in services}
    assert by_code["C0118"]["service_name"] == "路灯" and by_code["C0118"]["group"] == "公用设施类部件"
    assert by_code["E0102"]["group"] == "市容环境类事件"
    english = client.get("/open311/v2/services.json", headers={"Accept-Language": "en-US,en;q=0.9"}).get_json()
    assert {s["service_code"]: s["service_name"] for s in english}["C0118"] == "Street lamp"
    assert client.get("/open311/v2/services.json?locale=en_GB").get_json() == english


def test_service_definitions_list_the_report_s_attributes(client):
    lamp = client.get("/open311/v2/services/C0118.json?locale=en").get_json()
    validate(lamp, "service-definition.json")
    assert spark(client.get("/open311/v2/services/C0118.xml?locale=en").get_data()) == lamp
    codes = {a["code"]: a for a in lamp["attributes"]}
    assert set(codes) == {"urgency", "component"}
    assert [v["key"] for v in codes["urgency"]["values"]] == ["normal", "urgent"]
    assert codes["component"]["datatype"] == "string" and codes["urgency"]["datatype"] == "singlevaluelist"
    rubbish = client.get("/open311/v2/services/E0102.json").get_json()
    assert [a["code"] for a in rubbish["attributes"]] == ["urgency"]   # no component code for events
    for fmt in ("xml", "json"):
        assert "X9999" in check_error(client.get(f"/open311/v2/services/X9999.{fmt}?locale=en"), 404, fmt)


def test_a_request_posted_with_a_key_is_a_reported_case_on_the_stream(client, system, key):
    answer = post(client, api_key=key, service_code="E0102", description="路口垃圾堆积",
                  jurisdiction_id="", **INSIDE, **{"attribute[urgency]": "urgent"})
    assert answer.status_code == 200, answer.get_data()
    [created] = answer.get_json()
    case_id = created["service_request_id"]
    assert isinstance(case_id, str) and case_id.startswith("DC")
    state = system.stream.case_state(case_id)
    assert state["stage"] == "reported" and state["urgency"] == "urgent" and state["street"] == "110101001"
    [entry] = [fields for _, fields in system.stream.client.xrange(system.settings.stream)]
    body = json.loads(entry[b"body"])
    assert body["source"] == "app" and body["description"] == "路口垃圾堆积"
    assert body["intake"]["position"] == {"lon": 116.405, "lat": 39.9163, "crs": "WGS-84"}
    assert abs(body["lon"] - 116.4112) < 0.001 and abs(body["lat"] - 39.9177) < 0.001   # WGS-84 → GCJ-02
    # the command path's audit row, as for every report
    rows = system.engine.connect().exec_driver_sql("SELECT user_name, action, outcome, case_id FROM audit_log").all()
    assert ("fixmystreet", "report", "ok", case_id) in [tuple(r) for r in rows]
    # in XML too, and readable at once (before the worker has projected it)
    xml = post(client, "xml", api_key=key, service_code="C0118", **INSIDE)
    [again] = spark(xml.get_data())
    fresh = client.get(f"/open311/v2/requests/{again['service_request_id']}.json").get_json()
    validate(fresh, "requests.json")
    assert fresh[0]["status"] == "open" and fresh[0]["service_code"] == "C0118"


def test_a_point_outside_every_grid_is_accepted_and_marked(app, client, system, key):
    answer = post(client, "json", api_key=key, service_code="E0102", lat="31.2304", long="121.4737",
                  locale="en")   # Shanghai
    assert answer.status_code == 200
    [created] = answer.get_json()
    assert "outside every unit grid" in client.post("/open311/v2/requests.json?locale=en", data=dict(
        api_key=key, service_code="E0102", lat="39.95", long="116.30")).get_json()[0]["service_notice"]
    case_id = created["service_request_id"]
    state = system.stream.case_state(case_id)
    assert state["grid"] and state["stage"] == "reported"     # every case lies in a grid
    system.worker(consumer="t").drain()
    [request] = client.get(f"/open311/v2/requests/{case_id}.json?locale=en").get_json()
    assert (request["lat"], request["long"]) == (31.2304, 121.4737)   # the position as sent
    assert "outside every unit grid" in request["service_notice"]
    body = json.loads(system.engine.connect().exec_driver_sql(
        "SELECT body FROM case_events WHERE case_id = ?", (case_id,)).scalar())
    assert body["intake"]["outside"]["distance_m"] > 1_000_000
    # the work pages' case details say it too (the supervision centre decides whether to file it)
    from layouts.common import case_details
    queries = app.server.extensions["citygrid.services"].cases
    for lang, words in (("zh", "不在本区任何单元网格内"), ("en", "outside every unit grid")):
        shown = json.dumps(case_details(queries.case(case_id, lang), lang, queries, system.scenario.calendar.tz).to_plotly_json(),
                           cls=PlotlyJSONEncoder, ensure_ascii=False)
        assert words in shown and "intake-notice" in shown
    inside = post(client, "json", api_key=key, service_code="E0102", **INSIDE).get_json()[0]["service_request_id"]
    system.worker(consumer="t").drain()
    assert "intake-notice" not in json.dumps(case_details(queries.case(inside, "zh"), "zh", queries, system.scenario.calendar.tz)
                                             .to_plotly_json(), cls=PlotlyJSONEncoder)


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_every_error_is_the_spec_s_list(client, key, fmt):
    url = f"/open311/v2/requests.{fmt}"
    assert "api_key" in check_error(client.post(url, data={"service_code": "E0102", **INSIDE}), 403, fmt)
    assert check_error(client.post(url, data={"api_key": "not-a-key", "service_code": "E0102", **INSIDE}), 403, fmt)
    check_error(client.post(url, data={"api_key": key, **INSIDE}), 400, fmt)                       # no code
    check_error(client.post(url, data={"api_key": key, "service_code": "Z0000", **INSIDE}), 404, fmt)
    check_error(client.post(url, data={"api_key": key, "service_code": "E0102"}), 400, fmt)          # no location
    check_error(client.post(url, data={"api_key": key, "service_code": "E0102", "lat": "39.9"}), 400, fmt)
    check_error(client.post(url, data={"api_key": key, "service_code": "E0102", "lat": "1" * 400,
                                       "long": "116.4"}), 400, fmt)
    check_error(client.post(url, data={"api_key": key, "service_code": "E0102", "lat": "NaN",
                                       "long": "116.4"}), 400, fmt)
    check_error(client.post(url, data={"api_key": key, "service_code": "E0102", "description": "a\x00b",
                                       **INSIDE}), 400, fmt)
    check_error(client.post(url, data={"api_key": key, "service_code": "E0102", "attribute[urgency]": "soon",
                                       **INSIDE}), 400, fmt)
    check_error(client.post(url, data={"api_key": key, "service_code": "E0102", "attribute[colour]": "red",
                                       **INSIDE}), 400, fmt)
    check_error(client.post(url, data={"api_key": key, "service_code": "C0118",
                                       "attribute[component]": "1101010118999999", **INSIDE}), 400, fmt)
    check_error(client.post(url, data={"api_key": key, "service_code": "E0102", "jurisdiction_id": "nyc.gov",
                                       **INSIDE}), 404, fmt)
    check_error(client.post(url, json={"api_key": key, "service_code": "E0102"}), 400, fmt)       # not a form
    check_error(client.get(f"{url}?start_date=yesterday"), 400, fmt)
    check_error(client.get(f"{url}?start_date=2026-11-01"), 400, fmt)                               # no offset
    check_error(client.get(f"{url}?start_date=2026-01-01T00:00:00Z&end_date=2026-11-01T00:00:00Z"), 400, fmt)
    check_error(client.get(f"{url}?status=pending"), 400, fmt)
    check_error(client.get(f"{url}?service_code=nope"), 404, fmt)
    check_error(client.get(f"{url}?api_key=wrong"), 403, fmt)
    check_error(client.get(f"/open311/v2/requests/DC20261118999999.{fmt}"), 404, fmt)
    check_error(client.get(f"/open311/v2/tokens/unknown.{fmt}"), 404, fmt)
    check_error(client.get(f"/open311/v2/nothing/here.{fmt}"), 404, fmt)
    refused = client.delete(url)
    check_error(refused, 405, fmt)
    assert refused.headers["X-Content-Type-Options"] == "nosniff"     # the house's headers on rewritten errors too
    assert "default-src 'self'" in refused.headers["Content-Security-Policy"]
    check_error(client.post(url, data={"api_key": key, "description": "x" * 400_000}), 413, fmt)
    # nothing refused was appended; each refused POST with a key left its audit row
    assert client.application.extensions["citygrid"].stream.length() == 0
    check_error(client.get("/open311/v2/services.html"), 400, "xml")


def test_a_foreign_origin_and_the_rate_limit_answer_in_the_spec_s_form(system, key, tmp_path):
    from dashboard.web.factory import create_app, start
    from datasource.system import System
    limited = system.settings.model_copy(update={"open311_rate_limit": "2/minute"})
    app = start(create_app(limited, System(limited, clock=system.clock).start()))
    client = app.server.test_client()
    form = {"api_key": key, "service_code": "E0102", **INSIDE}
    check_error(client.post("/open311/v2/requests.json", data=form, headers={"Origin": "https://evil.example"}),
                403, "json")
    assert post(client, **form).status_code == 200
    assert post(client, **form).status_code == 200
    limited_answer = post(client, "xml", **form)
    check_error(limited_answer, 429, "xml")
    assert client.get("/open311/v2/services.json").status_code == 200    # GETs are not limited
    app.server.extensions["citygrid"].close()


def test_a_key_of_a_role_that_may_not_report_is_refused(client, system):
    accounts.add_user(system.engine, "lobby", "wall", "pw-open311-9")
    wall = accounts.create_token(system.engine, "lobby")
    assert "wall" in check_error(post(client, api_key=wall, service_code="E0102", locale="en", **INSIDE), 403, "json")
    assert client.get(f"/open311/v2/requests.json?api_key={wall}").status_code == 200   # reads as the public


def test_a_request_without_position_is_placed_by_a_known_name_in_its_address(client, system, key):
    placed = post(client, api_key=key, service_code="E0102", address_string="东华门街道 南池子大街口")
    assert placed.status_code == 200, placed.get_data()
    [created] = placed.get_json()
    assert "东华门街道" in created["service_notice"]
    assert system.stream.case_state(created["service_request_id"])["street"] == "110101001"
    check_error(post(client, api_key=key, service_code="E0102", address_string="1234 5th street"), 400, "json")
