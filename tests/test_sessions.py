"""Sessions that end when they should (issue 12, item 1): a cookie saved before ``/logout``,
a password change or a deactivation stops working at once; idle and absolute time-outs;
walls opened with a display token have no idle time-out, and stop at the next request when
their token is revoked.  The app runs in-process over HTTP on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from datasource.services import accounts, tokens

PASSWORD = "correct-horse-9"
#: A Dash callback request any logged-in page makes (the wall's tick).
TICK = {"output": "wall-payload.data", "outputs": {"id": "wall-payload", "property": "data"},
        "inputs": [{"id": "wall-tick", "property": "n_intervals", "value": 1}],
        "state": [{"id": "wall-cursor", "property": "data", "value": None}],
        "changedPropIds": ["wall-tick.n_intervals"]}


@pytest.fixture
def people(system):
    accounts.add_user(system.engine, "op", "operator", PASSWORD)
    accounts.add_user(system.engine, "sup", "supervisor", PASSWORD)
    accounts.add_user(system.engine, "wall1", "wall")


def log_in(app, client, name: str, password: str = PASSWORD):
    """Log in through the real form (with its CSRF token); the answer."""
    from flask import session
    from flask_wtf.csrf import generate_csrf
    with app.server.test_request_context():
        token, raw = generate_csrf(), session["csrf_token"]
    with client.session_transaction() as s:
        s["csrf_token"] = raw
    return client.post("/login", data={"name": name, "password": password, "next": "/wall", "csrf_token": token})


def saved_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def replay(app, cookie: str):
    """A new client carrying only a saved session cookie (what a thief would have)."""
    other = app.server.test_client()
    other.set_cookie("session", cookie)
    return other


def test_logout_ends_a_saved_cookie(app, client, people):
    assert log_in(app, client, "op").status_code == 302
    cookie = saved_cookie(client)
    assert replay(app, cookie).get("/api/v1/stages").status_code == 200
    assert replay(app, cookie).post("/_dash-update-component", json=TICK).status_code == 200
    client.get("/logout")
    assert replay(app, cookie).get("/api/v1/stages").status_code == 401
    answer = replay(app, cookie).post("/_dash-update-component", json=TICK)
    assert answer.status_code == 401
    assert answer.json["error"] == "session_ended" and answer.json["location"].startswith("/login")


def test_logout_ends_every_session_of_the_user(app, people):
    laptop, phone = app.server.test_client(), app.server.test_client()
    log_in(app, laptop, "op")
    log_in(app, phone, "op")
    assert phone.get("/api/v1/stages").status_code == 200
    laptop.get("/logout")
    assert phone.get("/api/v1/stages").status_code == 401


def test_password_change_and_deactivation_end_sessions(system, app, people):
    first, second = app.server.test_client(), app.server.test_client()
    log_in(app, first, "op")
    log_in(app, second, "sup")
    accounts.set_password(system.engine, "op", "another-horse-9")
    assert first.get("/api/v1/stages").status_code == 401
    assert log_in(app, first, "op").headers["Location"].startswith("/login?failed")  # the old password is gone
    assert log_in(app, first, "op", "another-horse-9").status_code == 302
    assert first.get("/api/v1/stages").status_code == 200
    assert accounts.set_active(system.engine, "sup", False)
    assert second.get("/api/v1/stages").status_code == 401
    assert log_in(app, second, "sup").headers["Location"].startswith("/login?failed")
    assert accounts.set_active(system.engine, "sup", True)
    assert log_in(app, second, "sup").status_code == 302


def test_idle_and_absolute_time_outs(system, app, client, people):
    guard = app.server.extensions["citygrid.sessions"]
    start = guard.now()
    log_in(app, client, "op")
    try:
        guard.now = lambda: start + 29 * 60          # idle 29 min: still in (and "seen" again now)
        assert client.get("/api/v1/stages").status_code == 200
        guard.now = lambda: start + 58 * 60          # 29 min after that request: still in
        assert client.get("/api/v1/stages").status_code == 200
        guard.now = lambda: start + 90 * 60          # 32 min idle: out
        answer = client.post("/_dash-update-component", json=TICK)
        assert answer.status_code == 401 and answer.json["reason"] == "idle"
        log_in(app, client, "op")                    # absolute: 12 h after log-in, however busy
        opened = guard.now()
        for minutes in range(25, 12 * 60, 25):       # busy: a request every 25 minutes
            guard.now = lambda m=minutes: opened + m * 60
            assert client.get("/api/v1/stages").status_code == 200, minutes
        guard.now = lambda: opened + 12 * 3600 + 1
        answer = client.post("/_dash-update-component", json=TICK)
        assert answer.status_code == 401 and answer.json["reason"] == "expired"
    finally:
        del guard.now   # back to the class default (the real time)


def test_a_wall_has_no_idle_time_out_and_stops_when_its_token_is_revoked(system, app, client, people):
    guard = app.server.extensions["citygrid.sessions"]
    issued = tokens.create(system.engine, "wall1", label="lobby")
    assert client.get(f"/wall?token={issued.token}").status_code == 200
    start = guard.now()
    try:
        guard.now = lambda: start + 5 * 3600             # five quiet hours: a wall is nobody's keyboard
        assert client.post("/_dash-update-component", json=TICK).status_code == 200
    finally:
        del guard.now
    tokens.revoke(system.engine, issued.id)
    answer = client.post("/_dash-update-component", json=TICK)
    assert answer.status_code == 401
    assert answer.json["reason"] == "token_revoked" and answer.json["location"] == "/session-ended?reason=token_revoked"
    # Reloading the wall's URL shows the "display token revoked" screen, in both languages.
    reload = client.get(f"/wall?token={issued.token}")
    assert reload.status_code == 302 and reload.headers["Location"] == "/session-ended?reason=token_revoked"
    screen = client.get("/session-ended?reason=token_revoked&lang=en")
    assert b"This display token has been revoked" in screen.data and b"<script" not in screen.data
    assert "显示令牌已被吊销" in client.get("/session-ended?reason=token_revoked").get_data(as_text=True)


def test_a_wall_reopens_with_its_token_after_the_absolute_time_out(system, app, client, people):
    guard = app.server.extensions["citygrid.sessions"]
    issued = tokens.create(system.engine, "wall1")
    client.get(f"/wall?token={issued.token}")
    start = guard.now()
    try:
        guard.now = lambda: start + 13 * 3600
        answer = client.post("/_dash-update-component", json=TICK)
        assert answer.status_code == 401 and answer.json == {"error": "session_ended", "reason": "expired",
                                                             "reload": True}
        assert client.get(f"/wall?token={issued.token}").status_code == 200   # what the reload does
        assert client.post("/_dash-update-component", json=TICK).status_code == 200
    finally:
        del guard.now


def test_a_person_token_never_opens_a_session_from_the_url(system, app, client, people):
    token = accounts.create_token(system.engine, "op")
    client.get(f"/wall?token={token}")
    assert client.get("/api/v1/stages").status_code == 401


def test_a_session_without_its_stamps_is_not_accepted(system, app, client, people):
    """A cookie signed before sessions were checkable (only ``_user_id``) does not log anyone in."""
    user = accounts.find_user(system.engine, "op")
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = str(user.id), True
    assert client.get("/api/v1/stages").status_code == 401


@pytest.mark.parametrize("secure", [False, True])
def test_the_cookie_is_secure_when_the_setting_says_so(system, people, secure):
    from dashboard.web.factory import create_app, start
    from datasource.system import System
    other = System(system.settings.with_(cookie_secure=secure)).start()
    app = start(create_app(other.settings, other))
    client = app.server.test_client()
    answer = log_in(app, client, "op")
    other.close()
    cookie = answer.headers["Set-Cookie"]
    assert ("Secure" in cookie) is secure and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert ("Strict-Transport-Security" in answer.headers) is secure
