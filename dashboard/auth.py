"""Log-in for the web app: sessions (flask-login) for people, bearer tokens for API
clients, and a read-only display token in the URL for walls (``/wall?token=…``).

Permissions are checked on the server: :func:`require_role` for Flask views and
:func:`current_role` / :func:`allowed` for Dash callbacks.  Forms posted by browsers
carry a CSRF token bound to the session.
"""
from __future__ import annotations

import hmac
import secrets
import threading
import time
from urllib.parse import urlparse

from flask import abort, g, redirect, request, session
from flask_login import LoginManager, current_user, login_user, logout_user

from datasource import accounts

CSRF_KEY = "_csrf"


def init_app(server, system) -> None:
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
        check_csrf()
        user = accounts.authenticate(system.engine, request.form.get("name", ""), request.form.get("password", ""))
        target = safe_next(request.form.get("next"))
        if user is None:
            return redirect("/login?failed=1&next=" + target)
        session.clear()
        login_user(user)
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


def csrf_token() -> str:
    if CSRF_KEY not in session:
        session[CSRF_KEY] = secrets.token_urlsafe(24)
    return session[CSRF_KEY]


def check_csrf() -> None:
    sent = request.form.get(CSRF_KEY) or request.headers.get("X-CSRF-Token", "")
    if not sent or not hmac.compare_digest(sent, session.get(CSRF_KEY, "")):
        abort(400, "missing or wrong CSRF token; reload the page and try again")


def current_role() -> str | None:
    """The role of whoever sent this request (None when nobody is logged in)."""
    return current_user.role if getattr(current_user, "is_authenticated", False) else None


def allowed(roles) -> bool:
    role = current_role()
    return role is not None and (roles is None or role in roles or role == "admin")
