"""Browser sessions that end when they should: log-out, password change, deactivation,
idle and absolute time-outs, and a wall's revoked display token.

The session itself is Flask's signed cookie; what makes it revocable is checked against the
database on every request (:meth:`SessionGuard.load`, flask-login's user loader):

* ``sv`` — the user's ``session_version`` when the session opened.  Log-out, a password
  change and deactivation bump the version (:mod:`datasource.services.accounts`), so every
  cookie of that user — including one copied before ``/logout`` — stops working at once;
* ``t0`` — when the session opened: older than ``CITYGRID_SESSION_MAX_HOURS`` ends it;
* ``seen`` — the last request (written at most once a minute, so the cookie is not re-sent
  on every wall tick): older than ``CITYGRID_SESSION_IDLE_MINUTES`` ends it;
* ``tok`` — for a wall opened with ``?token=``, the token's id: the token is checked on every
  request (revoked, expired, user disabled), and such a session has no idle time-out — a
  wall is nobody's keyboard.  At the absolute time-out a wall reloads its page, whose URL
  carries the token, and opens a new session if the token is still good.

When a session ends during a Dash callback request, the answer is 401 with
``{"error": "session_ended", "reason": …, "location": …}``; ``assets/session.js`` sends the
page there (the log-in page, or ``/session-ended`` saying "display token revoked").
"""
from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from flask import Response, jsonify, request, session

from dashboard.i18n import t
from datasource.services import accounts, tokens

#: How often ``seen`` is rewritten: the idle time-out is exact to this many seconds.
SEEN_EVERY = 60
#: Reasons after which the person logs in again (the others show /session-ended).
LOGIN_AGAIN = ("logged_out", "idle", "expired", "password", "unknown")
DASH_PATHS = ("/_dash-update-component",)
#: The wall's event stream (:mod:`dashboard.web.wall_push`): an ended session is told there
#: as an ``ended`` event — an ``EventSource`` drops any error status without reading it.
WALL_STREAM = "/wall/stream"


def stamp(store, user, now: float | None = None, token_id: int | None = None) -> None:
    """Write what makes a session checkable into ``store`` (the session, or a test's
    ``client.session_transaction()``): the user, its session version, open and seen times."""
    now = int(time.time() if now is None else now)
    store["_user_id"], store["_fresh"] = str(user.id), True
    store["sv"] = int(getattr(user, "session_version", 0))
    store["t0"] = store["seen"] = now
    if token_id is None:
        store.pop("tok", None)
    else:
        store["tok"] = int(token_id)


class SessionGuard:
    """The session rules of one app (time-outs from the settings).  ``now`` is the real time
    (a test that must pass an hour sets it on the instance, and deletes it afterwards)."""

    now = staticmethod(time.time)

    def __init__(self, engine, settings):
        self.engine = engine
        self.idle_s = settings.session_idle_minutes * 60
        self.max_s = settings.session_max_hours * 3600

    def opened(self, user, token_id: int | None = None) -> None:
        """Stamp a session that has just been opened (after ``login_user``)."""
        stamp(session, user, self.now(), token_id)

    def load(self, user_id):
        """flask-login's user loader: the session's user if the session is still valid,
        else None (the session is cleared but for ``ended``, which says why)."""
        reason, user = self._verdict(user_id)
        if reason is None:
            now = int(self.now())
            if now - int(session.get("seen") or 0) >= SEEN_EVERY:
                session["seen"] = now
            return user
        display = "tok" in session
        session.clear()
        # Kept until a Dash request of the page can be told (any request — a map layer, a
        # style sheet — may be the first to find the session ended).
        session["ended"], session["ended_display"] = reason, display
        return None

    def _verdict(self, user_id):
        now = self.now()
        token_id = session.get("tok")
        if token_id is not None:
            reason = tokens.refusal(self.engine, token_id)
            if reason:
                return reason, None
        user = accounts.get_user(self.engine, user_id)
        if user is None:
            return "disabled", None
        if session.get("sv") != user.session_version:
            return "logged_out", None
        if now - float(session.get("t0") or 0) > self.max_s:
            return "expired", None
        if token_id is None and now - float(session.get("seen") or 0) > self.idle_s:
            return "idle", None
        return None, user


def ended_answer():
    """For a Dash callback request whose session has just ended: the 401 that tells the page
    where to go (``assets/session.js``); for the wall's event stream (a wall whose token was
    revoked before its stream opened, or while it reconnected): an ``ended`` event, which
    ``assets/wall_live.js`` follows; None for any other request (it goes on anonymous, so
    pages show "please log in" and the API answers 401)."""
    reason = session.get("ended")
    if reason is None or request.path not in DASH_PATHS + (WALL_STREAM,):
        return None
    display = session.pop("ended_display", False)
    session.pop("ended", None)
    body = ended_body(reason, display)
    if request.path == WALL_STREAM:
        return Response(f"event: ended\ndata: {json.dumps(body)}\n\n", mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache, no-store"})
    return jsonify(body), 401


def ended_body(reason: str, display: bool) -> dict:
    """What a page whose session ended for ``reason`` does next (``assets/session.js``, and
    the wall's stream, ``assets/wall_live.js``): reload (a display: its URL carries its token),
    log in again and come back (``next``), or the plain "session ended" page."""
    body = {"error": "session_ended", "reason": reason}
    if display and reason in LOGIN_AGAIN:
        body["reload"] = True      # the wall's URL carries its token: reopen if it still works
    elif reason in LOGIN_AGAIN:
        body.update(location="/login?" + urlencode({"ended": reason}), next=True)
    else:
        body["location"] = "/session-ended?" + urlencode({"reason": reason})
    return body


def stream_verdict(engine, user_id, session_version, token_id) -> str | None:
    """For a long-lived response (the wall's event stream) opened by a session: why that
    session has ended since — its display token revoked or expired, its user disabled, or
    logged out / password changed everywhere (the session version moved) — or None."""
    if token_id is not None:
        reason = tokens.refusal(engine, token_id)
        if reason:
            return reason
    user = accounts.get_user(engine, user_id)
    if user is None:
        return "disabled"
    return "logged_out" if session_version != user.session_version else None


REASON_KEYS = {"token_revoked": "sec.ended.token_revoked", "token_expired": "sec.ended.token_expired",
               "token_unknown": "sec.ended.token_revoked", "disabled": "sec.ended.disabled"}


def ended_page():
    """``/session-ended?reason=…``: a plain page (no script) saying why this screen stopped —
    for a wall, "display token revoked" and what to do about it."""
    lang = request.args.get("lang") if request.args.get("lang") in ("zh", "en") else (
        "en" if request.headers.get("Accept-Language", "").lower().startswith("en") else "zh")
    key = REASON_KEYS.get(request.args.get("reason", ""), "sec.ended.other")
    title, advice = t(key, lang), t("sec.ended.advice", lang)
    html = ("<!doctype html><html lang='{lang}'><head><meta charset='utf-8'><title>{title}</title>"
            "<link rel='stylesheet' href='/assets/base.css'></head><body class='session-ended'>"
            "<main class='notice' id='session-ended'><h1>{title}</h1><p>{advice}</p>"
            "<p><a href='/login?lang={lang}'>{login}</a></p></main></body></html>")
    return html.format(lang=lang, title=title, advice=advice, login=t("nav.login", lang)), 403, {
        "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}


def init_app(server, system) -> SessionGuard:
    """Cookie flags, the session rules and ``/session-ended``; the guard is
    ``server.extensions["citygrid.sessions"]``."""
    settings = system.settings
    server.config.update(SESSION_COOKIE_SECURE=settings.cookie_secure, REMEMBER_COOKIE_SECURE=settings.cookie_secure,
                         SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    guard = SessionGuard(system.engine, settings)
    server.extensions["citygrid.sessions"] = guard
    server.add_url_rule("/session-ended", "session_ended", ended_page)
    return guard
