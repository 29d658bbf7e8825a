"""The department evaluation for other systems and spreadsheets.

- ``GET /api/v1/departments?from=YYYY-MM-DD&to=YYYY-MM-DD`` — every department's figures
  over the period (JSON list); ``GET /api/v1/departments/<code>?from=&to=`` — one
  department's summary, trend and breakdowns;
- ``GET /reports/departments.csv|xlsx?…`` and ``GET /reports/departments/<code>/<table>.csv|xlsx?…``
  — every table of ``/departments`` and ``/departments/<code>`` as a file, built here from
  the same service call as the page (never from what the browser holds).

Authentication and roles are the API's own (:func:`dashboard.web.api.reader`: bearer
token or session); the roles are those of the ``/departments`` page.  The period comes
from ``from``/``to`` (the API) or the page's own query (``period``, ``month``, ``from``,
``to``); bad dates, a reversed window or one over 366 days answer 400 with one line.
Register with :func:`init_app`; :func:`openapi_paths` is this module's part of the
OpenAPI description.
"""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, current_app, jsonify, request

from dashboard.domain.evaluation import DEPARTMENT_TABLES, MAX_WINDOW_DAYS, PeriodError, from_to, resolve
from dashboard.domain.permissions import READ_ACCESS
from dashboard.i18n import t
from dashboard.web.api_access import ApiError, error_response, reader
from datasource.services import exports
from datasource.services.cases import jsonable
from datasource.services.command_types import Msg
from datasource.services.evaluation import UnknownDepartment


FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

reports = Blueprint("api_reports", __name__)


def _evaluation():
    return current_app.extensions["citygrid.services"].evaluation


def period_error(exc: PeriodError) -> ApiError:
    """A PeriodError as the API's one-line 400."""
    return ApiError(400, Msg(exc.key, **{k: str(v) for k, v in exc.values.items()}))


def _period(api: bool):
    """The asked period; ApiError 400 (one line) when it cannot be evaluated."""
    evaluation = _evaluation()
    today = evaluation.today()
    args = {k: v for k, v in request.args.items() if k in ("period", "month", "from", "to")}
    try:
        if api:
            return from_to(args.get("from"), args.get("to"), today)
        return resolve(args, today)
    except PeriodError as exc:
        raise period_error(exc) from None


@reports.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return error_response(exc.status, exc.msg, exc.error)


# ---------------------------------------------------------------------------- JSON
@reports.get("/api/v1/departments")
def departments():
    """Every department's evaluation over ``from`` … ``to`` (default: the last 30 days)."""
    user = reader("listDepartmentEvaluations")
    period = _period(api=True)
    response = jsonify(jsonable(_evaluation().api_rows(period, scope=getattr(user, "scope", None))))
    response.headers["X-Period"] = f"{period.first}/{period.last}"
    return response


@reports.get("/api/v1/departments/<code>")
def department(code: str):
    """One department: summary, daily trend, categories and streets over the period."""
    user = reader("getDepartmentEvaluation")
    period = _period(api=True)
    try:
        report = _evaluation().department(code, period, tables=("summary", "trend", "categories", "streets"),
                                          scope=getattr(user, "scope", None))
    except UnknownDepartment:
        return error_response(404, Msg("eval.unknown_department", code=code[:40]))
    report["period"] = {"from": period.first.isoformat(), "to": period.last.isoformat()}
    report.pop("now", None)
    return jsonify(jsonable(report))


# ---------------------------------------------------------------------------- files
def file_response(body: bytes, fmt: str, name: str) -> Response:
    """A CSV or XLSX download named ``name`` (every report's exports answer through here)."""
    ascii_name = name.encode("ascii", "replace").decode()
    return Response(body, mimetype=FORMATS[fmt].split(";")[0], headers={
        "Content-Type": FORMATS[fmt],
        "Content-Disposition": f"attachment; filename={ascii_name}; filename*=UTF-8''{quote(name)}",
        "Cache-Control": "no-store"})


def _export(table: str, fmt: str, code: str | None):
    user = reader("exportEvaluation")
    if fmt not in FORMATS:
        return error_response(404, Msg("api.not_found"))
    period = _period(api=False)
    lang = request.args.get("lang") if request.args.get("lang") in ("zh", "en") else "zh"
    evaluation = _evaluation()
    try:
        rows = evaluation.table(table, period, code, scope=getattr(user, "scope", None))
    except UnknownDepartment:
        return error_response(404, Msg("eval.unknown_department", code=(code or "")[:40]))
    tz = evaluation.tz
    name = exports.filename(["departments", code or "", "" if table == "departments" else table,
                             period.first.isoformat(), period.last.isoformat()], fmt)
    if fmt == "csv":
        return file_response(exports.to_csv(table, rows, lang, tz), fmt, name)
    title = t(f"eval.table.{table}", lang)
    return file_response(exports.to_xlsx(table, rows, lang, tz, title), fmt, name)


@reports.get("/reports/departments.<fmt>")
def export_departments(fmt: str):
    """The /departments table as CSV or Excel (same query as the page)."""
    return _export("departments", fmt, None)


@reports.get("/reports/departments/<code>/<table>.<fmt>")
def export_department(code: str, table: str, fmt: str):
    """One table of /departments/<code> as CSV or Excel."""
    if table not in DEPARTMENT_TABLES:
        return error_response(404, Msg("api.not_found"))
    return _export(table, fmt, code)


def init_app(server) -> None:
    """Register the blueprint (one line in :func:`dashboard.web.factory.create_app`)."""
    server.register_blueprint(reports)


# ---------------------------------------------------------------------------- OpenAPI
_FIGURES = {
    "code": ("string", "department code"), "name": ("string", "name (Chinese)"), "name_en": ("string", "name (English)"),
    "kind": ("string", "professional (专业部门) or street (街道办事处)"),
    "due": ("integer", "cases first dispatched in the period (Asia/Shanghai days, inclusive) and dispatched to "
                       "this department now; rejected reports never count"),
    "handled": ("integer", "of them, handled by now (stage handled, verified or closed: the latest handling "
                           "stands; a case sent back for rework is not handled until handled again)"),
    "handled_on_time": ("integer", "of the handled, handled no later than the handling deadline of their last "
                                   "dispatch or rework, extensions included"),
    "on_time_rate": ("number", "handled_on_time / handled (null without handled cases)"),
    "closed": ("integer", "of the due, closed by now"),
    "closure_rate": ("number", "closed / due"),
    "reworks": ("integer", "rework orders (返工) on the period's cases"),
    "rework_rate": ("number", "reworks / due"),
    "returns": ("integer", "returns (退回) of the period's cases made by this department"),
    "extensions": ("integer", "extensions (延期) granted on the period's cases"),
    "overdue_now": ("integer", "the period's cases waiting for this department (stage dispatched) past their "
                               "handling deadline now"),
    "backlog": ("integer", "the period's cases waiting for this department now"),
    "backlog_age_days": ("number", "age of the oldest of them since its first dispatch, days"),
    "handling_median_h": ("number", "median working hours from first dispatch to the latest handling"),
    "handling_p90_h": ("number", "90th percentile of the same (linear interpolation)"),
    "closure_points": ("number", "30 × closure rate"), "on_time_points": ("number", "30 × on-time rate"),
    "rework_points": ("number", "30 × (1 − rework rate)"),
    "volume_points": ("number", "volume score: ≤50 cases 10, ≤100 9, ≤200 7.5, ≤500 6, more 4"),
    "score": ("number", "composite of DOMAIN.md §4: the sum of the four points (null without cases)"),
    "grade": ("string", "A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, E below (null without cases)"),
}


def openapi_paths() -> dict:
    """This module's paths for the OpenAPI document (merge into ``build_spec()["paths"]``)."""
    day = {"type": "string", "format": "date"}
    params = [{"name": "from", "in": "query", "schema": day,
               "description": "first day (YYYY-MM-DD, Asia/Shanghai), inclusive; default: 29 days before `to`"},
              {"name": "to", "in": "query", "schema": day, "description": "last day, inclusive; default: today"}]
    row = {"type": "object", "required": list(_FIGURES)[:15] + ["score", "grade"],
           "properties": {k: {"type": kind if k in ("code", "name", "kind") else [kind, "null"], "description": text}
                          for k, (kind, text) in _FIGURES.items()}}
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    errors = {"400": {"description": f"bad date, from after to, or a window over {MAX_WINDOW_DAYS} days "
                                     "(one-line `message`)", **error},
              "401": {"description": "Not authenticated.", **error},
              "403": {"description": "Role not allowed.", **error}}
    return {
        "/departments": {"get": {
            "summary": "Every department's evaluation over a period (DOMAIN.md §4), for other systems.",
            "description": "A case belongs to the period in which it was first dispatched and to the department "
                           "it is dispatched to now. Roles: supervisor, leader, admin.",
            "operationId": "listDepartmentEvaluations", "parameters": params, "x-roles": [*READ_ACCESS["listDepartmentEvaluations"], "admin"],
            "responses": {"200": {"description": "One object per department: professional departments first, "
                                                 "then street offices.",
                                  "content": {"application/json": {"schema": {"type": "array", "items": row}}}},
                          **errors}}},
        "/departments/{code}": {"get": {
            "summary": "One department's evaluation: summary, daily trend, categories, streets.",
            "operationId": "getDepartmentEvaluation", "x-roles": [*READ_ACCESS["getDepartmentEvaluation"], "admin"],
            "parameters": [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}, *params],
            "responses": {"200": {"description": "The report: `summary` (the figures of the list's row), `trend` "
                                                 "(per day), `categories`, `streets`, `period`.",
                                  "content": {"application/json": {"schema": {
                                      "type": "object", "required": ["summary", "trend", "categories", "streets"],
                                      "properties": {"summary": {"type": "object"}, "trend": {"type": "array"},
                                                     "categories": {"type": "array"},
                                                     "streets": {"type": "array"},
                                                     "period": {"type": "object"}}}}}},
                          **errors,
                          "404": {"description": "Unknown department.", **error}}}},
    }

