"""Tokens that can be revoked (issue 12, item 2): ``citygrid tokens create --expires``,
``list``, ``revoke``; ``citygrid users disable|enable``; the API refuses a revoked or
expired token and a disabled user's token at the next request; the admin page lists and
revokes tokens (its Dash callbacks, admin only)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from datasource.services import accounts, audit, tokens

PASSWORD = "correct-horse-9"


@pytest.fixture
def people(system):
    accounts.add_user(system.engine, "op", "operator", PASSWORD)
    accounts.add_user(system.engine, "adm", "admin", PASSWORD)
    accounts.add_user(system.engine, "wall1", "wall")


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_revoked_expired_and_disabled_tokens_get_401(system, client, people):
    live = tokens.create(system.engine, "op", expires=timedelta(days=90))
    gone = tokens.create(system.engine, "op")
    old = tokens.create(system.engine, "op", expires_at=datetime.now(timezone.utc) - timedelta(seconds=1))
    for issued in (live, gone):
        assert client.get("/api/v1/stages", headers=bearer(issued.token)).status_code == 200
    assert client.get("/api/v1/stages", headers=bearer(old.token)).status_code == 401       # expired
    tokens.revoke(system.engine, gone.id)
    assert client.get("/api/v1/stages", headers=bearer(gone.token)).status_code == 401      # revoked: next request
    assert client.get("/api/v1/stages", headers=bearer(live.token)).status_code == 200      # the others still work
    accounts.set_active(system.engine, "op", False)
    assert client.get("/api/v1/stages", headers=bearer(live.token)).status_code == 401      # disabled user
    accounts.set_active(system.engine, "op", True)
    assert client.get("/api/v1/stages", headers=bearer(live.token)).status_code == 200
    states = {r["id"]: r["state"] for r in tokens.list_tokens(system.engine)}
    assert states == {live.id: "active", gone.id: "revoked", old.id: "expired"}


def test_a_new_token_can_replace_the_old_ones(system, client, people):
    first = tokens.create(system.engine, "op")
    second = tokens.create(system.engine, "op", replace=True)
    assert client.get("/api/v1/stages", headers=bearer(first.token)).status_code == 401
    assert client.get("/api/v1/stages", headers=bearer(second.token)).status_code == 200


def test_only_the_hash_is_stored_and_last_use_is_recorded(system, client, people):
    issued = tokens.create(system.engine, "op", label="reporting client")
    row = tokens.list_tokens(system.engine)[0]
    assert issued.token not in repr(row) and row["last_used_at"] is None and row["label"] == "reporting client"
    client.get("/api/v1/stages", headers=bearer(issued.token))
    assert tokens.list_tokens(system.engine)[0]["last_used_at"] is not None


@pytest.mark.parametrize("text,life", [("90d", timedelta(days=90)), ("12h", timedelta(hours=12)),
                                       ("2w", timedelta(weeks=2)), ("30m", timedelta(minutes=30)), (None, None),
                                       ("never", None)])
def test_durations(text, life):
    assert tokens.parse_duration(text) == life


@pytest.mark.parametrize("text", ["0d", "90", "d", "-1d", "5y", "99999w", "1.5d"])
def test_bad_durations_are_one_line(text):
    with pytest.raises(tokens.TokenError, match="--expires"):
        tokens.parse_duration(text)


def test_the_cli_creates_lists_revokes_and_disables(system, runner, client, people):
    made = runner.invoke("tokens", "create", "wall1", "--expires", "90d", "--label", "lobby wall")
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", token)
    assert "expires 20" in made.stderr
    listed = runner.invoke("tokens", "list")
    assert listed.exit_code == 0 and "wall1" in listed.output and "lobby wall" in listed.output
    assert token not in listed.output and "active" in listed.output
    token_id = tokens.list_tokens(system.engine)[0]["id"]
    assert client.get(f"/wall?token={token}").status_code == 200
    revoked = runner.invoke("tokens", "revoke", str(token_id))
    assert revoked.exit_code == 0 and f"token {token_id} of wall1 revoked" in revoked.output
    again = runner.invoke("tokens", "revoke", str(token_id))
    assert again.exit_code == 1 and "already revoked" in again.output
    assert "revoked" in runner.invoke("tokens", "list", "--user", "wall1").output
    assert runner.invoke("tokens", "create", "wall1", "--expires", "soon").exit_code == 1
    assert audit.query(system.engine, action="token_revoked")[0]["user_name"] == "cli"
    op_token = runner.invoke("tokens", "create", "op").stdout.strip()
    assert client.get("/api/v1/stages", headers=bearer(op_token)).status_code == 200
    disabled = runner.invoke("users", "disable", "op")
    assert disabled.exit_code == 0 and "disabled" in disabled.output
    assert client.get("/api/v1/stages", headers=bearer(op_token)).status_code == 401
    assert "disabled" in runner.invoke("users", "list").output
    assert runner.invoke("users", "enable", "op").exit_code == 0
    assert client.get("/api/v1/stages", headers=bearer(op_token)).status_code == 200
    assert runner.invoke("tokens", "revoke", "--user", "op").output.startswith("revoked 1 token")
    assert runner.invoke("users", "disable", "ghost").exit_code == 1
    changed = runner.invoke("users", "password", "op", "--password", "new-horse-99")
    assert changed.exit_code == 0 and accounts.authenticate(system.engine, "op", "new-horse-99")


# ---------------------------------------------------------------------------- /admin, token section
def table_request(lang="en") -> dict:
    return {"output": "admin-tokens-table.children", "outputs": {"id": "admin-tokens-table", "property": "children"},
            "inputs": [{"id": "admin-tokens-tick", "property": "n_intervals", "value": 1},
                       {"id": "admin-tokens-done", "property": "data", "value": None}],
            "state": [{"id": "admin-tokens-lang", "property": "data", "value": lang}],
            "changedPropIds": ["admin-tokens-tick.n_intervals"]}


def revoke_request(token_id: int, lang="en") -> dict:
    button = {"type": "admin-token-revoke", "token": token_id}
    return {"output": "..admin-tokens-message.children...admin-tokens-done.data..",
            "outputs": [{"id": "admin-tokens-message", "property": "children"},
                        {"id": "admin-tokens-done", "property": "data"}],
            "inputs": [[{"id": button, "property": "n_clicks", "value": 1}]],
            "state": [{"id": "admin-tokens-lang", "property": "data", "value": lang}],
            "changedPropIds": ['{"token":%d,"type":"admin-token-revoke"}.n_clicks' % token_id]}


def as_user(app, system, name):
    from dashboard.web.sessions import stamp
    client = app.server.test_client()
    with client.session_transaction() as session:
        stamp(session, accounts.find_user(system.engine, name))
    return client


def test_the_admin_page_lists_and_revokes_tokens(system, app, people):
    issued = tokens.create(system.engine, "wall1", label="lobby <b>wall</b>")
    wall = app.server.test_client()
    assert wall.get(f"/wall?token={issued.token}").status_code == 200
    admin = as_user(app, system, "adm")
    answer = admin.post("/_dash-update-component", json=table_request())
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert "lobby <b>wall</b>" in answer.json["response"]["admin-tokens-table"]["children"].__repr__()
    assert issued.token not in text and "Revoke" in text and "wall1" in text
    done = admin.post("/_dash-update-component", json=revoke_request(issued.id))
    assert done.status_code == 200 and f"Token {issued.id} revoked" in done.get_data(as_text=True)
    assert tokens.list_tokens(system.engine)[0]["state"] == "revoked"
    row = audit.query(system.engine, action="token_revoked")[0]
    assert row["user_name"] == "adm" and row["role"] == "admin"
    # The open wall stops at its next request.
    tick = {"output": "wall-payload.data", "outputs": {"id": "wall-payload", "property": "data"},
            "inputs": [{"id": "wall-tick", "property": "n_intervals", "value": 1}],
            "state": [{"id": "wall-cursor", "property": "data", "value": None}], "changedPropIds": []}
    stopped = wall.post("/_dash-update-component", json=tick)
    assert stopped.status_code == 401 and stopped.json["reason"] == "token_revoked"
    twice = admin.post("/_dash-update-component", json=revoke_request(issued.id))
    assert f"Token {issued.id} could not be revoked" in twice.get_data(as_text=True)


def test_only_an_admin_may_list_or_revoke(system, app, people):
    issued = tokens.create(system.engine, "op")
    operator = as_user(app, system, "op")
    assert operator.post("/_dash-update-component", json=table_request()).status_code == 204
    refused = operator.post("/_dash-update-component", json=revoke_request(issued.id))
    assert "not allowed" in refused.get_data(as_text=True)
    assert tokens.list_tokens(system.engine)[0]["state"] == "active"
    anonymous = app.server.test_client()
    assert anonymous.post("/_dash-update-component", json=revoke_request(issued.id)).status_code in (200, 204)
    assert tokens.list_tokens(system.engine)[0]["state"] == "active"


def test_the_migration_keeps_users_and_tokens(database_url):
    """A database at 0003_scope upgrades in place (existing users get session version 0, existing
    tokens no expiry and not revoked: they keep working) and downgrades again."""
    from alembic import command
    from sqlalchemy import inspect, text

    from datasource.store.database import alembic_config, make_engine, migrate
    engine = make_engine(database_url)
    command.upgrade(alembic_config(engine), "0003_scope")
    with engine.begin() as c:
        c.execute(text("INSERT INTO users (name, role, active, created_at) VALUES ('old', 'operator', :t, :at)"),
                  {"t": True, "at": datetime(2026, 11, 1, tzinfo=timezone.utc)})
        user_id = c.execute(text("SELECT id FROM users WHERE name = 'old'")).scalar()
        c.execute(text("INSERT INTO api_tokens (user_id, token_hash, created_at) VALUES (:u, :h, :at)"),
                  {"u": user_id, "h": tokens.hash_token("old-token"), "at": datetime(2026, 11, 1, tzinfo=timezone.utc)})
    migrate(engine)
    assert accounts.find_user(engine, "old").session_version == 0
    assert tokens.check(engine, "old-token").user.name == "old"
    command.downgrade(alembic_config(engine), "0003_scope")
    assert "revoked_at" not in {c["name"] for c in inspect(engine).get_columns("api_tokens")}
    engine.dispose()
