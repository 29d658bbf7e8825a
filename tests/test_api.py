"""The command API in-process over HTTP (the real app from ``create_app``), on real Redis and
both databases: the whole loop, reads, health, bad input that appends nothing, sessions
with CSRF, the OpenAPI description and the audit export."""
from __future__ import annotations

import csv
import io
import json

import pytest
import redis as redis_lib

from datasource.services import accounts
from datasource.services import audit
from dashboard.domain.permissions import ACTIONS
from tests.helpers import LAT, LON

ROLE_USERS = (("sup", "supervision", None), ("op", "operator", None), ("sani", "department", "sanitation"),
              ("adm", "admin", None), ("wall", "wall", None))


@pytest.fixture
def tokens(system) -> dict[str, dict]:
    """A bearer header per role."""
    out = {}
    for name, role, department in ROLE_USERS:
        accounts.add_user(system.engine, name, role, "password-123", department)
        out[role] = {"Authorization": f"Bearer {accounts.create_token(system.engine, name)}"}
    return out


def post(client, url, headers, body=None, **kw):
    return client.post(url, json=body, headers=headers, **kw) if body is not None or "data" not in kw \
        else client.post(url, headers=headers, **kw)


def report(client, tokens, **overrides) -> str:
    body = {"category": "E0102", "lon": LON, "lat": LAT, "description": "路边垃圾堆积", "source": "hotline12345"}
    answer = client.post("/api/v1/cases", json={**body, **overrides}, headers=tokens["supervision"])
    assert answer.status_code == 201, answer.json
    return answer.json["case_id"]


def filed_case(client, tokens) -> str:
    case_id = report(client, tokens)
    assert client.post(f"/api/v1/cases/{case_id}/file", headers=tokens["supervision"]).status_code == 200
    return case_id


def test_the_whole_loop_over_http(system, client, tokens):
    drain = system.worker().drain
    # 1 reported: 201 with the new id and where to find it
    answer = client.post("/api/v1/cases", json={"category": "E0102", "lon": LON, "lat": LAT, "description": "垃圾",
                                                "source": "hotline12345", "urgency": "urgent"},
                         headers=tokens["supervision"])
    assert answer.status_code == 201
    case_id = answer.json["case_id"]
    assert answer.headers["Location"] == f"/api/v1/cases/{case_id}" and answer.json["after"] == "reported"
    drain()
    # 2 filed  3 dispatched (with version)  4 handled  5 verified  6 closed, the worker catching up in between
    steps = [("supervision", "file", {}), ("operator", "dispatch", {"department": "sanitation", "note": "尽快清运"}),
             ("department", "handle", {"note": "已清运"}), ("supervision", "verify", {"result": "pass"}),
             ("supervision", "close", {})]
    for role, action, body in steps:
        version = client.get(f"/api/v1/cases/{case_id}", headers=tokens["admin"]).json["command"]["version"]
        answer = client.post(f"/api/v1/cases/{case_id}/{action}", json={**body, "version": version},
                             headers=tokens[role])
        assert answer.status_code == 200, answer.json
        assert answer.json["version"] == version + 1
        drain()
    case = client.get(f"/api/v1/cases/{case_id}", headers=tokens["operator"]).json
    assert case["stage"] == "closed" and case["command"] == {**case["command"], "stage": "closed", "version": 6}
    assert [e["type"] for e in case["timeline"]] == ["reported", "filed", "dispatched", "handled", "verified", "closed"]
    assert case["timeline"][2]["body"] == {"department": "sanitation", "note": "尽快清运"}
    assert case["urgency"] == "urgent" and case["department_code"] == "sanitation"
    stages = client.get("/api/v1/stages", headers=tokens["wall"]).json
    assert stages["closed"] == 1 and stages["filed"] == 0
    health = client.get("/api/v1/health")
    assert health.status_code == 200
    assert health.json["worker"]["lag"] == 0 and health.json["dead_letters"] == 0
    assert health.json["redis"]["ok"] and health.json["database"]["ok"]


def test_reads_queue_recommendation_and_requests(system, client, tokens):
    case_id = filed_case(client, tokens)
    system.worker().drain()
    queue = client.get("/api/v1/cases?stage=filed", headers=tokens["operator"]).json
    assert [c["case_id"] for c in queue["cases"]] == [case_id] and queue["cases"][0]["light"] == "green"
    advice = client.get(f"/api/v1/cases/{case_id}/recommendation", headers=tokens["operator"]).json
    assert advice["department"] == "sanitation" and advice["candidates"][0]["recommended"]
    assert client.get(f"/api/v1/cases/{case_id}/recommendation", headers=tokens["wall"]).status_code == 403
    assert client.get("/api/v1/cases/DC20990101000001", headers=tokens["operator"]).status_code == 404
    client.post(f"/api/v1/cases/{case_id}/dispatch", json={"department": "sanitation"}, headers=tokens["operator"])
    answer = client.post(f"/api/v1/cases/{case_id}/request", json={"kind": "suspend", "reason": "等待审批"},
                         headers=tokens["department"])
    assert answer.status_code == 200
    assert [r["case_id"] for r in client.get("/api/v1/requests", headers=tokens["supervision"]).json["requests"]] == [case_id]


def test_health_is_503_when_redis_is_down(system, client):
    system.__dict__["redis"] = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    answer = client.get("/api/v1/health")
    assert answer.status_code == 503
    assert answer.json["ok"] is False and answer.json["redis"]["ok"] is False and answer.json["database"]["ok"]


def bad_requests(case_id: str, tokens) -> dict:
    op, sup = tokens["operator"], tokens["supervision"]
    url = f"/api/v1/cases/{case_id}"
    raw = {"content_type": "application/json"}
    return {
        "malformed JSON": ("post", f"{url}/dispatch", op, {"data": '{"department": ', **raw}, 400, "not valid JSON"),
        "not an object": ("post", f"{url}/dispatch", op, {"data": '["sanitation"]', **raw}, 400, "JSON object"),
        "NaN": ("post", "/api/v1/cases", sup, {"data": '{"category":"E0102","lon":NaN,"lat":39.9}', **raw}, 400,
                "not valid JSON"),
        "unknown field": ("post", f"{url}/dispatch", op, {"json": {"department": "sanitation", "dept": 1}}, 400,
                          "unknown fields: dept"),
        "wrong type": ("post", f"{url}/dispatch", op, {"json": {"department": 7}}, 400, "department must be string"),
        "lon as text": ("post", "/api/v1/cases", sup, {"json": {"category": "E0102", "lon": "116.4", "lat": LAT}}, 400,
                        "lon must be number"),
        "version as text": ("post", f"{url}/dispatch", op, {"json": {"department": "sanitation", "version": "2"}}, 400,
                            "version must be integer"),
        "missing field": ("post", f"{url}/dispatch", op, {"json": {}}, 400, "missing fields: department"),
        "oversized": ("post", f"{url}/dispatch", op, {"data": json.dumps({"note": "x" * 70_000}), **raw}, 413, "larger"),
        "huge": ("post", f"{url}/dispatch", op, {"data": "x" * 300_000, **raw}, 413, "larger"),
        "not JSON content": ("post", f"{url}/dispatch", op, {"data": "department=sanitation",
                                                              "content_type": "application/x-www-form-urlencoded"},
                             415, "application/json"),
        "unknown case": ("post", "/api/v1/cases/DC20990101000001/dispatch", op, {"json": {"department": "sanitation"}},
                         404, "unknown case"),
        "unknown action": ("post", f"{url}/explode", op, {"json": {}}, 404, "unknown action"),
        "wrong stage": ("post", f"{url}/close", sup, {"json": {}}, 409, "needs 'Verified'"),
        "unknown department": ("post", f"{url}/dispatch", op, {"json": {"department": "nobody"}}, 400,
                               "unknown department"),
        "deadline in the past": ("post", f"{url}/dispatch", op,
                                 {"json": {"department": "sanitation", "deadline": "2021-03-01T09:00:00+08:00"}}, 400,
                                 "in the past"),
        "missing reason": ("post", f"{url}/suspend", sup, {"json": {}}, 400, "reason is required"),
        "blank reason": ("post", f"{url}/suspend", sup, {"json": {"reason": "   "}}, 400, "reason is required"),
        "fail without reason": ("post", f"{url}/verify", sup, {"json": {"result": "fail"}}, 400, "reason is required"),
        "bad result": ("post", f"{url}/verify", sup, {"json": {"result": "maybe"}}, 400, "result must be one of"),
        "outside": ("post", "/api/v1/cases", sup, {"json": {"category": "E0102", "lon": 121.47, "lat": 31.23}}, 400,
                    "in no grid"),
        "no such endpoint": ("get", "/api/v1/nothing", op, {}, 404, "no such endpoint"),
        "wrong method": ("put", "/api/v1/cases", op, {}, 404, "no such endpoint"),
    }


def test_bad_requests_get_a_message_and_append_nothing(system, client, tokens):
    case_id = filed_case(client, tokens)
    failures = []
    for name, (method, url, headers, kw, status, text) in bad_requests(case_id, tokens).items():
        length = system.stream.length()
        answer = getattr(client, method)(url, headers=headers, **kw)
        body = answer.json or {}
        if answer.status_code != status or text not in body.get("message", "") or system.stream.length() != length:
            failures.append(f"{name}: {answer.status_code} {body} (stream {length} → {system.stream.length()})")
    assert failures == []


def test_messages_in_chinese_on_request(system, client, tokens):
    case_id = filed_case(client, tokens)
    client.post(f"/api/v1/cases/{case_id}/dispatch", json={"department": "sanitation"}, headers=tokens["operator"])
    again = client.post(f"/api/v1/cases/{case_id}/dispatch?lang=zh", json={"department": "sanitation"},
                        headers=tokens["operator"])
    assert again.status_code == 409 and again.json["error"] == "conflict"
    assert again.json["message"].startswith(f"案件 {case_id} 已被 op 于 ") and again.json["message"].endswith("派遣")
    english = client.post(f"/api/v1/cases/{case_id}/dispatch", json={"department": "sanitation"},
                          headers={**tokens["operator"], "Accept-Language": "en-GB"})
    assert f"already dispatched by op at" in english.json["message"]


def _session_csrf(app) -> tuple[str, str]:
    """A CSRF token as a page would hold it, and the raw value its session keeps."""
    from flask import session
    from flask_wtf.csrf import generate_csrf
    with app.server.test_request_context():
        token = generate_csrf()
        return token, session["csrf_token"]


def test_session_requests_need_the_csrf_header(system, app, client, tokens):
    case_id = filed_case(client, tokens)
    user = accounts.find_user(system.engine, "op")
    token, raw = _session_csrf(app)
    other_token, _ = _session_csrf(app)  # a token bound to another session
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"], session["csrf_token"] = str(user.id), True, raw
    url = f"/api/v1/cases/{case_id}/dispatch"
    assert client.post(url, json={"department": "sanitation"}).status_code == 403
    assert client.post(url, json={"department": "sanitation"}, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert client.post(url, json={"department": "sanitation"}, headers={"X-CSRF-Token": other_token}).status_code == 403
    assert system.stream.case_state(case_id)["stage"] == "filed"
    assert client.get(f"/api/v1/cases/{case_id}").status_code == 200  # reads need no CSRF header
    answer = client.post(url, json={"department": "sanitation"}, headers={"X-CSRF-Token": token})
    assert answer.status_code == 200 and answer.json["after"] == "dispatched"


def test_openapi_describes_every_action_and_field(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    for action in ACTIONS:
        path = "/cases" if action == "report" else f"/cases/{{case_id}}/{action}"
        operation = spec["paths"][path]["post"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert "403" in operation["responses"] and "400" in operation["responses"]
    for path in ("/cases/{case_id}", "/stages", "/health", "/audit", "/requests"):
        assert "get" in spec["paths"][path]


def test_audit_log_api_and_csv_export(system, client, tokens):
    case_id = filed_case(client, tokens)
    client.post(f"/api/v1/cases/{case_id}/close", json={}, headers=tokens["supervision"])  # refused: wrong stage
    rows = client.get(f"/api/v1/audit?case_id={case_id}", headers=tokens["admin"]).json["rows"]
    assert [(r["action"], r["outcome"]) for r in rows] == [("close", "refused"), ("file", "ok"), ("report", "ok")]
    assert rows[0]["remote_addr"] == "127.0.0.1" and rows[0]["before"] == "filed"
    assert client.get("/api/v1/audit", headers=tokens["supervision"]).status_code == 403
    assert client.get("/admin/audit.csv").status_code == 401
    assert client.get("/admin/audit.csv", headers=tokens["operator"]).status_code == 403
    answer = client.get(f"/admin/audit.csv?case_id={case_id}", headers=tokens["admin"])
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert [r["action"] for r in table] == ["close", "file", "report"] and table[0]["outcome"] == "refused"


def test_csv_cells_cannot_become_formulas():
    text = audit.to_csv([{"id": 1, "user_name": "=HYPERLINK(\"http://x\")", "message": "+1", "action": "-x"}])
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["user_name"].startswith("'=") and row["message"] == "'+1" and row["action"] == "'-x"
