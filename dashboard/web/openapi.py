"""The OpenAPI 3 description of ``/api/v1``, built from the command service's own tables
(:data:`datasource.services.command_types.PARAMS` and :data:`dashboard.domain.permissions.PERMISSIONS`), so it cannot drift from the code."""
from __future__ import annotations

from dashboard.domain.permissions import ACTIONS, PERMISSIONS
from datasource.services.command_types import PARAMS

DESCRIPTIONS = {
    "report": "Report a new case (上报). Position in GCJ-02 lon/lat inside a unit grid.",
    "file": "File a reported case (立案).",
    "reject": "Reject a report (不予立案); `reason` required.",
    "dispatch": "Dispatch a filed case to a department (派遣). `deadline`: ISO 8601 with offset, in the future; "
                "default from the time-limit table.",
    "return": "Return a wrongly routed case (退回), by the department it was dispatched to; `reason` required.",
    "handle": "Report the case handled (处置), by the department it was dispatched to.",
    "verify": "On-site check (核查): `result` pass → verified, fail → rework (返工, `reason` required).",
    "close": "Close a verified case (结案).",
    "extend": "Move the current stage's deadline later (延期); `until` ISO 8601 with offset.",
    "suspend": "Suspend a case (挂账); `reason` required.",
    "resume": "Resume a suspended case in the stage it was suspended from.",
    "request": "A department asks for an extension (`kind`=extend, `until`) or a suspension (`kind`=suspend).",
    "decline": "Decline a pending extension/suspension request.",
}
ERRORS = {
    "400": "Bad input (malformed JSON, wrong types, unknown fields, unknown category/department, deadline in "
           "the past, missing reason …); nothing appended.",
    "401": "Not authenticated.",
    "403": "Role not allowed (or not your department's case, or missing CSRF header on a session request).",
    "404": "Unknown case.",
    "409": "Wrong stage, or somebody else acted first; the message names who and when.",
    "413": "Body larger than 64 KB.",
    "415": "Content-Type is not application/json.",
}


def _error_responses(codes) -> dict:
    return {code: {"description": ERRORS[code], "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/Error"}}}} for code in codes}


def _body_schema(action: str) -> dict:
    props = {}
    for name, (kind, _) in PARAMS[action].items():
        prop = {"type": kind}
        if name in ("deadline", "until"):
            prop.update(format="date-time", description="ISO 8601 with UTC offset, e.g. 2026-11-24T17:30:00+08:00")
        if name == "result":
            prop["enum"] = ["pass", "fail"]
        if name == "kind":
            prop["enum"] = ["extend", "suspend"]
        if name == "urgency":
            prop["enum"] = ["normal", "urgent"]
        if name == "version":
            prop["description"] = "expected version of the case (optimistic concurrency): 409 if it moved on"
        props[name] = prop
    required = [name for name, (_, req) in PARAMS[action].items() if req]
    schema = {"type": "object", "additionalProperties": False, "properties": props}
    if required:
        schema["required"] = required
    return schema


def build_spec() -> dict:
    paths: dict = {
        "/cases": {
            "post": {"summary": DESCRIPTIONS["report"], "operationId": "report",
                     "x-roles": list(PERMISSIONS["report"]) + ["admin"],
                     "requestBody": {"required": True, "content": {"application/json": {"schema": _body_schema("report")}}},
                     "responses": {"201": {"description": "Created; the new case id.", "content": {
                         "application/json": {"schema": {"$ref": "#/components/schemas/CommandResult"}}}},
                         **_error_responses(("400", "401", "403", "413", "415"))}},
            "get": {"summary": "Open cases in stages (?stage=filed&stage=dispatched&department=&limit=).",
                    "operationId": "listCases", "responses": {"200": {"description": "Cases, most pressing first."},
                                                              **_error_responses(("401", "403"))}},
        },
        "/cases/{case_id}": {"get": {
            "summary": "A case with its timeline (reporting DB) and the command side's stage and version.",
            "operationId": "getCase", "parameters": [{"$ref": "#/components/parameters/CaseId"}],
            "responses": {"200": {"description": "The case."}, **_error_responses(("401", "403", "404"))}}},
        "/cases/{case_id}/recommendation": {"get": {
            "summary": "Recommended department (routing, load, 30-day on-time rate) and deadline for dispatch.",
            "operationId": "getRecommendation", "parameters": [{"$ref": "#/components/parameters/CaseId"}],
            "responses": {"200": {"description": "Candidates, recommended first."},
                          **_error_responses(("401", "403", "404"))}}},
        "/stages": {"get": {"summary": "Number of cases per stage.", "operationId": "getStages",
                            "responses": {"200": {"description": "stage → count"}, **_error_responses(("401",))}}},
        "/requests": {"get": {"summary": "Pending extension/suspension requests.", "operationId": "getRequests",
                              "responses": {"200": {"description": "Requests."}, **_error_responses(("401", "403"))}}},
        "/health": {"get": {"summary": "Redis, database, worker lag (entries not yet processed by the consumer "
                                       "group), dead letters.", "operationId": "health", "security": [],
                            "responses": {"200": {"description": "Healthy."},
                                          "503": {"description": "Redis or the database is unreachable."}}}},
        "/audit": {"get": {"summary": "The audit log (admin); ?limit=&case_id=&user=&outcome=&action=&format=csv.",
                           "operationId": "getAudit", "responses": {"200": {"description": "Rows, newest first."},
                                                                    **_error_responses(("401", "403"))}}},
    }
    for action in ACTIONS:
        if action == "report":
            continue
        paths[f"/cases/{{case_id}}/{action}"] = {"post": {
            "summary": DESCRIPTIONS[action], "operationId": action,
            "x-roles": list(PERMISSIONS[action]) + ["admin"],
            "parameters": [{"$ref": "#/components/parameters/CaseId"}],
            "requestBody": {"required": any(req for _, req in PARAMS[action].values()),
                            "content": {"application/json": {"schema": _body_schema(action)}}},
            "responses": {"200": {"description": "Done.", "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/CommandResult"}}}},
                **_error_responses(("400", "401", "403", "404", "409", "413", "415"))}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "CityGrid Command Centre API", "version": "1",
                 "description": "Commands on cases of the six-stage loop (reported → filed → dispatched → handled → "
                                "verified → closed). Authenticate with `Authorization: Bearer TOKEN` (citygrid tokens "
                                "create NAME) or a browser session plus `X-CSRF-Token`. Error bodies carry a one-line "
                                "`message` (English, or Chinese with `?lang=zh` / `Accept-Language: zh`)."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "session": {"type": "apiKey", "in": "cookie", "name": "session"}},
            "parameters": {"CaseId": {"name": "case_id", "in": "path", "required": True,
                                      "schema": {"type": "string", "pattern": "^[A-Z]{2}[0-9]{14}$"},
                                      "example": "DC20261124000123"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error", "status", "message"], "properties": {
                    "error": {"type": "string"}, "status": {"type": "integer"}, "message": {"type": "string"},
                    "stage": {"type": "string", "nullable": True}}},
                "CommandResult": {"type": "object", "properties": {
                    "case_id": {"type": "string"}, "action": {"type": "string"},
                    "before": {"type": "string", "nullable": True}, "after": {"type": "string"},
                    "version": {"type": "integer"}, "entry_id": {"type": "string"},
                    "at": {"type": "string", "format": "date-time"}, "event": {"type": "string"},
                    "department": {"type": "string", "nullable": True},
                    "deadline": {"type": "string", "format": "date-time", "nullable": True}}},
            },
        },
    }
