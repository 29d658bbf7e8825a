"""The command API under ``/api/v1`` (JSON), and the audit-log export for admins.

Requests authenticate with ``Authorization: Bearer TOKEN`` (tokens from ``citygrid tokens
create``) or with the browser session; a session's POST must carry the page's CSRF token
in ``X-CSRF-Token``.  Every command goes through :class:`datasource.services.commands.CommandService`,
so the API, the pages and the tests share one set of rules; the API only turns HTTP into
calls and :class:`CommandRefused` into status codes.  Bodies and queries are checked by the
pydantic models of :mod:`dashboard.web.api_models`, from which :mod:`dashboard.web.openapi`
builds the OpenAPI document.
"""
from __future__ import annotations

import json

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from dashboard.domain.codes import is_case_id
from dashboard.domain.inputs import InputRefused, check_json, reject_constant
from dashboard.domain.permissions import ACTIONS, may
from datasource.services import audit
from datasource.services.cases import jsonable
from datasource.services.command_types import Actor, CommandRefused, CommandResult, Msg
from dashboard.web.api_access import ApiError, app_services, error_response, reader, request_lang, write_caller
from dashboard.web.api_models import (MAX_BODY, AuditQuery, CaseListQuery, InvalidInput, parse_body,
                                      parse_query)
from dashboard.web.openapi import build_spec

api = Blueprint("api_v1", __name__, url_prefix="/api/v1")


# ---------------------------------------------------------------------------- plumbing
def _params(action: str) -> dict:
    """The command's arguments from the JSON body: size, syntax, then its model (types, fields)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, Msg("api.too_large", limit=MAX_BODY))
    try:
        data = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise ApiError(413, Msg("api.too_large", limit=MAX_BODY)) from None
    if len(data) > MAX_BODY:
        raise ApiError(413, Msg("api.too_large", limit=MAX_BODY))
    if not data.strip():
        body = {}
    else:
        if request.mimetype != "application/json":
            raise ApiError(415, Msg("api.content_type"))
        try:
            body = json.loads(data.decode("utf-8"), parse_constant=reject_constant)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            reason = getattr(exc, "msg", None) or str(exc)
            raise ApiError(400, Msg("api.bad_json", reason=str(reason)[:120])) from None
    if not isinstance(body, dict):
        raise ApiError(400, Msg("api.not_object"))
    try:  # the domain's edge rule: "\ud800" or a NUL is valid JSON syntax but no text any store can hold
        check_json(body)
    except InputRefused as exc:
        raise ApiError(400, Msg("api.bad_json", reason=str(exc)[:120])) from None
    try:
        return parse_body(action, body)
    except InvalidInput as exc:
        raise ApiError(400, exc.msg) from None


def _actor(user) -> Actor:
    return Actor.of(user, request.remote_addr)


def _command(action: str, case_id: str | None):
    """Authenticate, check the role, parse the body, run the command, answer."""
    services = app_services()
    try:
        user = write_caller(action, case_id)
    except ApiError as exc:
        return error_response(exc.status, exc.msg, exc.error)
    actor = _actor(user)
    commands = services.commands
    try:
        if not may(actor.role, action):
            raise commands.refuse_input(actor, action, case_id, 403, Msg("cmd.forbidden", role=actor.role,
                                                                          action=Msg(f"action.{action}")))
        try:
            params = _params(action)
        except ApiError as exc:
            commands.refuse_input(actor, action, case_id, exc.status, exc.msg)
            return error_response(exc.status, exc.msg, exc.error)
        result = commands.execute(actor, action, case_id, params)
    except CommandRefused as exc:
        error = {400: "bad_request", 403: "forbidden", 404: "not_found", 409: "conflict"}.get(exc.status, "error")
        return error_response(exc.status, exc.msg, error, stage=exc.stage)
    if isinstance(result, CommandResult):
        body = result.as_dict()
        status = 201 if action == "report" else 200
        response = jsonify(body)
        response.status_code = status
        if status == 201:
            response.headers["Location"] = f"/api/v1/cases/{result.case_id}"
        return response
    return jsonify(result)


def _query(model):
    try:
        return parse_query(model, request.args)
    except InvalidInput as exc:
        raise ApiError(400, exc.msg) from None


def _check_read(user, case_id: str) -> None:
    """Whether the caller may read this case (:func:`dashboard.domain.scope.may_read_case`):
    a department user its own department's cases, a sub-centre user its area's → else 403."""
    if not is_case_id(case_id):
        return
    scope, department = getattr(user, "scope", None), getattr(user, "department_code", None)
    if not app_services().cases.may_read(case_id, user.role, department, scope):
        if user.role == "department":
            raise ApiError(403, Msg("inputs.not_own_case", case=case_id), "forbidden")
        raise ApiError(403, Msg("cmd.out_of_scope", case=case_id, scope=scope), "forbidden")


# ---------------------------------------------------------------------------- routes
_NO_LANG = {None, "api_v1.health", "api_v1.openapi", "api_v1.unknown"}   # routes without ``lang``


@api.before_app_request
def _check_lang():
    """``?lang=`` is ``en`` or ``zh`` (as documented) on every ``/api/v1`` route: anything else is a 400."""
    if request.path.startswith("/api/v1/") and "lang" in request.args and request.endpoint not in _NO_LANG:
        values = request.args.getlist("lang")
        if len(values) != 1 or values[0] not in ("en", "zh", ""):
            return error_response(400, Msg("cmd.bad_choice", field="lang", choices="en, zh"))
    return None


@api.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return error_response(exc.status, exc.msg, exc.error)


@api.post("/cases")
def report_case():
    """Report a new case; 201 with its case id."""
    return _command("report", None)


@api.post("/cases/<case_id>/<action>")
def case_action(case_id: str, action: str):
    """One action on one case (see ACTIONS)."""
    if action not in ACTIONS or action == "report":
        return error_response(404, Msg("cmd.unknown_action", action=action[:30]))
    return _command(action, case_id)


@api.get("/cases/<case_id>")
def get_case(case_id: str):
    """A case with its timeline (reporting DB) and the command side's stage and version."""
    user = reader("getCase")
    # a malformed id is no case: answered without asking the database (which may refuse NUL bytes)
    _check_read(user, case_id)
    found = app_services().cases.case(case_id, request_lang()) if is_case_id(case_id) else None
    if found is None:
        return error_response(404, Msg("cmd.unknown_case", case=case_id[:40]))
    return jsonify(jsonable(found))


@api.get("/cases/<case_id>/recommendation")
def get_recommendation(case_id: str):
    """Departments to dispatch to (routing first) with load and on-time rate, and the deadline."""
    user = reader("getRecommendation")
    _check_read(user, case_id)
    cases = app_services().cases
    row = cases.row(case_id) if is_case_id(case_id) else None
    if row is None:
        return error_response(404, Msg("cmd.unknown_case", case=case_id[:40]))
    return jsonify(jsonable(app_services().recommendation.recommend(row, scope=getattr(user, "scope", None))))


@api.get("/cases")
def list_cases():
    """Open cases in one or more stages (``?stage=filed&stage=dispatched``), most pressing first."""
    user = reader("listCases")
    query = _query(CaseListQuery)
    department = user.department_code if user.role == "department" else query.department
    limit = max(1, min(query.limit, 2000))
    if query.q is not None:
        found = app_services().search.search(query.q, user.role, user.department_code, getattr(user, "scope", None),
                                             page=query.page, per_page=min(limit, 100), lang=request_lang())
        return jsonify({"cases": jsonable(found["rows"]), "count": len(found["rows"]), "total": found["total"],
                        "page": found["page"], "pages": found["pages"]})
    rows = app_services().cases.queue(tuple(query.stage), department=department, limit=limit,
                                      scope=getattr(user, "scope", None))
    return jsonify({"cases": jsonable(rows), "count": len(rows)})


@api.get("/stages")
def get_stages():
    """Number of cases per stage."""
    user = reader("getStages")
    return jsonify(app_services().cases.stage_counts(getattr(user, "scope", None)))


@api.get("/requests")
def get_requests():
    """Pending extension / suspension requests."""
    user = reader("getRequests")
    items = app_services().commands.requests()
    if user.role == "department":
        items = [r for r in items if r.get("department") == user.department_code]
    scope = getattr(user, "scope", None)
    if scope:
        cases = app_services().cases
        items = [r for r in items if cases.in_scope(r["case_id"], scope)]
    return jsonify({"requests": items})


@api.get("/health")
def health():
    """Redis, database, worker lag and dead letters; 200 when Redis and the database answer, else 503."""
    report = app_services().health.report()
    return jsonify(report), (200 if report["ok"] else 503)


@api.get("/audit")
def get_audit():
    """The audit log (admin): ``?limit=&case_id=&user=&outcome=&action=&format=csv``."""
    reader("getAudit")
    return _audit_answer(None)


@api.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this API (public, like the code it describes)."""
    services = app_services()
    return jsonify(build_spec(services.scenario, services.system.locator.bbox))


@api.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest: str):
    """Anything else under /api/v1 is a JSON 404 (not the Dash page the catch-all route would serve)."""
    return error_response(404, Msg("api.not_found"))


def _audit_answer(fmt: str | None):
    """Audit rows as JSON, or as CSV (``fmt`` forces a format; else ``?format=``)."""
    query = _query(AuditQuery)
    as_csv = (fmt or query.format) == "csv"
    limit = max(1, min(query.limit or (100_000 if as_csv else 1000), 100_000))
    rows = audit.query(app_services().system.engine, limit=limit, case_id=query.case_id, user=query.user,
                       outcome=query.outcome, action=query.action)
    if as_csv:
        return Response(audit.to_csv(rows), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=citygrid-audit.csv"})
    return jsonify({"rows": jsonable(rows), "count": len(rows)})


def init_app(server, services) -> None:
    """Register the API blueprint, the CSV export and JSON error pages under /api/."""
    server.register_blueprint(api)

    @server.get("/admin/audit.csv")
    def audit_csv():
        from dashboard.web.audit_export import audit_csv as spreadsheet  # BOM, Beijing time, ?lang= headers
        try:
            reader("getAudit")
            return spreadsheet()
        except ApiError as exc:
            return error_response(exc.status, exc.msg, exc.error)

    @server.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if not request.path.startswith("/api/"):
            return exc
        if exc.code == 413:
            return error_response(413, Msg("api.too_large", limit=MAX_BODY))
        if exc.code == 404:
            return error_response(404, Msg("api.not_found"))
        if exc.code == 405:
            return error_response(405, Msg("api.method"))
        return jsonify({"error": "error", "status": exc.code, "message": exc.description}), exc.code
