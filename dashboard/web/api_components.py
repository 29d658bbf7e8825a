"""City components (城市部件) over HTTP (``/api/v1``): the inventory and each component's cases.

==============================================================  ====================================
``GET /components?bbox=west,south,east,north&kind=C0118&limit=``  components in the box (of the
                                                                  kinds given; ``kind`` repeats or
                                                                  is comma-separated), code order,
                                                                  at most ``limit`` (≤ 5000), with
                                                                  the total in the box
``GET /components/{component}``                                   one component with every case
                                                                  that named it (newest first)
==============================================================  ====================================

Coordinates are GCJ-02.  A sub-centre user sees its own area's components.  Roles: every
reading role (operator, supervision, department, supervisor, leader, admin).  Bad input → 400
with a one-line ``message``; an unknown code → 404.  A report names a component with the
``component`` field of ``POST /cases`` (Open311 clients: the same field as a service attribute).

The OpenAPI path items are :data:`OPENAPI_PATHS` (merged into ``/api/v1/openapi.json`` by
:func:`dashboard.web.openapi.build_spec`).
"""
from __future__ import annotations

import math

from flask import Blueprint, current_app, jsonify, request

from dashboard.domain.permissions import READ_ACCESS
from dashboard.web.api_access import ApiError, error_response, reader
from dashboard.web.api_models import COMPONENT_CODE, EXAMPLE_COMPONENT
from datasource.services.cases import jsonable
from datasource.services.command_types import Msg

blueprint = Blueprint("api_v1_components", __name__, url_prefix="/api/v1")
DEFAULT_LIMIT = 1000
MAX_LIMIT = 5000


def _services():
    return current_app.extensions["citygrid.services"]


@blueprint.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return error_response(exc.status, exc.msg, exc.error)


def parse_bbox(text: str | None, district: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """``west,south,east,north`` as four finite floats (west < east, south < north); the
    district's box when absent; ApiError 400 otherwise."""
    if text is None or text == "":
        return district
    try:
        box = tuple(float(v) for v in text.split(","))
    except ValueError:
        box = ()
    if len(box) != 4 or not all(math.isfinite(v) for v in box) or not (box[0] < box[2] and box[1] < box[3]):
        raise ApiError(400, Msg("components.bad_bbox", value=text[:60]))
    return box  # type: ignore[return-value]


def parse_kinds(values: list[str], categories: dict) -> tuple[str, ...]:
    """``kind`` parameters (repeated or comma-separated) as component category codes; 400 if unknown."""
    kinds = tuple(k.strip() for v in values for k in v.split(",") if k.strip())
    for kind in kinds:
        category = categories.get(kind)
        if category is None or category.kind != "component":
            raise ApiError(400, Msg("components.bad_kind", kind=kind[:20]))
    return kinds


def parse_limit(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_LIMIT
    try:
        value = int(text)
    except ValueError:
        raise ApiError(400, Msg("cmd.not_number", field="limit")) from None
    if not 1 <= value <= MAX_LIMIT:   # as documented: a limit outside the range is an error, not clamped
        raise ApiError(400, Msg("inputs.out_of_range", field="limit", low=1, high=MAX_LIMIT))
    return value


@blueprint.get("/components")
def list_components():
    """Components in a box (GCJ-02), of the kinds asked for, with the total in the box."""
    user = reader("listComponents")
    services = _services()
    bounds = services.system.locator.bbox
    box = parse_bbox(request.args.get("bbox"), bounds)
    kinds = parse_kinds(request.args.getlist("kind"), services.scenario.categories)
    limit = parse_limit(request.args.get("limit"))
    rows, total = services.components.in_box(*box, kinds=kinds, limit=limit, scope=getattr(user, "scope", None))
    return jsonify({"components": jsonable(rows), "count": len(rows), "total": total, "bbox": list(box)})


@blueprint.get("/components/<component>")
def get_component(component: str):
    """One component and every case that named it (newest first)."""
    user = reader("getComponent")
    services = _services()
    found = services.components.get(component)
    scope = getattr(user, "scope", None)
    if found is None or (scope and not found["community_code"].startswith(scope)):
        return error_response(404, Msg("components.not_found", code=component[:40]))
    return jsonify({**jsonable(found), "cases": jsonable(services.components.cases_of(component))})


def init_app(server) -> None:
    """Register the component routes (the factory calls this beside ``api.init_app``)."""
    server.register_blueprint(blueprint)


# ---------------------------------------------------------------------------- OpenAPI
_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_COMMON = {"401": {"description": "Not authenticated.", "content": _ERROR},
           "403": {"description": "Role not allowed.", "content": _ERROR}}
_COMPONENT = {"type": "object", "required": ["code", "kind", "lon", "lat", "grid_code", "maintainer_department"],
              "properties": {"code": {"type": "string", "pattern": COMPONENT_CODE}, "kind": {"type": "string"},
                             "name": {"type": ["string", "null"]}, "lon": {"type": "number"},
                             "lat": {"type": "number"}, "grid_code": {"type": "string"},
                             "community_code": {"type": "string"}, "street_code": {"type": "string"},
                             "owner_department": {"type": ["string", "null"]},
                             "title_department": {"type": ["string", "null"]},
                             "maintainer_department": {"type": ["string", "null"]},
                             "status": {"type": "string", "enum": ["in_service", "damaged", "removed"]},
                             "installed_on": {"type": ["string", "null"]}, "origin": {"type": ["string", "null"]}}}

#: path items for ``/api/v1/openapi.json`` (``paths.update(OPENAPI_PATHS)`` in build_spec)
OPENAPI_PATHS = {
    "/components": {"get": {
        "summary": "City components (城市部件) in a box, of some kinds, with the total in the box.",
        "operationId": "listComponents", "x-roles": [*READ_ACCESS["listComponents"], "admin"],
        "parameters": [
            {"name": "bbox", "in": "query", "schema": {"type": "string"},
             "description": "west,south,east,north in GCJ-02 degrees (default: the whole district)"},
            {"name": "kind", "in": "query", "schema": {"type": "string"},
             "description": "component kind (category code, e.g. C0118); repeat or comma-separate for several"},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
             "description": f"at most this many (default {DEFAULT_LIMIT})"}],
        "responses": {"200": {"description": "Components in code order, their count and the total in the box.",
                              "content": {"application/json": {"schema": {
                                  "type": "object", "required": ["components", "count", "total"],
                                  "properties": {"components": {"type": "array", "items": _COMPONENT},
                                                 "count": {"type": "integer"}, "total": {"type": "integer"},
                                                 "bbox": {"type": "array", "items": {"type": "number"}}}}}}},
                      "400": {"description": "Bad bbox, kind or limit (one-line `message`).", "content": _ERROR},
                      **_COMMON}}},
    "/components/{component}": {"get": {
        "summary": "One city component with every case that named it (newest first).",
        "operationId": "getComponent", "x-roles": [*READ_ACCESS["getComponent"], "admin"],
        "parameters": [{"name": "component", "in": "path", "required": True,
                        "schema": {"type": "string", "pattern": COMPONENT_CODE}, "example": EXAMPLE_COMPONENT,
                        "description": "16-digit component code (of the inventory: another answers 404)"}],
        "responses": {"200": {"description": "The component and its cases.", "content": {"application/json": {
            "schema": {**_COMPONENT, "required": [*_COMPONENT["required"], "cases"],
                       "properties": {**_COMPONENT["properties"],
                                      "cases": {"type": "array", "items": {"type": "object"}}}}}}},
                      "404": {"description": "No such component (or outside your area).", "content": _ERROR},
                      **_COMMON}}},
}
