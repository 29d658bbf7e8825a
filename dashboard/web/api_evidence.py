"""Evidence photos and return visits over HTTP (issue 11).

* ``POST /api/v1/cases/{id}/photos`` — ``multipart/form-data`` with one or more ``photo``
  files (and optionally ``version``): checked by content (JPEG / PNG / WebP) and size,
  stored content-addressed, attached as one ``attached`` event (201).
* ``GET /api/v1/cases/{id}/photos`` — the case's photos, and before / after / check.
* ``GET /evidence/{id}/{sha256}`` (``?thumb=1``: the thumbnail) — the bytes of one photo of
  one case, for whoever may read that case (bearer token or session); outside ``/api/v1``
  because it answers an image, not JSON (like ``/admin/audit.csv``).
* ``POST /api/v1/cases/{id}/visit`` — record a return visit (JSON ``result``, ``note``,
  ``reopen``, ``version``).
* ``GET /api/v1/visits`` — closed public cases awaiting a visit; ``GET /api/v1/satisfaction``
  — the satisfaction rate by department or street over a period.

Registered by :func:`init_app` from the factory; its paths join the OpenAPI document through
:data:`OPENAPI_PATHS`.
"""
from __future__ import annotations

import json
from typing import Literal

from flask import Blueprint, Response, jsonify, request
from pydantic import ConfigDict, Field, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from dashboard.domain.codes import is_case_id
from dashboard.domain.evidence import CONTENT_TYPES, MAX_PHOTOS, before_after
from dashboard.domain.permissions import FOLLOW_UP_PERMISSIONS, READ_ACCESS, may
from dashboard.domain.visits import NOTE_MAX, RESULTS
from dashboard.web import api_models as m
from dashboard.web.api_messages import message_for
from dashboard.web.api_access import ApiError, app_services, error_response, reader, request_lang, write_caller
from datasource.services.cases import jsonable
from datasource.services.command_types import Actor, CommandRefused, Msg
from dashboard.domain.evaluation import MAX_REPORT_DAYS, PeriodError, from_to

api_evidence = Blueprint("api_evidence", __name__, url_prefix="/api/v1")
#: room for the form's other fields and multipart boundaries beside the photos themselves
FORM_MARGIN = 256 * 1024


class VisitBody(m.Body):
    """Record a return visit (回访) to the public reporter of a closed case. ``reopen`` (only with ``unsatisfied``)
    sends the case back to its department as rework (stage dispatched); a note is required when unsatisfied."""

    # the rules of dashboard.domain.visits.check_visit and the service, as JSON Schema states them:
    # unsatisfied → a note with text; reopen → unsatisfied
    model_config = ConfigDict(json_schema_extra={"allOf": [
        {"if": {"properties": {"result": {"const": "unsatisfied"}}, "required": ["result"]},
         "then": {"required": ["note"], "properties": {"note": {"type": "string", "pattern": m.SOME_TEXT}}}},
        {"if": {"properties": {"reopen": {"const": True}}, "required": ["reopen"]},
         "then": {"properties": {"result": {"const": "unsatisfied"}}}}]})

    result: Literal[RESULTS] = Field(description="satisfied (满意), basically (基本满意) or unsatisfied (不满意)")
    note: str = Field("", max_length=NOTE_MAX, pattern=m.NO_NUL, description="what the reporter said "
                      "(required when unsatisfied)")
    reopen: bool = Field(False, description="reopen the case for rework (unsatisfied only)")
    version: m.Version = None


class VisitQuery(m.Query):
    limit: int = Field(200, description="at most this many cases (1 … 1000)")
    offset: int = Field(0, description="skip this many (paging)")


class SatisfactionQuery(m.Query):
    by: Literal["department", "street"] = Field("department", description="group by department or street")
    # ``from`` and ``to`` (a Python keyword, and a name) are read as text by from_to


def _refusal(exc: CommandRefused):
    error = {400: "bad_request", 403: "forbidden", 404: "not_found", 409: "conflict", 413: "too_large"}
    return error_response(exc.status, exc.msg, error.get(exc.status, "error"), stage=exc.stage)


def _writer(action: str, case_id: str):
    """The caller of a write, audited when refused before the service sees it."""
    services = app_services()
    user = write_caller(action, case_id)
    actor = Actor.of(user, request.remote_addr)
    if not may(actor.role, action):
        raise services.commands.refuse_input(actor, action, case_id, 403, Msg(
            "cmd.forbidden", role=actor.role, action=Msg(f"action.{action}")))
    return actor


def _check_case(user, case_id: str) -> None:
    """404 for a malformed or unknown case; 403 for a case the caller may not read — the one
    read rule (:func:`dashboard.domain.scope.may_read_case`): a department its own cases, a
    sub-centre its area's."""
    services = app_services()
    if not is_case_id(case_id) or not (services.cases.row(case_id) or services.cases.command_state(case_id)):
        raise ApiError(404, Msg("cmd.unknown_case", case=case_id[:40]))
    scope, department = getattr(user, "scope", None), getattr(user, "department_code", None)
    if not services.cases.may_read(case_id, user.role, department, scope):
        if user.role == "department":
            raise ApiError(403, Msg("inputs.not_own_case", case=case_id), "forbidden")
        raise ApiError(403, Msg("cmd.out_of_scope", case=case_id, scope=scope), "forbidden")


@api_evidence.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return error_response(exc.status, exc.msg, exc.error)


@api_evidence.post("/cases/<case_id>/photos")
def attach_photos(case_id: str):
    """Attach photos (multipart ``photo`` files) to a case: 201 with the event and the photos."""
    services = app_services()
    limit = services.settings.evidence_max_bytes
    request.max_content_length = MAX_PHOTOS * limit + FORM_MARGIN
    try:
        actor = _writer("attach", case_id)
        if request.mimetype != "multipart/form-data":
            raise ApiError(415, Msg("evidence.multipart"))
        try:
            uploads = request.files.getlist("photo")
            version_text = request.form.get("version", "").strip()
        except RequestEntityTooLarge:
            raise ApiError(413, Msg("evidence.request_too_big", limit=MAX_PHOTOS, size=limit // (1024 * 1024))) from None
        unknown = sorted({str(name) for name in (*request.files, *request.form)} - {"photo", "version"})
        if unknown:
            raise ApiError(400, Msg("api.unknown_fields", fields=", ".join(n[:40] for n in unknown[:10])))
        if version_text and not (version_text.isascii() and version_text.isdigit()):   # not "²"
            raise ApiError(400, Msg("cmd.bad_version"))
        files = [(u.filename or "", u.stream.read(limit + 1)) for u in uploads]
        result = services.evidence.attach(actor, case_id, files, int(version_text) if version_text else None)
    except CommandRefused as exc:
        return _refusal(exc)
    response = jsonify(jsonable(result))
    response.status_code = 201
    return response


@api_evidence.get("/cases/<case_id>/photos")
def list_photos(case_id: str):
    """A case's photos (with the URLs of each photo and thumbnail), and the before/after pairs."""
    user = reader("getCase")
    _check_case(user, case_id)
    photos = app_services().evidence.photos(case_id)
    return jsonify(jsonable({"case_id": case_id, "photos": photos, **before_after(photos)}))


@api_evidence.post("/cases/<case_id>/visit")
def record_visit(case_id: str):
    """Record a return visit (JSON body :class:`VisitBody`)."""
    services = app_services()
    try:
        actor = _writer("visit", case_id)
        data = request.get_data(cache=True)
        if len(data) > m.MAX_BODY:
            raise ApiError(413, Msg("api.too_large", limit=m.MAX_BODY))
        if request.mimetype != "application/json":
            raise ApiError(415, Msg("api.content_type"))
        try:
            body = json.loads(data.decode("utf-8") or "{}")
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ApiError(400, Msg("api.bad_json", reason=str(getattr(exc, "msg", exc))[:120])) from None
        if not isinstance(body, dict):
            raise ApiError(400, Msg("api.not_object"))
        try:
            parsed = VisitBody.model_validate(body)
        except ValidationError as exc:
            raise ApiError(400, message_for(VisitBody, exc.errors(include_url=False))) from None
        result = services.visits.record(actor, case_id, parsed.result, parsed.note, parsed.reopen, parsed.version)
    except CommandRefused as exc:
        return _refusal(exc)
    return jsonify(result.as_dict())


def _query(model):
    try:
        return m.parse_query(model, request.args)
    except m.InvalidInput as exc:
        raise ApiError(400, exc.msg) from None


@api_evidence.get("/visits")
def list_visits():
    """Closed public cases awaiting a return visit, the longest waiting first (paged)."""
    user = reader("listVisits")
    query = _query(VisitQuery)
    if not 1 <= query.limit <= 1000 or query.offset < 0:
        raise ApiError(400, Msg("visit.bad_page"))
    answer = app_services().visits.queue(getattr(user, "scope", None), query.limit, query.offset)
    return jsonify(jsonable(answer))


@api_evidence.get("/satisfaction")
def get_satisfaction():
    """The satisfaction rate over a period, in total and per department or street."""
    user = reader("getSatisfaction")
    query = _query(SatisfactionQuery)
    services = app_services()
    try:
        period = from_to(request.args.get("from"), request.args.get("to"), services.visits.now().date(),
                         limit=MAX_REPORT_DAYS, tz=services.scenario.calendar.tz)
    except PeriodError as exc:
        raise ApiError(400, Msg(exc.key, **{k: str(v) for k, v in exc.values.items()})) from None
    return jsonify(services.visits.satisfaction(period, query.by, getattr(user, "scope", None), request_lang()))


def serve_photo(case_id: str, sha256: str):
    """``/evidence/<case_id>/<sha256>``: the photo (``?thumb=1`` its thumbnail) to whoever may read the case."""
    try:
        user = reader("getPhoto")
        _check_case(user, case_id)
    except ApiError as exc:
        return error_response(exc.status, exc.msg, exc.error)
    found = app_services().evidence.read(case_id, sha256, thumb=request.args.get("thumb") == "1")
    if found is None:
        return error_response(404, Msg("evidence.no_photo", case=case_id))
    data, kind = found
    response = Response(data, mimetype=kind)
    response.headers["Cache-Control"] = "private, max-age=86400, immutable"   # content-addressed
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response


def init_app(server) -> None:
    """Register the routes; let a page's upload (base64 in a Dash callback) through the size limit."""
    server.register_blueprint(api_evidence)
    server.add_url_rule("/evidence/<case_id>/<sha256>", "evidence_photo", serve_photo)
    limit = server.extensions["citygrid"].settings.evidence_max_bytes

    @server.before_request
    def _upload_limit():
        # dcc.Upload sends the file as base64 (4/3 of its size) in the callback's JSON; the
        # page's own check then explains a photo that is too big, instead of a bare 413.
        if request.path.endswith("/_dash-update-component"):
            request.max_content_length = 2 * limit * 4 // 3 + FORM_MARGIN


# ---------------------------------------------------------------------------- OpenAPI
_ERR = {"$ref": "#/components/schemas/Error"}
_LANG = {"$ref": "#/components/parameters/Lang"}
_CASE = {"$ref": "#/components/parameters/CaseId"}


def _errors(**codes: str) -> dict:
    return {code: {"description": text, "content": {"application/json": {"schema": _ERR}}}
            for code, text in codes.items()}


def _roles(action_or_read: str) -> list[str]:
    roles = FOLLOW_UP_PERMISSIONS.get(action_or_read) or READ_ACCESS[action_or_read]
    return list(dict.fromkeys([*roles, "admin"]))


PHOTO_TYPES = tuple(CONTENT_TYPES.values())
_PHOTO = {"type": "object", "required": ["sha256", "type", "size"], "properties": {
    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "type": {"enum": list(PHOTO_TYPES)},
    "size": {"type": "integer"}, "width": {"type": "integer"}, "height": {"type": "integer"},
    "name": {"type": "string"}, "phase": {"type": ["string", "null"]}, "url": {"type": "string"},
    "thumb_url": {"type": "string"}}}
_RESULT = {"type": "object", "required": ["case_id", "action", "after", "version", "event"],
           "properties": {"case_id": {"type": "string"}, "action": {"type": "string"}, "after": {"type": "string"},
                          "version": {"type": "integer"}, "event": {"type": "string"}}}
_OBJECT = {"type": "object"}
_PERIOD_PARAMS = [{"name": "by", "in": "query", "schema": {"enum": ["department", "street"], "default": "department"}},
                  {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"},
                   "description": "first day (Asia/Shanghai); default 30 days before `to`"},
                  {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"},
                   "description": "last day, inclusive; default today"}]
_WRITE = [{"bearer": []}, {"session": [], "csrf": []}]
_READ = [{"bearer": []}, {"session": []}]


def _ok(description: str, schema: dict, *then: str) -> dict:
    """A documented answer; ``then``: the operations that take the answer's ``case_id`` next (links)."""
    links = {f"then_{target}": {"operationId": target, "parameters": {"case_id": "$response.body#/case_id"},
                                "description": f"{target} the same case"} for target in then}
    return {"description": description, "content": {"application/json": {"schema": schema}},
            **({"links": links} if links else {})}


#: path items for ``/api/v1/openapi.json``
OPENAPI_PATHS = {
    "/cases/{case_id}/photos": {
        "post": {
            "summary": "Attach evidence photos to a case", "operationId": "attachPhotos",
            "x-roles": _roles("attach"), "security": _WRITE, "parameters": [_CASE, _LANG],
            "description": "One or more `photo` files (JPEG, PNG or WebP, checked by content; each at most "
                           "CITYGRID_EVIDENCE_MAX_BYTES, default 10 MB; at most 12). The phase follows the stage: "
                           "reported/filed → report (supervision), dispatched → handle (the case's department), "
                           "handled → verify (supervision). The event carries hashes and metadata only.",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["photo"], "additionalProperties": False, "properties": {
                    "photo": {"type": "array", "minItems": 1, "maxItems": MAX_PHOTOS,
                              "items": {"type": "string", "format": "binary"}},
                    "version": {"type": "string", "pattern": "^ *(0*[1-9][0-9]*)? *$"}}},
                # the types the service accepts, by content (what a generator must send)
                "encoding": {"photo": {"contentType": ", ".join(PHOTO_TYPES)}}}}},
            "responses": {"201": _ok("Attached: the event and the photos.", {**_RESULT, "properties": {
                **_RESULT["properties"], "phase": {"enum": ["report", "handle", "verify"]},
                "photos": {"type": "array", "items": _PHOTO}}}, "listPhotos", "getCase"),
                **_errors(**{"400": "Not a JPEG/PNG/WebP image, empty, too many photos, unknown field.",
                             "401": "Not authenticated.", "403": "Role not allowed for this phase, not your "
                             "department's case, out of your area, or no CSRF header.", "404": "Unknown case.",
                             "409": "No photos in this stage, or the case moved on.",
                             "413": "A photo (or the whole request) is too big.",
                             "415": "Not multipart/form-data."})}},
        "get": {
            "summary": "A case's photos and the before/after pairs", "operationId": "listPhotos",
            "x-roles": _roles("getCase"), "security": _READ, "parameters": [_CASE, _LANG],
            "responses": {"200": _ok("Photos in the order attached; before (report), after (handle), check (verify).",
                                     {"type": "object", "required": ["case_id", "photos"], "properties": {
                                         "case_id": {"type": "string"},
                                         "photos": {"type": "array", "items": _PHOTO},
                                         "before": {"type": "array", "items": _PHOTO},
                                         "after": {"type": "array", "items": _PHOTO},
                                         "check": {"type": "array", "items": _PHOTO}}}),
                          **_errors(**{"401": "Not authenticated.", "403": "Role not allowed, or out of your area.",
                                       "404": "Unknown case."})}},
    },
    "/cases/{case_id}/visit": {"post": {
        "summary": "Record a return visit (回访)", "operationId": "recordVisit", "x-roles": _roles("visit"),
        "description": " ".join((VisitBody.__doc__ or "").split()), "security": _WRITE, "parameters": [_CASE, _LANG],
        "requestBody": {"required": True, "content": {"application/json": {"schema": VisitBody.model_json_schema()}}},
        "responses": {"200": _ok("Recorded (and reopened).", _RESULT, "getCase", "handle"),
                      **_errors(**{"400": "Bad input (result, note, reopen when not unsatisfied).",
                                   "401": "Not authenticated.", "403": "Role not allowed, or out of your area.",
                                   "404": "Unknown case.", "409": "Not closed, not reported by the public, or "
                                   "somebody else acted first.", "413": "Body too large.",
                                   "415": "Content-Type is not application/json."})}}},
    "/visits": {"get": {
        "summary": "Closed public cases awaiting a return visit", "operationId": "listVisits",
        "x-roles": _roles("listVisits"), "security": _READ,
        "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "default": 200}},
                       {"name": "offset", "in": "query", "schema": {"type": "integer", "default": 0}}, _LANG],
        "responses": {"200": _ok("The true total and one page of cases.", {
            "type": "object", "required": ["total", "cases"],
            "properties": {"total": {"type": "integer"}, "cases": {"type": "array", "items": _OBJECT}}}),
            **_errors(**{"400": "Bad limit or offset.", "401": "Not authenticated.", "403": "Role not allowed."})}}},
    "/satisfaction": {"get": {
        "summary": "Satisfaction rate ((satisfied + basically satisfied) / visited) by department or street",
        "operationId": "getSatisfaction", "x-roles": _roles("getSatisfaction"), "security": _READ,
        "parameters": [*_PERIOD_PARAMS, _LANG],
        "responses": {"200": _ok("Cases by the time of their latest visit in the period.", {
            "type": "object", "required": ["period", "by", "total", "groups"],
            "properties": {"period": _OBJECT, "by": {"type": "string"}, "total": _OBJECT,
                           "groups": {"type": "array", "items": _OBJECT}}}),
            **_errors(**{"400": "Bad date or grouping.", "401": "Not authenticated.", "403": "Role not allowed."})}}},
}
