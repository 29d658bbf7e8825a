"""The OpenAPI 3.1 document of ``/api/v1``, generated from the pydantic models that check the
requests (:mod:`dashboard.web.api_models`) and from who may call what
(:data:`dashboard.domain.permissions.PERMISSIONS`, :data:`~dashboard.domain.permissions.READ_ACCESS`).

Every schema under ``components/schemas`` is a model's ``model_json_schema()`` (JSON Schema
2020-12, which OpenAPI 3.1 uses as is); nothing here restates a field.  The tests validate the
served document with ``openapi_spec_validator`` and call every operation it lists against the
real app, checking each answer against the documented response.
"""
from __future__ import annotations

import copy
from functools import cache

from pydantic.json_schema import models_json_schema

from dashboard.web.api_components import OPENAPI_PATHS as COMPONENT_PATHS
from dashboard.web.api_evidence import OPENAPI_PATHS as EVIDENCE_PATHS
from dashboard.web.api_regions import OPENAPI_PATHS as REGION_PATHS
from dashboard.web.api_reports import openapi_paths
from dashboard.domain.permissions import ACTIONS, PERMISSIONS, READ_ACCESS, ROLES
from dashboard.web import api_models as m

REF = "#/components/schemas/{model}"
ERRORS = {
    "400": "Bad input (malformed JSON, wrong types, unknown fields, unknown category/department, deadline in "
           "the past, missing reason …); nothing appended.",
    "401": "Not authenticated.",
    "403": "Role not allowed (or not your department's case, or missing CSRF header on a session request).",
    "404": "Unknown case (or no pending request, for decline).",
    "409": "Wrong stage, or somebody else acted first; the message names who and when.",
    "413": f"Body larger than {m.MAX_BODY // 1024} KB.",
    "415": "Content-Type is not application/json.",
}
#: documented answers (every model in the document, requests and answers alike)
ANSWERS = (m.Error, m.CommandResult, m.RequestEntry, m.Declined, m.Case, m.CaseList, m.Recommendation,
           m.StageCounts, m.RequestList, m.Health, m.AuditList)
READ = [{"bearer": []}, {"session": []}]
WRITE = [{"bearer": []}, {"session": [], "csrf": []}]  # a session's POST needs the page's CSRF token too
CASE_ID = {"$ref": "#/components/parameters/CaseId"}
LANG = {"$ref": "#/components/parameters/Lang"}


def _ref(model) -> dict:
    return {"$ref": REF.format(model=model.__name__)}


def _json(model, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _errors(*codes: str) -> dict:
    return {code: _json(m.Error, ERRORS[code]) for code in codes}


def _doc(model) -> tuple[str, str]:
    """A model's docstring as an operation's summary (first line) and description."""
    text = " ".join((model.__doc__ or "").split())
    return text.split(". ")[0].rstrip("."), text


def _roles(roles) -> dict:
    """The roles allowed, machine-readable (``x-roles``) and in words."""
    allowed = list(dict.fromkeys([*roles, "admin"]))
    return {"x-roles": allowed, "description": "Roles: " + ", ".join(allowed) + "."}


def _query_parameters(model) -> list[dict]:
    """One OpenAPI query parameter per field of a query model (its schema from the model)."""
    schema = model.model_json_schema()
    out = []
    for name, prop in schema["properties"].items():
        # a query parameter is absent or text, never JSON null: keep the non-null branch
        options = [o for o in prop.get("anyOf", []) if o.get("type") != "null"]
        if len(options) == 1:
            prop = {**options[0], **{k: v for k, v in prop.items() if k not in ("anyOf", "default")}}
        prop = {k: v for k, v in prop.items() if k not in ("title", "description") and v is not None}
        out.append({"name": name, "in": "query", "required": False, "schema": prop,
                    "description": model.model_fields[name].description or name})
    return out


def _command(action: str) -> dict:
    """The POST operation of one command."""
    body = m.BODIES[action]
    summary, description = _doc(body)
    roles = _roles(PERMISSIONS[action])
    answer = {"request": (m.RequestEntry, "The request, pending."),
              "decline": (m.Declined, "Declined; the case goes on as before.")}.get(action)
    if action == "report":
        ok = {"201": {**_json(m.CommandResult, "Created; the new case id."), "links": _links(action),
                      "headers": {"Location": {"description": "/api/v1/cases/{case_id}",
                                               "schema": {"type": "string"}}}}}
        codes = ("400", "401", "403", "409", "413", "415")
    else:
        ok = {"200": {**_json(*(answer or (m.CommandResult, "Done."))), "links": _links(action)}}
        # decline answers a pending request, not a stage: nothing it does can conflict
        codes = ("400", "401", "403", "404", *(() if action == "decline" else ("409",)), "413", "415")
    required = any(f.is_required() for f in body.model_fields.values())
    return {
        "summary": summary, "description": f"{description}\n\n{roles['description']}", "operationId": action,
        "x-roles": roles["x-roles"], "security": WRITE,
        "parameters": ([] if action == "report" else [CASE_ID]) + [LANG],
        "requestBody": {"required": required, "content": {"application/json": {"schema": _ref(body)}}},
        "responses": {**ok, **_errors(*codes)},
    }


#: what a program may do next with a case an answer names (OpenAPI response ``links``): a client —
#: or Schemathesis's stateful phase — follows the six-stage loop from the report on, with the
#: evidence photos of each phase and the return visit after closure (:mod:`dashboard.web.api_evidence`)
NEXT: dict[str, tuple[str, ...]] = {
    "report": ("getCase", "file", "reject", "attachPhotos"),
    "file": ("getCase", "getRecommendation", "dispatch", "suspend", "attachPhotos"),
    "dispatch": ("getCase", "handle", "return", "request", "extend", "suspend", "attachPhotos"),
    "return": ("getCase", "dispatch"),
    "handle": ("getCase", "verify", "attachPhotos"),
    "verify": ("getCase", "close", "handle"),
    "close": ("getCase", "recordVisit"),
    "extend": ("getCase", "handle"),
    "suspend": ("getCase", "resume"),
    "resume": ("getCase", "handle", "dispatch"),
    "request": ("decline", "extend", "suspend"),
    "decline": ("getCase", "handle"),
    "reject": ("getCase",),
}


def _links(action: str) -> dict:
    """The response links of a command's success: the operations that take its ``case_id`` next."""
    return {f"{action}_{target}": {"operationId": target, "parameters": {"case_id": "$response.body#/case_id"},
                                   "description": f"{target} the same case"} for target in NEXT[action]}


def _read(operation: str, summary: str, answer: dict, codes=("401", "403"), parameters=()) -> dict:
    """A GET operation callable by :data:`~dashboard.domain.permissions.READ_ACCESS` ``[operation]``."""
    roles = _roles(READ_ACCESS[operation])
    if set(roles["x-roles"]) >= set(ROLES):  # every role may: no 403 to document
        codes = tuple(code for code in codes if code != "403")
    return {"summary": summary, "description": f"{summary}\n\n{roles['description']}", "operationId": operation,
            "x-roles": roles["x-roles"], "security": READ, "parameters": [*parameters, LANG],
            "responses": {"200": answer, **_errors(*codes)}}


def _paths() -> dict:
    audit_csv = {"description": "Rows, newest first.", "content": {
        "application/json": {"schema": _ref(m.AuditList)},
        "text/csv": {"schema": {"type": "string", "description": "cells that could start a formula are quoted"}}}}
    paths: dict = {
        "/cases": {
            "post": _command("report"),
            "get": _read("listCases", "Open cases in stages, most pressing first",
                         _json(m.CaseList, "Cases, most urgent and most overdue first."), ("400", "401", "403"),
                         _query_parameters(m.CaseListQuery)),
        },
        "/cases/{case_id}": {"get": _read(
            "getCase", "A case with its timeline (reporting DB) and the command side's stage and version",
            _json(m.Case, "The case."), ("401", "403", "404"), [CASE_ID])},
        "/cases/{case_id}/recommendation": {"get": _read(
            "getRecommendation", "Recommended department (routing, load, 30-day on-time rate) and deadline",
            _json(m.Recommendation, "Candidates, recommended first."), ("401", "403", "404"), [CASE_ID])},
        "/stages": {"get": _read("getStages", "Number of cases per stage", _json(m.StageCounts, "stage → count"))},
        "/requests": {"get": _read("getRequests", "Pending extension/suspension requests",
                                   _json(m.RequestList, "Requests, oldest first (a department sees its own)."))},
        "/audit": {"get": _read("getAudit", "The audit log", audit_csv, ("400", "401", "403"),
                                _query_parameters(m.AuditQuery))},
        "/health": {"get": {
            "summary": "Redis, database, worker lag, dead letters", "description": m.Health.__doc__,
            "operationId": "health", "security": [],
            "responses": {"200": _json(m.Health, "Redis and the database answer."),
                          "503": _json(m.Health, "Redis or the database is unreachable.")}}},
        "/openapi.json": {"get": {
            "summary": "This document", "operationId": "openapi", "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1", "content": {
                "application/json": {"schema": {"type": "object"}}}}}}},
    }
    for action in ACTIONS:
        if action != "report":
            paths[f"/cases/{{case_id}}/{action}"] = {"post": _command(action)}
    return paths


def _harden(document: dict) -> dict:
    """Two rules true of every operation, stated where each operation is described:
    an empty query parameter counts as not given (so ``?to=`` is documented as allowed), and a
    ``lang`` other than ``en``/``zh`` is a 400 (so every operation documents its 400)."""
    lang_error = {"description": "Bad input (e.g. `lang` not en/zh).", "content": {
        "application/json": {"schema": _ref(m.Error)}}}
    for item in document["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and not parameter.get("required") and "schema" in parameter:
                    parameter["schema"] = {"anyOf": [parameter["schema"], {"type": "string", "maxLength": 0}]}
            if LANG in operation.get("parameters", []) or any(
                    p.get("name") == "lang" for p in operation.get("parameters", [])):
                operation["responses"].setdefault("400", lang_error)
    return document


@cache
def _document() -> dict:
    models = [(model, "validation") for model in (*m.BODIES.values(), *ANSWERS)]
    _, top = models_json_schema(models, ref_template=REF)
    return _harden({
        "openapi": "3.1.0",
        "info": {"title": "CityGrid Command Centre API", "version": "1",
                 "description": "Commands on cases of the six-stage loop (reported → filed → dispatched → handled → "
                                "verified → closed). Authenticate with `Authorization: Bearer TOKEN` (citygrid tokens "
                                "create NAME) or a browser session plus `X-CSRF-Token`. Error bodies carry a one-line "
                                "`message` (English, or Chinese with `?lang=zh` / `Accept-Language: zh`). A user "
                                "scoped to a street or community (a sub-centre) acts on and reads that area only: "
                                "another area's case, region or grid answers 403; lists and figures cover the area."},
        "servers": [{"url": "/api/v1"}],
        "security": READ,
        "paths": {**_paths(), **openapi_paths(), **REGION_PATHS, **COMPONENT_PATHS, **EVIDENCE_PATHS},
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "citygrid tokens create NAME"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session",
                            "description": "the browser session after logging in"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token",
                         "description": "the page's CSRF token; needed with the session cookie on POST"}},
            "parameters": {
                "CaseId": {"name": "case_id", "in": "path", "required": True,
                           "schema": {"type": "string", "pattern": "^[A-Z]{2}[0-9]{14}$"},
                           "example": "DC20261124000123"},
                "Lang": {"name": "lang", "in": "query", "required": False,
                         "schema": {"anyOf": [{"enum": ["en", "zh"]}, {"type": "string", "maxLength": 0}]},
                         "description": "language of `message` (default: Accept-Language, else English)"}},
            "schemas": top["$defs"],
        },
    })


def build_spec(scenario=None, bbox=None) -> dict:
    """The OpenAPI document (a copy: built once, the caller may change its own).

    Given the running ``scenario`` (and the district's ``bbox``), the document states the real
    constraints the service enforces on its data: the category and department codes it knows
    (enums, grid codes too) and the district's longitude/latitude range — so a generated request can reach the
    logic instead of failing on an unknown code."""
    document = copy.deepcopy(_document())
    if scenario is not None:
        schemas = document["components"]["schemas"]
        schemas["ReportBody"]["properties"]["category"]["enum"] = sorted(scenario.categories)
        schemas["DispatchBody"]["properties"]["department"]["enum"] = sorted(scenario.departments)
        grids = sorted(f["properties"]["code"] for f in scenario.grids_geojson["features"])
        for item in document["paths"].values():
            for parameter in item.get("get", {}).get("parameters", []):
                if isinstance(parameter, dict) and parameter.get("name") == "grid" and parameter.get("required"):
                    parameter["schema"] = {"type": "string", "enum": grids}
        if bbox is not None:
            west, south, east, north = bbox
            report = schemas["ReportBody"]["properties"]
            report["lon"].update(minimum=west, maximum=east)
            report["lat"].update(minimum=south, maximum=north)
    return document
