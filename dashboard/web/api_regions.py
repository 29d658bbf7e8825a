"""The regional and people reports over HTTP (``/api/v1``): the same services and the same
tables as ``/regions`` and ``/inspectors``, as JSON or as a CSV/Excel download.

=================================================  =========================================
``GET /regions?level=street|community|grid``        figures per region (``&parent=`` a street
``&from=YYYY-MM-DD&to=YYYY-MM-DD&parent=``           for communities, a community for grids)
``GET /regions/cases?grid=&from=&to=``              one grid's cases (newest first, ≤ 500)
``GET /inspectors?from=&to=``                       grid inspectors
``GET /dispatchers?from=&to=``                      dispatchers
``GET /shifts?from=&to=``                           the centre's shifts (and per day)
=================================================  =========================================

Dates are inclusive Asia/Shanghai dates (default: the 30 days up to today); ``format=csv``
or ``xlsx`` downloads the table (headers in Chinese, ``lang=en`` for English; times in
Beijing time).  Roles: supervisor, leader, admin.  Bad input → 400 with a one-line
``message``.  Authentication and error bodies are those of :mod:`dashboard.web.api`.

The OpenAPI path items are :data:`OPENAPI_PATHS` (merged into ``/api/v1/openapi.json`` by
:func:`dashboard.web.openapi.build_spec`).
"""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, jsonify, request

from dashboard.domain.evaluation import MAX_REPORT_DAYS, PeriodError, from_to
from dashboard.domain.permissions import READ_ACCESS
from dashboard.i18n import LANGS
from dashboard.web.api_access import ApiError, error_response, reader
from dashboard.web.api_reports import file_response, period_error
from datasource.services import exports
from datasource.services.cases import jsonable
from datasource.services.command_types import Msg
from datasource.services.regions import OutOfScope, RegionReport, ReportError
from datasource.services.staff import StaffReport
from layouts.reporting import display_rows, export_table

EXTENSION_KEY = "citygrid.reports"
FORMATS = ("json", "csv", "xlsx")

blueprint = Blueprint("api_v1_reports", __name__, url_prefix="/api/v1")


class Reports:
    """The report services of one app (their short caches live with the app)."""

    def __init__(self, system):
        self.system = system
        self.regions = RegionReport(system)
        self.staff = StaffReport(system)
        self.community_names = {f["properties"]["code"]: f["properties"]["name"]
                                for f in system.scenario.communities_geojson["features"]}


def _reports() -> Reports:
    return current_app.extensions[EXTENSION_KEY]


def _export_lang() -> str:
    """Exports speak Chinese unless asked otherwise (``?lang=en``)."""
    asked = request.args.get("lang")
    return asked if asked in LANGS else "zh"


def _request():
    """(period, format, the caller's sub-centre scope) of the request, after the role check;
    ApiError otherwise."""
    scope = getattr(reader("getRegionReports"), "scope", None)
    fmt = request.args.get("format", "json")
    if fmt not in FORMATS:
        raise ApiError(400, Msg("report.bad_format", value=fmt[:20]))
    tz = _reports().system.scenario.calendar.tz
    try:
        period = from_to(request.args.get("from"), request.args.get("to"), datetime.now(tz).date(),
                         limit=MAX_REPORT_DAYS, tz=tz)
    except PeriodError as exc:
        raise period_error(exc) from None
    return period, fmt, scope


def _table(table: str, rows: list[dict], fmt: str, name: str, period):
    lang = _export_lang()
    scenario = _reports().system.scenario
    shown = display_rows(table, rows, lang, scenario, _reports().community_names)
    headers, cells = export_table(table, shown, lang, scenario.calendar.tz)
    body = exports.csv_bytes(headers, cells) if fmt == "csv" else exports.xlsx_bytes(headers, cells, name)
    return file_response(body, fmt, f"citygrid-{name}-{period.first}_{period.last}.{fmt}")


@blueprint.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return error_response(exc.status, exc.msg, exc.error)


@blueprint.get("/regions")
def regions():
    """Figures per street, community or grid over the period."""
    period, fmt, scope = _request()
    level = request.args.get("level", "street")
    parent = request.args.get("parent") or None
    try:
        rows = _reports().regions.figures(level, period, parent, scope=scope)
    except OutOfScope as exc:
        raise ApiError(403, exc.msg) from None
    except ReportError as exc:
        raise ApiError(400, exc.msg) from None
    if fmt != "json":
        return _table("regions", rows, fmt, f"regions-{level}" + (f"-{parent}" if parent else ""), period)
    return jsonify({"period": period.as_dict(), "level": level, "parent": parent, "count": len(rows),
                    "regions": jsonable(rows)})


@blueprint.get("/regions/cases")
def grid_cases():
    """One grid's cases reported in the period."""
    period, fmt, scope = _request()
    grid = request.args.get("grid") or ""
    try:
        rows = _reports().regions.grid_cases(grid, period, scope=scope)
    except OutOfScope as exc:
        raise ApiError(403, exc.msg) from None
    except ReportError as exc:
        raise ApiError(400, exc.msg) from None
    if fmt != "json":
        return _table("cases", rows, fmt, f"grid-{grid}", period)
    return jsonify({"period": period.as_dict(), "grid": grid, "count": len(rows), "cases": jsonable(rows)})


def _people(part: str):
    period, fmt, scope = _request()
    report = _reports().staff.report(period, scope)
    rows = report[part]
    if fmt != "json":
        return _table(part, rows, fmt, part, period)
    body = {"period": period.as_dict(), "count": len(rows), part: jsonable(rows)}
    if part == "inspectors":
        body.update(unrostered_verifications=report["unrostered"], not_measured=["on_time_check_rate"])
    if part == "shifts":
        body.update(daily=report["daily"], not_measured=["accurate_filing_rate"])
    return jsonify(body)


@blueprint.get("/inspectors")
def inspectors():
    """Grid inspectors: reports, valid-report, missed-report and on-time verification rates, composite."""
    return _people("inspectors")


@blueprint.get("/dispatchers")
def dispatchers():
    """Dispatchers: dispatches, on-time and accurate dispatch, composite."""
    return _people("dispatchers")


@blueprint.get("/shifts")
def shifts():
    """The centre's shifts: on-time filing and closing, composite; and per day."""
    return _people("shifts")


def init_app(server, services) -> None:
    """Register the report routes (the factory calls this beside ``api.init_app``)."""
    server.extensions[EXTENSION_KEY] = Reports(services.system)
    server.register_blueprint(blueprint)


# ---------------------------------------------------------------------------- OpenAPI
_PERIOD = [{"name": "from", "in": "query", "schema": {"type": "string", "format": "date"},
            "description": "first day, inclusive (Asia/Shanghai); default 29 days before `to`"},
           {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"},
            "description": "last day, inclusive (Asia/Shanghai); default today"},
           {"name": "format", "in": "query", "schema": {"type": "string", "enum": list(FORMATS), "default": "json"},
            "description": "json, or a csv (UTF-8 with BOM) / xlsx download with Chinese headers (`lang=en`: English)"},
           {"name": "lang", "in": "query", "schema": {"type": "string", "enum": list(LANGS)}}]
_ANSWERS = {"400": {"description": "Bad date, level, parent, grid or format (one-line `message`).",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "401": {"description": "Not authenticated.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "403": {"description": "Role not allowed (supervisor, leader, admin).",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}


def _get(summary: str, operation: str, extra: list | None = None) -> dict:
    return {"get": {"summary": summary, "operationId": operation, "x-roles": [*READ_ACCESS["getRegionReports"], "admin"],
                    "parameters": [*(extra or []), *_PERIOD],
                    "responses": {"200": {"description": "The report (JSON) or the table as a file.",
                                          "content": {"application/json": {"schema": {"type": "object"}},
                                                      "text/csv": {"schema": {"type": "string"}},
                                                      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
                                                          {"schema": {"type": "string", "format": "binary"}}}},
                                  **_ANSWERS}}}


#: path items for ``/api/v1/openapi.json`` (``paths.update(OPENAPI_PATHS)`` in build_spec)
OPENAPI_PATHS = {
    "/regions": _get("Figures per region: cases per km² and per grid, closure and on-time closure rate, "
                     "public-report share, 12345 cases, top categories (cases reported in the period).", "getRegions",
                     [{"name": "level", "in": "query", "schema": {"type": "string", "enum": ["street", "community",
                                                                                             "grid"]}},
                      {"name": "parent", "in": "query", "schema": {"type": "string"},
                       "description": "a street code (level=community) or community code (level=grid)"}]),
    "/regions/cases": _get("One grid's cases reported in the period, newest first (at most 500).", "getGridCases",
                           [{"name": "grid", "in": "query", "required": True, "schema": {"type": "string"}}]),
    "/inspectors": _get("Grid inspectors: reports, valid-report rate, missed-report rate (public-first cases in "
                        "their grids), on-time verification, composite and grade.", "getInspectors"),
    "/dispatchers": _get("Dispatchers: on-time and accurate dispatch (returns count against it), composite.",
                         "getDispatchers"),
    "/shifts": _get("Shifts (day 08–16, evening 16–24, night 0–8): on-time filing and closing, composite; "
                    "`daily` per day.", "getShifts"),
}
