"""Log-in for the web app: sessions (flask-login) for people, bearer tokens for API
clients, and a read-only display token in the URL for walls (``/wall?token=…``).

Permissions are checked on the server (the rules live in :mod:`dashboard.domain.permissions`;
Dash callbacks ask :func:`callbacks.common.allowed`).  Forms posted by browsers and API
calls made with a session carry a CSRF token bound to the session (Flask-WTF's
:class:`~flask_wtf.csrf.CSRFProtect`, checked explicitly where a session may write: the
log-in form and the API).  Every state-changing request from a browser must also come from
this site's origin (:mod:`dashboard.web.security`); the session cookie is ``SameSite=Lax``.

Sessions end when they should (:mod:`dashboard.web.sessions`): :func:`check_session` runs on
every request; :func:`display_token_refusal` is the check a long-lived wall stream repeats.
"""
from __future__ import annotations

from urllib.parse import urlparse

from flask import g, redirect, request, session
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from dashboard.domain.permissions import landing
from dashboard.web import security, sessions
from datasource.services import accounts, tokens

csrf = CSRFProtect()
#: ``flask.g`` attribute: (token, its user or None) once a request's bearer token was looked up.
BEARER_SEEN = "citygrid_bearer"
#: Requests that carry no data and need no session check.
STATIC_PATHS = ("/assets/", "/_dash-component-suites/", "/_favicon.ico", "/static/")


def check_csrf() -> bool:
    """Whether this request carries a valid CSRF token (form field ``csrf_token`` or header
    ``X-CSRF-Token``/``X-CSRFToken``) bound to its session."""
    try:
        csrf.protect()
    except CSRFError:
        return False
    return True


def init_app(server, system) -> None:
    # CSRF tokens are checked where a session may write (log-in form, API); Dash's callback
    # requests are JSON POSTs, guarded by the Origin check of dashboard.web.security.
    server.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    server.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid for the session's life
    csrf.init_app(server)
    guard = sessions.init_app(server, system)
    manager = LoginManager()
    manager.init_app(server)
    manager.login_view = None
    manager.user_loader(guard.load)

    @manager.request_loader
    def load_from_request(req):
        header = req.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return bearer_user(system.engine, header[7:].strip())
        return None

    @server.before_request
    def display_token():
        """``?token=`` logs a wall in for its session (read-only role).

        Only a wall user's token is accepted here: a token in a URL ends up in browser
        history and proxy logs, so a person's API token must never open a session this way.
        A revoked or expired display token shows ``/session-ended`` ("display token revoked")."""
        token = request.args.get("token")
        if not token or request.method != "GET":
            return None
        refused = security.token_attempts_exceeded()
        if refused is not None:
            return refused
        found, reason = tokens.inspect(system.engine, token)
        if found is not None and found.user.role == "wall":
            session.clear()
            login_user(found.user)
            guard.opened(found.user, found.token_id)
            g.token_login = True
            return None
        security.token_attempt_failed()
        if reason in ("token_revoked", "token_expired", "disabled") and request.path != "/session-ended":
            return redirect("/session-ended?reason=" + reason)
        return None

    @server.before_request
    def session_still_valid():
        """Every request: has the session ended (log-out elsewhere, time-out, revoked token)?"""
        return check_session()

    @server.route("/login", methods=["POST"])
    @security.login_limit
    def login_post():
        if not check_csrf():
            return redirect("/login?failed=csrf&next=" + safe_next(request.form.get("next")))
        user = accounts.authenticate(system.engine, request.form.get("name", ""), request.form.get("password", ""))
        target = safe_next(request.form.get("next"))
        if user is None:
            return redirect("/login?failed=1&next=" + target)
        session.clear()
        login_user(user)
        guard.opened(user)
        asked = urlparse(target)
        if asked.path == "/":   # no page asked for: the role's own page (permissions.LANDING)
            from layouts import pages
            target = landing(user.role, pages()) + (f"?{asked.query}" if asked.query else "")
        return redirect(target)

    @server.route("/logout")
    def logout():
        """Ends every session of this user (every browser), not only this cookie."""
        if getattr(current_user, "is_authenticated", False) and session.get("_user_id"):
            accounts.end_sessions(system.engine, current_user.id)
        logout_user()
        session.clear()
        return redirect("/")


def bearer_user(engine, token: str):
    """The user of a bearer token (API), None when it is unknown, revoked or expired; failed
    attempts count towards the per-address token limit (:mod:`dashboard.web.security`).

    Looked up once per request: flask-login's request loader asks first (every request's
    session check), the API's :func:`~dashboard.web.api_access.caller` then gets the same
    answer from ``flask.g`` — one database round trip, one failed attempt counted."""
    known = g.get(BEARER_SEEN)
    if known is not None and known[0] == token:
        return known[1]
    found = tokens.check(engine, token)
    user = None if found is None else found.user
    setattr(g, BEARER_SEEN, (token, user))
    if user is None:
        security.token_attempt_failed()
    return user


def check_session():
    """The one session check of every request — pages, Dash callbacks (the wall's too), the
    API: loads the session's user (flask-login's loader runs
    :meth:`~dashboard.web.sessions.SessionGuard.load`: session version, time-outs, and for a
    wall its display token, on every call), and answers a Dash callback whose session has
    just ended with the 401 that sends the page to the log-in or to "display token revoked".
    None when the request may go on (logged in, or anonymous)."""
    if request.path.startswith(STATIC_PATHS):
        return None   # scripts and styles: no session read, no database round trip
    getattr(current_user, "is_authenticated", False)   # runs the loader once for this request
    return sessions.ended_answer()


def display_token_refusal(engine, token_id: int | None) -> str | None:
    """For a long-lived response (the wall's server-sent events) opened by a display-token
    session (``session["tok"]``, read when the stream opens): why it must stop now
    (``token_revoked``, ``token_expired``, ``disabled``), or None.  Call it before each event,
    so a revocation ends an open stream."""
    return None if token_id is None else tokens.refusal(engine, token_id)


def safe_next(target: str | None) -> str:
    """Only redirect to a path on this site."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target
