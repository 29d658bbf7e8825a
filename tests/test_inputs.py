"""Inputs at the edge (issue 12, item 3): the domain's one rule set (:mod:`dashboard.domain.inputs`)
and every door that applies it — the command service (the pages' door), the API, the stream
gateway (inbox), the worker — on real Redis and both databases.

Each hole of the issue that concerns input has a test here that failed before the edge rules:
an OverflowError instead of a 400 (a year-1 deadline, a 400-digit longitude), a lone surrogate
that consumed the day's serial, a NUL byte that reached PostgreSQL, a NaN that made
``GET /api/v1/cases/{id}`` answer invalid JSON."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert

from dashboard.domain import inputs
from dashboard.domain.events import InvalidEvent, parse_entry
from dashboard.domain.inputs import InputRefused
from datasource.services import audit
from datasource.services.command_types import Actor, CommandRefused
from datasource.services.commands import CommandService
from datasource.services.inbox import Gateway, inbox_key, rejected_entries
from datasource.store import schema
from tests.helpers import LAT, LON, TEST_NOW, dead_reasons, event, publish
from tests.test_api import client, tokens  # noqa: F401 - fixtures: the document-checking client, a token per role

SUP = Actor("sup", "supervision", remote_addr="10.0.0.7")
OP = Actor("op", "operator", remote_addr="10.0.0.8")
YEAR_ONE = "0001-01-01T00:00:00+01:00"


# ---------------------------------------------------------------------------- the rules (pure)
def test_free_text_is_refused_when_unstorable_and_cleaned_otherwise():
    # refused: a NUL (PostgreSQL cannot store it), a lone surrogate (no UTF-8 store can), not text, too long
    for bad in ("a\x00b", "x\ud800", "\udfff", 12, ["a"]):
        with pytest.raises(InputRefused) as info:
            inputs.clean_text(bad, "note")
        assert info.value.key == "cmd.not_text"
    with pytest.raises(InputRefused) as info:
        inputs.clean_text("字" * 1001, "note", 1000)
    assert info.value.key == "cmd.too_long"
    with pytest.raises(InputRefused):
        inputs.clean_text("x" * 100_000, "note", 1000)
    with pytest.raises(InputRefused) as info:
        inputs.clean_text(" \x07 ", "reason", required=True)   # nothing left after cleaning
    assert info.value.key == "cmd.reason_missing"
    # cleaned: line ends, bell/escape/C1 controls, NFC, outer blanks; markup is kept as typed
    assert inputs.clean_text("  a\x07b\r\nc\rd\x1b[31m\x85e\t \n", "note") == "ab\nc\nd[31me"
    assert inputs.clean_text("Cafe\u0301", "note") == "Café"
    assert inputs.clean_text("<script>alert(1)</script>", "note") == "<script>alert(1)</script>"


def test_numbers_must_be_finite_floats_in_range():
    assert inputs.coordinates(116, 39.5) == (116.0, 39.5)
    for lon in (10 ** 400, float("nan"), float("inf"), True, "116.4", None, 400.0):
        with pytest.raises(InputRefused):
            inputs.coordinates(lon, 39.9)


def test_instants_have_an_offset_and_lie_in_a_sane_window():
    assert inputs.parse_instant("2026-11-24T17:30:00+08:00", "until").utcoffset() == timedelta(hours=8)
    for bad in (YEAR_ONE, "9999-12-31T23:59:59-01:00", "1999-12-31T23:00:00+00:00", "2100-01-01T00:00:00Z",
                "2026-11-24T17:30:00", "tomorrow", "", "2026-11-24T17:30:00+08:00\x00", 17):
        with pytest.raises(InputRefused):
            inputs.parse_instant(bad, "until")
    now = datetime(2026, 11, 24, tzinfo=timezone.utc)
    with pytest.raises(InputRefused):
        inputs.parse_instant("2029-01-01T00:00:00Z", "until", now, future=timedelta(days=731))


def test_json_values_are_finite_shallow_and_storable():
    inputs.check_json({"a": [1, 2.5, {"b": "好"}]})
    for bad in ({"x": float("nan")}, {"x": [float("inf")]}, {"x\x00": 1}, {"x": "\ud800"},
                json.loads("[" * 40 + "]" * 40) and {"deep": json.loads("[" * 40 + "]" * 40)}):
        with pytest.raises(InputRefused):
            inputs.check_json(bad)
    assert inputs.json_safe({"x": float("nan"), "y": ["a\x00\ud800"]}) == {"x": None, "y": ["a\ufffd"]}
    assert inputs.loggable("x\ud800\x00\x07y\n") == "x\ufffdy\n"


def test_a_nan_in_a_stream_body_is_an_invalid_event():
    fields = {"event_id": "e1", "case_id": "DC20261118000050", "type": "reported", "at": TEST_NOW.isoformat(),
              "actor": "x"}
    for body in ('{"category":"E0102","lon":116.4,"lat":39.9,"x":NaN}', '{"category":"E0102","lon":116.4,'
                 '"lat":39.9,"x":1e400}', '{"category":"E0102","lon":116.4,"lat":39.9,"x":[-Infinity]}'):
        with pytest.raises(InvalidEvent, match="NaN|finite"):
            parse_entry({**fields, "body": body}, now=TEST_NOW)


# ---------------------------------------------------------------------------- the pages' door: the service
@pytest.fixture
def service(system) -> CommandService:
    return CommandService(system)


def refused(call) -> CommandRefused:
    with pytest.raises(CommandRefused) as info:
        call()
    assert info.value.status == 400, info.value.message()
    return info.value


def test_a_refused_report_takes_no_case_number(system, service):
    """Before: a lone surrogate passed every check, took the day's serial, then failed to encode
    (UnicodeEncodeError → 500): case number …001 went missing."""
    refused(lambda: service.report(SUP, "E0102", LON, LAT, "x\ud800"))
    refused(lambda: service.report(SUP, "E0102", 10 ** 400, LAT, "a 400-digit longitude"))
    refused(lambda: service.report(SUP, "E0102", LON, LAT, "a\x00b"))
    first = service.report(SUP, "E0102", LON, LAT, "ok").case_id
    assert first.endswith("000001")


def test_a_year_one_deadline_is_a_400_not_an_overflow(system, service):
    case_id = service.report(SUP, "E0102", LON, LAT, "x").case_id
    service.file(SUP, case_id)
    assert "2000" in refused(lambda: service.dispatch(OP, case_id, "sanitation", YEAR_ONE)).message()
    service.dispatch(OP, case_id, "sanitation")
    refused(lambda: service.extend(SUP, case_id, YEAR_ONE))
    refused(lambda: service.request(Actor("a", "admin"), case_id, "extend", "x", YEAR_ONE))
    assert service.state(case_id)["stage"] == "dispatched"


def test_text_is_cleaned_the_same_for_every_door(system, service):
    case_id = service.report(SUP, "E0102", LON, LAT, "  垃圾\r\n满溢\x07 ").case_id
    service.file(SUP, case_id, note="a\x1b[2Jb")
    system.worker().drain()
    found = service.queries.case(case_id)
    assert found["description"] == "垃圾\n满溢"
    assert [e["body"].get("note") for e in found["timeline"] if e["type"] == "filed"] == ["a[2Jb"]


# ---------------------------------------------------------------------------- the API
def raw_post(client, url, headers, text: str):
    return client.post(url, data=text.encode(), content_type="application/json", headers=headers)


def test_api_refuses_what_no_store_can_hold_and_audits_it(system, client, tokens):
    body = '{"category":"E0102","lon":%s,"lat":%s,"description":"%s"}'
    before = audit.count(system.engine)
    for description in ("a\\u0000b", "x\\ud800", "\\udfff"):
        answer = raw_post(client, "/api/v1/cases", tokens["supervision"], body % (LON, LAT, description))
        assert answer.status_code == 400, answer.json
    answer = raw_post(client, "/api/v1/cases", tokens["supervision"],
                      '{"category":"E0102","lon":1%s,"lat":%s}' % ("0" * 400, LAT))
    assert answer.status_code == 400
    answer = raw_post(client, "/api/v1/cases", tokens["supervision"],
                      '{"category":"E0102","lon":NaN,"lat":%s}' % LAT)
    assert answer.status_code == 400
    assert audit.count(system.engine) == before + 5
    assert system.stream.client.xlen(system.stream.key) == 0
    ok = raw_post(client, "/api/v1/cases", tokens["supervision"], body % (LON, LAT, "ok"))
    assert ok.status_code == 201 and ok.json["case_id"].endswith("000001")
    case_id = ok.json["case_id"]
    assert client.post(f"/api/v1/cases/{case_id}/file", json={}, headers=tokens["supervision"]).status_code == 200
    answer = client.post(f"/api/v1/cases/{case_id}/dispatch", json={"department": "sanitation", "deadline": YEAR_ONE},
                         headers=tokens["operator"])
    assert answer.status_code == 400 and "2000" in answer.json["message"]


def test_a_nan_in_the_stream_never_reaches_an_answer(system, client, tokens):
    """Before: the worker stored a body holding NaN and GET /cases/{id} answered ``"x": NaN``
    (not JSON).  Now the worker dead-letters it with the reason, and a NaN already stored (by an
    older version) is answered as null."""
    case_id = "DC20261118000050"
    publish(system.stream, [event(case_id, "reported", TEST_NOW - timedelta(minutes=5), category="E0102",
                                  lon=LON, lat=LAT, description="nan", source="phone", x=float("nan"))])
    system.worker().drain()
    assert any("NaN" in reason for reason in dead_reasons(system.engine))
    answer = client.get(f"/api/v1/cases/{case_id}", headers=tokens["admin"])
    assert answer.status_code == 404
    # a good report, then a poisoned timeline row as an older version could have written it
    good = "DC20261118000051"
    publish(system.stream, [event(good, "reported", TEST_NOW - timedelta(minutes=5), category="E0102",
                                  lon=LON, lat=LAT, description="ok", source="phone")])
    system.worker().drain()
    with system.engine.begin() as c:
        c.execute(insert(schema.case_events).values(
            case_id=good, event_id="old-nan", type="filed", at=TEST_NOW, actor="old", body='{"note":NaN}',
            stream_id="1-0"))
    answer = client.get(f"/api/v1/cases/{good}", headers=tokens["admin"])
    assert answer.status_code == 200
    strict = json.loads(answer.get_data(as_text=True), parse_constant=lambda name: pytest.fail(f"{name} in JSON"))
    assert {"note": None} in [e["body"] for e in strict["timeline"]]


# ---------------------------------------------------------------------------- the stream gateway
def test_the_gateway_applies_the_same_rules(system):
    """Entries the API would refuse are refused at the inbox too, with the reason, and take no number."""
    gateway = Gateway(system, consumer="t")
    gateway.ensure_group()
    inbox = inbox_key(system.stream.key)
    at = (TEST_NOW - timedelta(minutes=1)).isoformat()
    bodies = {"nul": '{"category":"E0102","lon":%s,"lat":%s,"description":"a\\u0000b"}' % (LON, LAT),
              "surrogate": '{"category":"E0102","lon":%s,"lat":%s,"description":"x\\ud800"}' % (LON, LAT),
              "nan": '{"category":"E0102","lon":%s,"lat":%s,"x":NaN}' % (LON, LAT),
              "long": json.dumps({"category": "E0102", "lon": LON, "lat": LAT, "description": "长" * 2001})}
    for name, body in bodies.items():
        system.stream.client.xadd(inbox, {"event_id": name, "case_id": "", "type": "reported", "at": at,
                                          "actor": "hotline", "body": body})
    stats = gateway.drain()
    assert (stats.accepted, stats.refused) == (0, 4)
    reasons = {r["event_id"]: r["reason"] for r in rejected_entries(system.stream.client, system.stream.key)}
    assert "NUL" in reasons["nul"] and "surrogate" in reasons["surrogate"] and "NaN" in reasons["nan"]
    assert "2000" in reasons["long"]
    assert system.stream.client.get(f"{system.stream.prefix}seq:{TEST_NOW:%Y%m%d}") is None
