"""The Open311 GeoReport v2 door under ``/open311/v2/`` (issue 14; docs/open311.md).

=========================================  ==============================================
``GET  /open311/discovery.{fmt}``           service discovery (the endpoint, its formats)
``GET  /open311/v2/services.{fmt}``         the categories as services, with groups
``GET  /open311/v2/services/{code}.{fmt}``  a service's definition (its attributes)
``POST /open311/v2/requests.{fmt}``         report a case (form-encoded, ``api_key`` required)
``GET  /open311/v2/requests.{fmt}``         requests by ids, or by window / codes / status
``GET  /open311/v2/requests/{id}.{fmt}``    one request
``GET  /open311/v2/tokens/{token}.{fmt}``   the request a token stands for
=========================================  ==============================================

``fmt`` is ``xml`` or ``json``.  Every error under ``/open311/`` — this door's own, and those
raised around it (an unknown path, a wrong method, a body too large, a rate limit, a foreign
origin, even a crash) — is the specification's ``errors`` list in the path's format
(:func:`_spec_errors`), never an HTML page.  The language of names and messages is the
``locale`` argument, else ``Accept-Language``, else Chinese.
"""
from __future__ import annotations

import functools
import logging

from flask import Blueprint, current_app, request
from flask_limiter.util import get_remote_address

from dashboard.domain.inputs import InputRefused
from dashboard.domain.open311 import Open311Refused, parse_post, parse_query, single, split_format
from dashboard.domain.permissions import may
from dashboard.i18n import t
from dashboard.web import security
from dashboard.web.api_access import may_read
from dashboard.web.open311_format import answer, errors
from datasource.services import accounts, audit
from datasource.services.command_types import Actor, Msg
from datasource.services.open311 import PUBLIC, Open311, Viewer

log = logging.getLogger("citygrid.open311")
open311 = Blueprint("open311", __name__, url_prefix="/open311")
EXTENSION = "citygrid.open311"
PREFIX = "/open311/"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


# ---------------------------------------------------------------------------- plumbing
def _service() -> Open311:
    return current_app.extensions[EXTENSION]


def _lang() -> str:
    """``locale`` (``zh``, ``en``, ``en_US`` …), else ``Accept-Language``, else Chinese."""
    asked = (request.args.get("locale") or "").strip().lower()[:2]
    if asked in ("zh", "en"):
        return asked
    best = request.accept_languages.best_match(["zh", "en"]) if request.headers.get("Accept-Language") else None
    return best or "zh"


def _path_format() -> str:
    return "json" if request.path.endswith(".json") else "xml"


def _message(exc: Open311Refused, lang: str) -> str:
    msg = getattr(exc, "msg", None)
    if isinstance(msg, Msg):
        return msg.render(lang)
    try:
        return t(exc.key, lang, **exc.values)
    except (KeyError, IndexError, ValueError):
        return exc.key


def _door(view):
    """Run a view; a refusal becomes the specification's error list in the asked format."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except InputRefused as exc:
            refusal = Open311Refused.of_input(exc)
        except Open311Refused as exc:
            refusal = exc
        return errors(_path_format(), refusal.status, _message(refusal, _lang()))
    return wrapped


def _check_jurisdiction(value: str | None) -> None:
    """One jurisdiction: an empty or absent ``jurisdiction_id`` is accepted, and so is the
    scenario's name; anything else is not found (404)."""
    if value is None or not value.strip():
        return
    ours = _service().scenario.name
    if value.strip() != ours:
        raise Open311Refused(404, "open311.jurisdiction", value=value.strip()[:40], ours=ours)


def _viewer() -> Viewer:
    """Who reads: the public without a key; a key of a role that reads cases sees what its
    role and scope allow; a key of another role (a wall) reads as the public; a bad key → 403."""
    key = request.args.get("api_key")
    header = request.headers.get("Authorization", "")
    if not key and header.startswith("Bearer "):
        key = header[7:]
    if not key or not key.strip():
        return PUBLIC
    user = accounts.user_for_token(_service().system.engine, key.strip())
    if user is None:
        security.token_attempt_failed()
        raise Open311Refused(403, "open311.bad_key")
    if not may_read(user.role, "getCase"):
        return PUBLIC
    return Viewer(user.role, getattr(user, "department_code", None), getattr(user, "scope", None))


def _absolute(rows: list[dict]) -> list[dict]:
    """Photo URLs of this server made absolute (``media_url`` is a URI in the specification)."""
    root = request.url_root.rstrip("/")
    for row in rows:
        if isinstance(row.get("media_url"), str) and row["media_url"].startswith("/"):
            row["media_url"] = root + row["media_url"]
    return rows


# ---------------------------------------------------------------------------- routes
@open311.get("/discovery.<fmt>")
@_door
def discovery(fmt: str):
    split_format("discovery." + fmt)
    base = request.url_root.rstrip("/") + "/open311/v2"
    return answer(fmt, "discovery", {
        "changeset": "2026-11-30T00:00:00+08:00", "contact": t("open311.contact", _lang()),
        "key_service": t("open311.key_service", _lang()),
        "endpoints": [{"specification": SPECIFICATION, "url": base, "changeset": "2026-11-30T00:00:00+08:00",
                       "type": "production", "formats": ["text/xml", "application/json"]}]})


@open311.get("/v2/services.<fmt>")
@_door
def services(fmt: str):
    split_format("services." + fmt)
    _check_jurisdiction(request.args.get("jurisdiction_id"))
    return answer(fmt, "services", _service().services(_lang()))


@open311.get("/v2/services/<name>")
@_door
def service_definition(name: str):
    code, fmt = split_format(name)
    _check_jurisdiction(request.args.get("jurisdiction_id"))
    return answer(fmt, "service_definition", _service().definition(code, _lang()))


@open311.route("/v2/requests.<fmt>", methods=["GET", "POST"])
@_door
def requests(fmt: str):
    split_format("requests." + fmt)
    if request.method == "POST":
        return _post(fmt)
    _check_jurisdiction(request.args.get("jurisdiction_id"))
    viewer = _viewer()
    service = _service()
    query = parse_query({name: request.args.get(name) for name in
                         ("service_request_id", "service_code", "start_date", "end_date", "status")},
                        service.kinds, service.system.now())
    return answer(fmt, "service_requests", _absolute(service.requests(query, viewer, _lang())))


@open311.get("/v2/requests/<name>")
@_door
def one_request(name: str):
    case_id, fmt = split_format(name)
    _check_jurisdiction(request.args.get("jurisdiction_id"))
    viewer = _viewer()
    return answer(fmt, "service_requests", _absolute([_service().request(case_id, viewer, _lang())]))


@open311.get("/v2/tokens/<name>")
@_door
def token(name: str):
    value, fmt = split_format(name)
    _check_jurisdiction(request.args.get("jurisdiction_id"))
    return answer(fmt, "service_requests", [_service().token(value)])


@open311.get("/<path:rest>")   # other methods on unknown paths: 405, in the spec's form too
def unknown(rest: str):
    return errors(_path_format(), 404, t("open311.not_found", _lang(), path=request.path[:200]))


def _post(fmt: str):
    """POST requests: the key first (403), then the form (400/404), then the report."""
    service = _service()
    engine = service.system.engine
    if request.mimetype not in FORM_TYPES:
        raise Open311Refused(400, "open311.not_form")
    items = {key: values for key, values in request.form.lists()}
    _check_jurisdiction(single(items, "jurisdiction_id"))
    key = (single(items, "api_key") or "").strip()
    user = accounts.user_for_token(engine, key) if key else None
    if user is None:
        if key:
            security.token_attempt_failed()
        refusal = Open311Refused(403, "open311.bad_key" if key else "open311.no_key")
        audit.record(engine, user="-", role=None, action="report", outcome="refused", remote_addr=request.remote_addr,
                     message="open311: " + _message(refusal, "en"))
        raise refusal
    actor = Actor.of(user, request.remote_addr)
    try:
        if not may(actor.role, "report"):
            raise Open311Refused(403, "open311.key_role", role=actor.role)
        posted = parse_post(items, service.kinds)
    except Open311Refused as exc:
        service.commands.refuse_input(actor, "report", None, exc.status, Msg(exc.key, **exc.values))
        raise
    return answer(fmt, "service_requests", [service.report(actor, posted, _lang())])


# ---------------------------------------------------------------------------- every error in the spec's form
STATUS_KEYS = {403: "open311.origin", 404: "open311.not_found", 405: "open311.method", 413: "open311.too_large",
               429: "open311.limited"}


def _spec_errors(response):
    """An error under /open311/ that another part of the app answered (HTML, plain text, the
    API's JSON) is rewritten as the specification's error list, keeping status and Retry-After."""
    if not request.path.startswith(PREFIX) or response.status_code < 400 or getattr(response, "open311", False):
        return response
    status = response.status_code
    key = STATUS_KEYS.get(status, "open311.error" if status >= 500 else "open311.refused")
    text = t(key, _lang(), path=request.path[:200], method=request.method)
    out = errors(_path_format(), status, text)
    if response.headers.get("Retry-After"):
        out.headers["Retry-After"] = response.headers["Retry-After"]
    return out


def init_app(server) -> None:
    """Register the door, its rate limit on POST requests and the error guard (from the factory)."""
    services = server.extensions["citygrid.services"]
    server.extensions[EXTENSION] = Open311(services.system, services.commands, services.cases)
    server.register_blueprint(open311)
    limiter = server.extensions[security.EXTENSION].limiter
    limit = services.system.settings.open311_rate_limit
    endpoint = "open311.requests"
    server.view_functions[endpoint] = limiter.limit(limit, key_func=get_remote_address, methods=["POST"])(
        server.view_functions[endpoint])
    server.after_request(_spec_errors)


__all__ = ["open311", "init_app", "EXTENSION"]
