"""Log-in for the web app: sessions (flask-login) for people, bearer tokens for API
clients, and a read-only display token in the URL for walls (``/wall?token=…``).

Permissions are checked on the server (the rules live in :mod:`dashboard.domain.permissions`;
Dash callbacks ask :func:`callbacks.common.allowed`).  Forms posted by browsers and API
calls made with a session carry a CSRF token bound to the session (Flask-WTF's
:class:`~flask_wtf.csrf.CSRFProtect`, checked explicitly where a session may write: the
log-in form and the API).  Dash's own callback requests are JSON POSTs from the same
origin; the session cookie is ``SameSite=Lax``, so another site cannot make a browser send
them with the cookie.
"""
from __future__ import annotations

import threading
import time
from urllib.parse import urlparse

from flask import g, redirect, request, session
from flask_login import LoginManager, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from dashboard.domain.permissions import landing
from datasource.services import accounts

csrf = CSRFProtect()


def check_csrf() -> bool:
    """Whether this request carries a valid CSRF token (form field ``csrf_token`` or header
    ``X-CSRF-Token``/``X-CSRFToken``) bound to its session."""
    try:
        csrf.protect()
    except CSRFError:
        return False
    return True


def init_app(server, system) -> None:
    # CSRF is checked where a session may write (log-in form, API), not on every POST:
    # Dash's callback requests are same-origin JSON (see the module docstring).
    server.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    server.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid for the session's life
    csrf.init_app(server)
    manager = LoginManager()
    manager.init_app(server)
    manager.login_view = None

    users = UserCache(system.engine)

    @manager.user_loader
    def load_user(user_id):
        return users.get(user_id)

    @manager.request_loader
    def load_from_request(req):
        header = req.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return accounts.user_for_token(system.engine, header[7:].strip())
        return None

    @server.before_request
    def display_token():
        """``?token=`` logs a wall in for its session (read-only role).

        Only a wall user's token is accepted here: a token in a URL ends up in browser
        history and proxy logs, so a person's API token must never open a session this way."""
        token = request.args.get("token")
        if token and request.method == "GET":
            user = accounts.user_for_token(system.engine, token)
            if user is not None and user.role == "wall":
                login_user(user)
                g.token_login = True

    @server.route("/login", methods=["POST"])
    def login_post():
        if not check_csrf():
            return redirect("/login?failed=csrf&next=" + safe_next(request.form.get("next")))
        user = accounts.authenticate(system.engine, request.form.get("name", ""), request.form.get("password", ""))
        target = safe_next(request.form.get("next"))
        if user is None:
            return redirect("/login?failed=1&next=" + target)
        session.clear()
        login_user(user)
        asked = urlparse(target)
        if asked.path == "/":   # no page asked for: the role's own page (permissions.LANDING)
            from layouts import pages
            target = landing(user.role, pages()) + (f"?{asked.query}" if asked.query else "")
        return redirect(target)

    @server.route("/logout")
    def logout():
        logout_user()
        session.clear()
        return redirect("/")


class UserCache:
    """Users by id for a few seconds: every Dash callback request loads its user, and a
    wall polls every second — one database round trip per request was ~1 ms of each tick.
    A deactivated user keeps access for at most ``ttl`` seconds."""

    def __init__(self, engine, ttl: float = 5.0):
        self.engine, self.ttl = engine, ttl
        self._users: dict[str, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get(self, user_id):
        key = str(user_id)
        now = time.monotonic()
        hit = self._users.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        user = accounts.get_user(self.engine, user_id)
        with self._lock:
            if len(self._users) > 10_000:
                self._users.clear()
            self._users[key] = (now, user)
        return user


def safe_next(target: str | None) -> str:
    """Only redirect to a path on this site."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target
