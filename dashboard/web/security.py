"""Browser hardening: where a state-changing request may come from, how often log-in and
tokens may be tried, and the security headers of every response.

* **Origin check** — every POST/PUT/PATCH/DELETE (Dash's ``/_dash-update-component``, the
  log-in form, the API) whose ``Origin`` (or, without one, ``Referer``) names another site is
  refused with 403 and an audit row (``action = origin_refused``).  Browsers send ``Origin``
  on every cross-site POST, so a page on ``http://evil.example`` cannot act with a logged-in
  user's cookie; clients that send neither header (curl, scripts with a bearer token) carry
  no cookie of a victim and go on to the normal authentication.
* **Rate limits** (Flask-Limiter) — ``/login`` counts every attempt per address and user
  name in a moving window (``CITYGRID_LOGIN_RATE_LIMIT``): past the limit even the right
  password is refused with 429 until the window has passed.  Failed token attempts (an
  unknown, revoked or expired bearer token, a wall's bad ``?token=``) count per address
  (``CITYGRID_TOKEN_RATE_LIMIT``); past it every token request from that address gets 429.
* **Headers** — a Content-Security-Policy without ``'unsafe-inline'`` or ``'unsafe-eval'``
  for scripts (Dash's one inline script is allowed by its hash, :meth:`dash.Dash.csp_hashes`),
  ``frame-ancestors 'self'`` with ``X-Frame-Options: SAMEORIGIN``, ``nosniff`` and a
  same-origin referrer policy (a wall's ``?token=`` never leaves the site in a Referer).
"""
from __future__ import annotations

import logging
from urllib.parse import urlparse

from flask import current_app, jsonify, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_login import current_user
from limits import parse

from dashboard.i18n import t
from datasource.services import audit

log = logging.getLogger("citygrid.security")
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
EXTENSION = "citygrid.security"


def _lang() -> str:
    asked = request.args.get("lang")
    if asked in ("zh", "en"):
        return asked
    return "en" if request.headers.get("Accept-Language", "").lower().startswith("en") else "zh"


def _address() -> str:
    return request.remote_addr or "-"


def _login_key() -> str:
    """Address + the user name tried (lower-cased, bounded): one guesser cannot lock everyone
    out of one account from elsewhere, nor try many accounts from one address unchecked."""
    name = (request.form.get("name") or "").strip().lower()[:64]
    return f"{_address()}|{name}"


class Hardening:
    """The per-app state: the limiter, the token-attempt limit, the CSP and the allowed origins."""

    def __init__(self, server, settings):
        self.limiter = Limiter(_login_key, app=server, storage_uri=settings.ratelimit_storage, strategy="moving-window",
                               headers_enabled=False, default_limits=[], key_prefix="citygrid")
        self.login_limit = settings.login_rate_limit
        self.token_limit = parse(settings.token_rate_limit)
        self.trusted = {urlparse(o.strip()).netloc.lower() for o in settings.trusted_origins.split(",") if o.strip()}
        tiles = urlparse(settings.tile_url or "")
        self.tile_host = f"{tiles.scheme}://{tiles.netloc}" if tiles.scheme and tiles.netloc else ""
        self.csp = ""

    def policy(self, script_hashes) -> str:
        """The Content-Security-Policy: only this site's scripts (plus Dash's inline renderer by
        hash); styles may be inline (Plotly and Leaflet set them at run time)."""
        images = " ".join(filter(None, ("'self'", "data:", "blob:", self.tile_host)))
        return "; ".join((
            "default-src 'self'",
            "script-src 'self' " + " ".join(script_hashes),
            "style-src 'self' 'unsafe-inline'",
            f"img-src {images}",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        ))


def _state() -> Hardening:
    return current_app.extensions[EXTENSION]


def login_limit(view):
    """Mark the log-in view for the login limit (applied by :func:`init_app`, per app)."""
    view.citygrid_login_limit = True
    return view


def token_attempt_failed() -> None:
    """Count one failed token attempt from this address."""
    state = current_app.extensions.get(EXTENSION)
    if state is not None:
        state.limiter.limiter.hit(state.token_limit, "token", _address())


def token_attempts_exceeded():
    """The 429 answer when this address has failed too many token attempts, else None."""
    state = current_app.extensions.get(EXTENSION)
    if state is None or state.limiter.limiter.test(state.token_limit, "token", _address()):
        return None
    return _too_many("sec.limit.token")


def _too_many(key: str):
    lang = _lang()
    message = t(key, lang)
    if request.path.startswith("/api/"):
        return jsonify({"error": "too_many_requests", "status": 429, "message": message}), 429
    html = (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'><title>429</title>"
            f"<link rel='stylesheet' href='/assets/base.css'></head><body><main class='notice' id='rate-limited'>"
            f"<h1>429</h1><p>{message}</p></main></body></html>")
    return html, 429, {"Content-Type": "text/html; charset=utf-8", "Retry-After": "60"}


def foreign_origin() -> str | None:
    """The other site a state-changing request comes from, or None when it is this site's
    (or the request says nothing: no browser of a victim is involved)."""
    origin = request.headers.get("Origin")
    if not origin:
        origin = request.headers.get("Referer")
        if not origin:
            return None
    if origin == "null":   # sandboxed frames, file:// pages, some redirects: never ours
        return origin
    netloc = urlparse(origin).netloc.lower()
    if netloc and (netloc == request.host.lower() or netloc in _state().trusted):
        return None
    return origin[:200]


def _refuse_foreign_origin():
    if request.method not in UNSAFE_METHODS:
        return None
    origin = foreign_origin()
    if origin is None:
        return None
    user = current_user if getattr(current_user, "is_authenticated", False) else None
    audit.record(current_app.extensions["citygrid"].engine, user=user.name if user else "-",
                 role=user.role if user else None, action="origin_refused", outcome="refused",
                 remote_addr=request.remote_addr, message=f"{request.method} {request.path[:200]} from {origin}")
    message = t("sec.origin", _lang())
    if request.path.startswith("/api/") or request.is_json:
        return jsonify({"error": "forbidden_origin", "status": 403, "message": message}), 403
    return message, 403, {"Content-Type": "text/plain; charset=utf-8"}


def _bearer_limited():
    if request.headers.get("Authorization", "").startswith("Bearer "):
        return token_attempts_exceeded()
    return None


def _headers(response):
    state = current_app.extensions.get(EXTENSION)
    if state is not None and state.csp:
        response.headers.setdefault("Content-Security-Policy", state.csp)
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def _limited(exc: RateLimitExceeded):
    """429 with a sentence, in the page's language (and an audit row for the log-in limit)."""
    if request.endpoint == "login_post":
        audit.record(current_app.extensions["citygrid"].engine, user=(request.form.get("name") or "-")[:64],
                     role=None, action="login_limited", outcome="refused", remote_addr=request.remote_addr,
                     message=f"more than {_state().login_limit} log-in attempts")
        return _too_many("sec.limit.login")
    return _too_many("sec.limit.token")


def init_app(server, system) -> Hardening:
    """The origin check (first of all request hooks), the limits, the 429 answer and the
    headers; call :func:`finish` once the Dash app and its callbacks exist."""
    state = Hardening(server, system.settings)
    server.extensions[EXTENSION] = state
    server.before_request_funcs.setdefault(None, []).insert(0, _refuse_foreign_origin)
    server.before_request(_bearer_limited)
    server.after_request(_headers)
    server.register_error_handler(RateLimitExceeded, _limited)
    return state


def finish(app) -> None:
    """After every view and callback is registered: the login limit on the marked view, and
    the CSP with the hashes of Dash's inline scripts."""
    server = app.server
    state: Hardening = server.extensions[EXTENSION]
    for endpoint, view in list(server.view_functions.items()):
        if getattr(view, "citygrid_login_limit", False):
            server.view_functions[endpoint] = state.limiter.limit(state.login_limit, key_func=_login_key,
                                                                  methods=["POST"])(view)
    state.csp = state.policy(app.csp_hashes())
