"""The command API in-process over HTTP (the real app from ``create_app``), on real Redis and
both databases: the whole loop, reads, health, bad input that appends nothing, sessions
with CSRF, the OpenAPI document and the audit export.

Every answer of ``/api/v1`` in this module is checked against the served OpenAPI document
(:class:`DocumentedClient`): its status must be documented for the operation and its body must
match the documented schema — so a test about anything also tests the document."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
import redis as redis_lib
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

from dashboard.web.sessions import stamp
from datasource.services import accounts
from datasource.services import audit
from datasource.services.commands import CommandService
from dashboard.domain.permissions import ACTIONS
from dashboard.web.api_models import Error
from tests.components_data import seed_component
from tests.helpers import LAT, LON, TEST_NOW, required_query, worker_running
from tests.test_permissions import ADMIN, ROLES, prepare

ROLE_USERS = (("sup", "supervision", None), ("op", "operator", None), ("sani", "department", "sanitation"),
              ("adm", "admin", None), ("wall", "wall", None), ("boss", "leader", None))
UNKNOWN_CASE = "DC20990101000001"
#: operations whose every documented answer is driven in their own tests (multipart photos and
#: return visits need cases this generic driver cannot prepare): tests/test_evidence_api.py
DRIVEN_ELSEWHERE = {"attachPhotos", "recordVisit"}


# ---------------------------------------------------------------------------- the document as referee
def answer_problem(spec: dict, method: str, path: str, answer) -> str | None:
    """What is wrong with ``answer`` by the OpenAPI document (None: it is as documented)."""
    found = operation_of(spec, method, path)
    where = f"{method} {path} → {answer.status_code}"
    if found is None:  # not in the document: must be a JSON 404/405 error
        if answer.status_code not in (404, 405):
            return f"{where}: undocumented route answered"
        return schema_problem(spec, {"$ref": "#/components/schemas/Error"}, answer.get_json(silent=True), where)
    _, operation = found
    response = operation["responses"].get(str(answer.status_code))
    if response is None:
        return f"{where}: status not documented for {operation['operationId']}"
    content = response.get("content", {})
    if answer.mimetype not in content:
        return f"{where}: {answer.mimetype} not documented ({', '.join(content) or 'no body'})"
    if answer.mimetype == "application/json":
        return schema_problem(spec, content[answer.mimetype]["schema"], answer.get_json(silent=True), where)
    return None


def operation_of(spec: dict, method: str, path: str):
    """(path template, operation) of the document serving ``method path``, or None."""
    local = path.removeprefix(spec["servers"][0]["url"])
    for template, item in spec["paths"].items():
        if re.fullmatch(re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)), local) and method.lower() in item:
            return template, item[method.lower()]
    return None


def schema_problem(spec: dict, schema: dict, body, where: str) -> str | None:
    validator = Draft202012Validator({**schema, "components": spec["components"]},
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    return f"{where}: body {errors[0].message[:200]} at {list(errors[0].absolute_path)}" if errors else None


class DocumentedClient(FlaskClient):
    """Flask's test client that checks every ``/api/v1`` answer against the served document."""

    spec: dict
    problems: list[str]

    def open(self, *args, **kwargs):
        answer = super().open(*args, **kwargs)
        path = answer.request.path
        if path.startswith("/api/v1/") and hasattr(self, "spec"):
            problem = answer_problem(self.spec, answer.request.method, path, answer)
            if problem:
                self.problems.append(problem)
        return answer


@pytest.fixture
def client(app):
    """The checking client (overrides conftest's): a test fails if any answer strays from the document."""
    app.server.test_client_class = DocumentedClient
    checked = app.server.test_client()
    checked.problems = []
    checked.spec = checked.get("/api/v1/openapi.json").json
    yield checked
    assert checked.problems == []


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
    # nothing listens on port 1: the health probe (built on the system's client) finds Redis down
    system.__dict__["redis"] = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    answer = client.get("/api/v1/health")
    assert answer.status_code == 503
    assert answer.json["ok"] is False and answer.json["redis"]["ok"] is False and answer.json["database"]["ok"]
    assert answer.json["stale"] is True  # the wall's banner rule says the same


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
        Error.model_validate(body)  # the documented error body, nothing more or less (raises otherwise)
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
    assert "already dispatched by op at" in english.json["message"]


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
        stamp(session, user)   # a checkable session (dashboard/web/sessions.py)
        session["csrf_token"] = raw
    url = f"/api/v1/cases/{case_id}/dispatch"
    assert client.post(url, json={"department": "sanitation"}).status_code == 403
    assert client.post(url, json={"department": "sanitation"}, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert client.post(url, json={"department": "sanitation"}, headers={"X-CSRF-Token": other_token}).status_code == 403
    assert system.stream.case_state(case_id)["stage"] == "filed"
    assert client.get(f"/api/v1/cases/{case_id}").status_code == 200  # reads need no CSRF header
    answer = client.post(url, json={"department": "sanitation"}, headers={"X-CSRF-Token": token})
    assert answer.status_code == 200 and answer.json["after"] == "dispatched"


def test_openapi_document_is_valid_and_lists_every_route(app, client):
    spec = client.spec
    validate_openapi(spec)  # the real OpenAPI 3.1 validator (raises on any fault)
    served = set()
    for rule in app.server.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or "<path:" in rule.rule:
            continue
        template = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        templates = [template.replace("{action}", a) for a in ACTIONS if a != "report"] if "{action}" in template \
            else [template]
        served |= {(t, m.lower()) for t in templates for m in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert documented == served
    adapter = app.server.url_map.bind("localhost")
    for path, method in documented:  # and each one reaches its own view, not the JSON 404 catch-all
        endpoint, _ = adapter.match("/api/v1" + path.replace("{case_id}", UNKNOWN_CASE), method.upper())
        assert endpoint != "api_v1.unknown", (path, method)


def test_every_documented_answer_of_every_operation(system, client, tokens):
    """Each operation of the document, driven into each status it documents; the checking
    client validates every body against the documented schema."""
    service = CommandService(system)
    rejected = service.report(ADMIN, "E0102", LON, LAT, "for 409s").case_id
    service.reject(ADMIN, rejected, "无效")
    readable = filed_case(client, tokens)
    system.worker().drain()
    service.dispatch(ADMIN, readable, "sanitation")
    service.request(ADMIN, readable, "suspend", "等待")
    component = seed_component(system)   # for GET /components/{component} (issue 16)
    json_post = {"content_type": "application/json"}
    provoked = set()
    for path, item in client.spec["paths"].items():
        for method, operation in item.items():
            action = operation["operationId"]
            for status in ({} if action in DRIVEN_ELSEWHERE else operation["responses"]):
                headers, kw, url = tokens["admin"], {}, path
                case_id = readable
                if method == "post":
                    case_id, body = prepare(service, action)
                    kw = {"json": body}
                if status == "401" and path not in ("/health", "/openapi.json"):
                    headers = {}
                elif status == "403":
                    headers = tokens[next(r for r in ROLES if r not in operation["x-roles"] and r in tokens)]
                elif status == "400":
                    kw = {"json": {**kw["json"], "bogus": 1}} if method == "post" else \
                        {"query_string": {"limit": "x", "from": "x", "lang": "xx"}}   # bad size / date / language
                elif status == "404":
                    case_id = UNKNOWN_CASE
                    if action == "decline":
                        case_id = service.report(ADMIN, "E0102", LON, LAT, "no request").case_id
                elif status == "409":
                    case_id = rejected
                    if action == "report":  # wind the day's id counter back: the next id is taken
                        for key in system.stream.client.scan_iter(match=system.stream.prefix + "seq:*"):
                            system.stream.client.decr(key)
                elif status == "413":
                    kw = {"data": json.dumps({"note": "x" * 70_000}), **json_post}
                elif status == "415":
                    kw = {"data": "note=x", "content_type": "application/x-www-form-urlencoded"}
                elif status == "503":
                    system.__dict__["redis"] = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
                if path == "/audit" and status == "200":
                    kw = {"query_string": {"format": "csv"}}  # the CSV answer; JSON is asked for elsewhere
                if status != "400":   # the query parameters an operation requires, with real values
                    kw.setdefault("query_string", {}).update(required_query(operation))
                department = "no-such-department" if status == "404" else "sanitation"
                url = "/api/v1" + path.replace("{case_id}", case_id or "").replace("{code}", department) \
                    .replace("{component}", component if status != "404" else "1101010118999999")
                answer = getattr(client, method)(url, headers=headers, **kw)
                assert str(answer.status_code) == status, (method, url, status, answer.get_data(as_text=True)[:300])
                provoked.add((action, status))
                if status == "503":
                    del system.__dict__["redis"]
    documented = {(op["operationId"], st) for item in client.spec["paths"].values() for op in item.values()
                  for st in op["responses"] if op["operationId"] not in DRIVEN_ELSEWHERE}
    assert provoked == documented


def test_read_roles_are_as_documented(system, client, tokens):
    """Every role on every read: 200 if the operation's ``x-roles`` lists it, else 403."""
    case_id = filed_case(client, tokens)
    # dispatched to the department user's own department: a department reads its own cases only
    assert client.post(f"/api/v1/cases/{case_id}/dispatch", json={"department": "sanitation"},
                       headers=tokens["operator"]).status_code == 200
    system.worker().drain()
    component = seed_component(system)
    wrong = []
    for path, item in client.spec["paths"].items():
        operation = item.get("get")
        if not operation or "x-roles" not in operation:
            continue
        for role, headers in tokens.items():
            answer = client.get("/api/v1" + path.replace("{case_id}", case_id).replace("{code}", "sanitation")
                                .replace("{component}", component),
                                headers=headers, query_string=required_query(operation))
            if answer.status_code != (200 if role in operation["x-roles"] else 403):
                wrong.append(f"{role} {path}: {answer.status_code}")
    assert wrong == []


def test_documented_bodies_are_what_the_api_enforces(system, client, tokens):
    """For every command, from its schema in the document: a field it does not list is refused,
    each required field is required, each type, choice and length limit holds — refused with
    400 and nothing appended; and a body with every listed field is accepted."""
    spec, service = client.spec, CommandService(system)
    failures, checked = [], []
    for action in ACTIONS:
        path = "/cases" if action == "report" else f"/cases/{{case_id}}/{action}"
        ref = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
        case_id, valid = prepare(service, action)
        url = "/api/v1" + path.replace("{case_id}", case_id or "")
        wrong = {"extra field": ({**valid, "bogus": 1}, "unknown fields: bogus")} if \
            schema["additionalProperties"] is False else {}
        for name in schema.get("required", []):
            wrong[f"no {name}"] = ({k: v for k, v in valid.items() if k != name},
                                   OWN_WORDS.get(name, f"missing fields: {name}"))
        for name, prop in schema["properties"].items():
            options = [o for o in prop.get("anyOf", [prop]) if o.get("type") != "null"]
            kind = options[0]["type"]
            wrong[f"{name} as bool"] = ({**valid, name: True}, f"{name} must be {kind}")
            wrong[f"{name} as text"] = ({**valid, name: "1"}, f"{name} must be {kind}") if kind != "string" else \
                ({**valid, name: 1}, f"{name} must be string")
            if "enum" in options[0]:   # the scenario's codes (category, department) are "unknown …"
                wrong[f"{name} choice"] = ({**valid, name: "nonsense"}, f"{name} must be one of" if name not in
                                           ("category", "department") else f"unknown {name}")
            if "maxLength" in options[0]:
                wrong[f"{name} long"] = ({**valid, name: "x" * (options[0]["maxLength"] + 1)}, "longer than")
        checked.append(len(wrong))
        for what, (body, text) in wrong.items():
            length = system.stream.length()
            answer = client.post(url, json=body, headers=tokens["admin"])
            if answer.status_code != 400 or text not in answer.json["message"] or system.stream.length() != length:
                failures.append(f"{action} {what}: {answer.status_code} {answer.json}")
        full = {**{name: FULL[name] for name in schema["properties"] if name in FULL}, **valid}
        if "version" in full:
            full["version"] = int(system.stream.case_state(case_id)["version"])
        answer = client.post(url, json=full, headers=tokens["admin"])
        if answer.status_code not in (200, 201):
            failures.append(f"{action} with every field {full}: {answer.status_code} {answer.json}")
    assert failures == [] and sum(checked) > 100, checked


#: a required text the command service, too, refuses in its own words (api_models.OWN_WORDS)
OWN_WORDS = {"reason": "a reason is required", "note": "a handling note (note) is required"}
FULL = {"note": "全部字段", "reason": "原因", "description": "描述", "source": "app", "urgency": "urgent",
        "deadline": (TEST_NOW + timedelta(days=3)).isoformat(), "version": 0}


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
    table = list(csv.DictReader(io.StringIO(answer.get_data().decode("utf-8-sig"))))   # the admin's spreadsheet
    assert [r["操作"] for r in table] == ["结案", "立案", "上报"] and table[0]["结果"] == "被拒绝"


def test_csv_cells_cannot_become_formulas():
    text = audit.to_csv([{"id": 1, "user_name": "=HYPERLINK(\"http://x\")", "message": "+1", "action": "-x"}])
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["user_name"].startswith("'=") and row["message"] == "'+1" and row["action"] == "'-x"


def test_the_referee_catches_what_the_document_does_not_say(client):
    """The checking client is only worth what it refuses: an undocumented status, a body that
    misses a required field, a field of the wrong type, a route the document does not know."""
    from flask import Response

    def answer(body, status):
        return Response(json.dumps(body), status=status, mimetype="application/json")
    url = f"/api/v1/cases/{UNKNOWN_CASE}/dispatch"
    error = {"error": "conflict", "status": 409, "message": "x"}
    assert answer_problem(client.spec, "POST", url, answer(error, 409)) is None
    assert "not documented" in answer_problem(client.spec, "POST", url, answer(error, 418))
    assert "'message' is a required property" in answer_problem(
        client.spec, "POST", url, answer({"error": "conflict", "status": 409}, 409))
    assert "is not of type 'integer'" in answer_problem(client.spec, "POST", url, answer({**error, "status": "409"}, 409))
    assert "undocumented route" in answer_problem(client.spec, "GET", "/api/v1/elsewhere", answer({}, 200))


#: examples per operation and mode; with ~30 operations × 2 modes this stays well under a minute
EXAMPLES = 12


def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(system, app, client, tokens):
    """Schemathesis generates requests from the served document (valid ones, then invalid ones)
    for every operation, as an admin, against a real case; every answer must be no 5xx, with a
    documented status and a body of the documented shape.  Derandomized: the same examples on
    every run."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

    case_id = filed_case(client, tokens)
    system.worker().drain()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app.server)
    checks = [not_a_server_error, status_code_conformance, response_schema_conformance]
    # the WSGI transport does not undo Flask-Compress's gzip/brotli, so ask for plain bodies
    headers = {**tokens["admin"], "Accept-Encoding": "identity"}
    failures = []
    # a worker follows the stream as in production: on a slow machine the run outlasts the health's
    # "worker silent" limit, and /health would rightly answer 503 for a worker that is not there
    with worker_running(system):
        for result in schema.get_all_operations():
            operation = result.ok()
            fixed = {"case_id": case_id} if "{case_id}" in operation.path else None
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
                @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed))
                def call(case):
                    case.validate_response(case.call(headers=headers), checks=checks)
                try:
                    call()
                except Unsatisfiable:  # nothing to get wrong (no body, no parameters): no invalid request exists
                    assert mode is GenerationMode.NEGATIVE and not operation.body and not operation.query, \
                        operation.label
                except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report them all
                    failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert failures == [], "\n\n".join(failures)
