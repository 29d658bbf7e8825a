"""Reading requests back through Open311 (in-process, SQLite and PostgreSQL): by ids, by service
code, status and date window (the spec's 90-day default), the field mapping, what the public
and what a department's key may see, photos, and tokens."""
from __future__ import annotations

import io
import json
import uuid
from datetime import timedelta

import pytest
from PIL import Image

from datasource.services import accounts
from datasource.services.command_types import Actor
from datasource.services.inbox import Gateway
from tests.open311_client import check_error, spark, validate

INSIDE = {"lat": "39.9163", "long": "116.4050"}
SUP = Actor("sup", "supervision")
OP = Actor("op", "operator")
SANITATION = Actor("sani", "department", "sanitation")


@pytest.fixture
def keys(system):
    """API keys: a reporting account (supervision), two departments and an operator."""
    out = {}
    for name, role, department in (("fms", "supervision", None), ("sani", "department", "sanitation"),
                                   ("roads", "department", "roads"), ("op", "operator", None)):
        accounts.add_user(system.engine, name, role, "pw-open311-9", department)
        out[name] = accounts.create_token(system.engine, name)
    return out


def create(client, key, code="E0102", **extra) -> str:
    answer = client.post("/open311/v2/requests.json", data={"api_key": key, "service_code": code, **INSIDE, **extra})
    assert answer.status_code == 200, answer.get_data()
    return answer.get_json()[0]["service_request_id"]


def ids(client, headers=None, **query) -> list[str]:
    answer = client.get("/open311/v2/requests.json", query_string=query, headers=headers or {})
    assert answer.status_code == 200, answer.get_data()
    validate(answer.get_json(), "requests.json")
    return [r["service_request_id"] for r in answer.get_json()]


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def test_requests_by_id_code_status_and_window_with_the_loop_s_fields(client, system, clock, keys):
    services = client.application.extensions["citygrid.services"]
    commands = services.commands
    clock.advance(days=-100)
    old = create(client, keys["fms"], description="一百天前")
    clock.advance(days=100)
    a = create(client, keys["fms"], description="暴露垃圾")
    clock.advance(minutes=1)
    b = create(client, keys["fms"], "C0118", description="路灯不亮")
    clock.advance(minutes=1)
    c = create(client, keys["fms"], description="垃圾堆积")
    staff = commands.report(SUP, "E0102", 116.4112, 39.9177, "巡查员：张三家门口垃圾", "inspector").case_id
    # b is not filed; c goes round the loop with notes, a photo of the report first
    commands.reject(SUP, b, "重复上报，已合并")
    services.evidence.attach(SUP, c, [("before.png", png())])
    commands.file(SUP, c)
    commands.dispatch(OP, c, "sanitation", note="今天下班前处理")
    clock.advance(hours=2)
    commands.handle(SANITATION, c, note="已清运")
    commands.verify(SUP, c, "pass")
    clock.advance(minutes=30)
    commands.close(SUP, c)
    assert system.worker(consumer="t").drain().dead == 0

    # the default window: the last 90 days, newest first; the 100-day-old one is outside it
    assert ids(client) == [staff, c, b, a]
    assert ids(client, service_request_id=f"{old},{a}", status="closed") == [a, old]   # ids override the rest
    assert ids(client, service_code="E0102") == [staff, c, a]
    assert ids(client, service_code="C0118,E0102", status="closed") == [c, b]
    assert ids(client, status="open") == [staff, a]
    assert ids(client, status="open,closed", jurisdiction_id="") == [staff, c, b, a]
    now = clock()
    start = (now - timedelta(days=101)).astimezone(system.scenario.calendar.tz).isoformat()
    assert ids(client, start_date=start) == [old]                                  # start + 90 days
    assert ids(client, start_date=start, end_date=(now - timedelta(days=99)).isoformat()) == [old]
    utc_end = (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(client, end_date=utc_end) == [staff, c, b, a]                        # w3 'Z' form
    check_error(client.get("/open311/v2/requests.json", query_string={"start_date": start,
                                                                       "end_date": now.isoformat()}), 400, "json")

    # the public's view of the closed case: status, times, agency; a sentence, not the staff's notes
    [public] = client.get(f"/open311/v2/requests/{c}.json").get_json()
    validate([public], "requests.json")
    assert public["status"] == "closed" and public["status_notes"] == "已结案"
    assert public["agency_responsible"] == "区城市管理委员会环卫中心"
    assert public["updated_datetime"] > public["requested_datetime"]
    assert public["updated_datetime"].endswith("+08:00") and public["expected_datetime"] is None
    assert (public["lat"], public["long"]) == (39.9163, 116.405) and public["media_url"] is None
    assert public["description"] == "垃圾堆积"                                   # the public's own words
    [rejected] = client.get(f"/open311/v2/requests/{b}.json?locale=en").get_json()
    assert (rejected["status"], rejected["status_notes"]) == ("closed", "Not filed as a case")
    [inspector] = client.get(f"/open311/v2/requests/{staff}.json").get_json()
    assert inspector["description"] is None and inspector["status"] == "open"     # staff text stays inside
    assert abs(inspector["lat"] - 39.9163) < 1e-4                                 # GCJ-02 back to WGS-84
    # the XML of a list says the same
    assert spark(client.get("/open311/v2/requests.xml").get_data()) == client.get(
        "/open311/v2/requests.json").get_json()

    # a department's key: its own cases only, with the people's notes and the photo
    mine = {"Authorization": f"Bearer {keys['sani']}"}
    assert ids(client, mine) == [c]
    [full] = client.get(f"/open311/v2/requests/{c}.json?api_key={keys['sani']}").get_json()
    assert full["status_notes"] == "已清运"                                     # the newest note
    assert full["media_url"].startswith("http://localhost/evidence/" + c + "/")
    photo = client.get(full["media_url"].removeprefix("http://localhost"), headers=mine)
    assert photo.status_code == 200 and photo.headers["Content-Type"] == "image/png"
    check_error(client.get(f"/open311/v2/requests/{a}.json?api_key={keys['sani']}"), 403, "json")
    assert ids(client, api_key=keys["roads"]) == []
    check_error(client.get(f"/open311/v2/requests/{c}.xml?api_key={keys['roads']}"), 403, "xml")
    # the district's operator reads everything, notes included
    [seen] = client.get(f"/open311/v2/requests/{b}.json?api_key={keys['op']}").get_json()
    assert seen["status_notes"] == "重复上报，已合并"
    assert ids(client, api_key=keys["op"]) == [staff, c, b, a]


def test_open_requests_expect_the_current_deadline_and_name_the_agency(client, system, clock, keys):
    commands = client.application.extensions["citygrid.services"].commands
    case_id = create(client, keys["fms"])
    commands.file(SUP, case_id)
    result = commands.dispatch(OP, case_id, "sanitation")
    system.worker(consumer="t").drain()
    [request] = client.get(f"/open311/v2/requests/{case_id}.json?locale=en").get_json()
    assert request["status"] == "open" and request["agency_responsible"] == "Sanitation centre"
    assert request["status_notes"] == "Dispatched to Sanitation centre"
    from datetime import datetime
    assert datetime.fromisoformat(request["expected_datetime"]) == datetime.fromisoformat(result.deadline)


def test_a_token_names_its_request(client, system, keys):
    case_id = create(client, keys["fms"])
    system.worker(consumer="t").drain()
    event_id = system.engine.connect().exec_driver_sql(
        "SELECT event_id FROM case_events WHERE case_id = '%s' AND type = 'reported'" % case_id).scalar()
    for fmt in ("json", "xml"):
        answer = client.get(f"/open311/v2/tokens/{event_id}.{fmt}")
        data = answer.get_json() if fmt == "json" else spark(answer.get_data())
        assert data == [{"service_request_id": case_id, "token": event_id}]
    # another system's report through the inbox: its event id is its token, the gateway assigns the id
    token = uuid.uuid4().hex
    check_error(client.get(f"/open311/v2/tokens/{token}.json"), 404, "json")
    system.redis.xadd(system.stream.key + ":inbox", {
        "event_id": token, "case_id": "", "type": "reported", "at": system.now().isoformat(), "actor": "12345",
        "body": json.dumps({"category": "E0102", "lon": 116.4112, "lat": 39.9177, "description": "热线转来",
                            "source": "hotline12345", "urgency": "normal"})})
    assert Gateway(system).drain().accepted == 1
    [named] = client.get(f"/open311/v2/tokens/{token}.json").get_json()
    assert named["token"] == token and system.stream.case_state(named["service_request_id"])["stage"] == "reported"
    # ids and tokens that no database could hold are simply not found
    for path in ("requests/DC2026%00.json", "tokens/a%00b.json", "requests/%ED%A0%80.xml", "tokens/" + "x" * 300 + ".json"):
        check_error(client.get("/open311/v2/" + path), 404, "json" if path.endswith("json") else "xml")


def test_a_sub_centre_s_key_reads_its_own_area_only(client, system, keys):
    case_id = create(client, keys["fms"])                       # in 东华门街道 (110101001)
    system.worker(consumer="t").drain()
    for name, scope in (("jingshan", "110101002"), ("donghuamen", "110101001")):
        accounts.add_user(system.engine, name, "operator", "pw-open311-9", scope=scope)
        keys[name] = accounts.create_token(system.engine, name)
    assert ids(client, api_key=keys["jingshan"]) == []
    check_error(client.get(f"/open311/v2/requests/{case_id}.json", query_string={"api_key": keys["jingshan"]}),
                403, "json")
    assert ids(client, api_key=keys["donghuamen"]) == [case_id]
    assert ids(client) == [case_id]                              # the public sees every case
