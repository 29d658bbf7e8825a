"""Who is calling the API and how a refusal is answered: shared by every blueprint under
``/api/v1`` (:mod:`dashboard.web.api` for cases and commands, :mod:`dashboard.web.api_reports`
for the supervisors' evaluations), so authentication, roles and error bodies are the same
everywhere.  Roles per read operation come from :data:`dashboard.domain.permissions.READ_ACCESS`."""
from __future__ import annotations

from flask import current_app, jsonify, request
from flask_login import current_user

from dashboard.domain.permissions import READ_ACCESS
from dashboard.web.auth import bearer_user, check_csrf
from dashboard.domain.codes import is_case_id
from datasource.services import audit
from datasource.services.command_types import Msg


class ApiError(Exception):
    """A refusal before any command runs (authentication, role, the body's form): status and message."""

    def __init__(self, status: int, msg: Msg, error: str | None = None):
        self.status, self.msg = status, msg
        self.error = error or {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
                               405: "method_not_allowed", 409: "conflict", 413: "too_large",
                               415: "unsupported_media_type"}.get(status, "error")
        super().__init__(msg.render("en"))


def app_services():
    return current_app.extensions["citygrid.services"]


def request_lang() -> str:
    asked = request.args.get("lang")
    if asked in ("zh", "en"):
        return asked
    return "zh" if request.headers.get("Accept-Language", "").lower().startswith("zh") else "en"


def error_response(status: int, msg: Msg, error: str | None = None, **extra):
    err = ApiError(status, msg, error)
    body = {"error": err.error, "status": status, "message": msg.render(request_lang()), **extra}
    return jsonify(body), status


def caller(write: bool):
    """The caller (bearer token first, then the session); ApiError 401/403 otherwise."""
    engine = current_app.extensions["citygrid"].engine
    header = request.headers.get("Authorization")
    if header is not None:
        if not header.startswith("Bearer "):
            raise ApiError(401, Msg("api.unauthenticated"))
        user = bearer_user(engine, header[7:].strip())   # looked up once per request
        if user is None:
            raise ApiError(401, Msg("api.unauthenticated"))
        return user
    if getattr(current_user, "is_authenticated", False):
        if write:
            if not check_csrf():
                raise ApiError(403, Msg("api.csrf"), "csrf")
        return current_user._get_current_object()
    raise ApiError(401, Msg("api.unauthenticated"))


def reader(operation: str):
    """The caller of a read operation, if :data:`READ_ACCESS` lets its role call it."""
    user = caller(write=False)
    if not may_read(user.role, operation):
        raise ApiError(403, Msg("api.forbidden"))
    return user


def may_read(role: str | None, operation: str) -> bool:
    """Whether ``role`` may call the read ``operation`` (admin may read everything)."""
    return role == "admin" or role in READ_ACCESS[operation]


def write_caller(action: str, case_id: str | None):
    """The authenticated caller of a write (``caller(write=True)``); a caller refused here
    (no or a bad token, a bad CSRF token) is audited before the ApiError goes up — every
    write door calls this, so no refused write escapes the trail."""
    try:
        return caller(write=True)
    except ApiError as exc:
        audit.record(app_services().system.engine, user="-", role=None, action=action, outcome="refused",
                     case_id=case_id if case_id and is_case_id(case_id) else None, remote_addr=request.remote_addr,
                     message=exc.msg.render("en"))
        raise
