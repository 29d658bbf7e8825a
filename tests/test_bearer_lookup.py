"""A bearer token is looked up once per API request (issue 12 follow-up): the session check of
every request (flask-login's request loader) and the API's caller share the one answer, so
a request costs one query of the tokens table and a bad token counts as one failed attempt.

Counted with a SQLAlchemy event on the real engine: every SELECT that reads ``api_tokens``."""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from datasource.services import accounts
from datasource.services.commands import CommandService
from tests.test_permissions import prepare


@contextmanager
def token_reads(engine):
    """The list of SELECT statements on the tokens table run inside the block."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        text = statement.lstrip().upper()
        if text.startswith("SELECT") and "API_TOKENS" in text:
            seen.append(statement)
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
def admin_token(system) -> str:
    accounts.add_user(system.engine, "looker", "admin", "password-123")
    return accounts.create_token(system.engine, "looker")


def test_a_read_reads_the_token_once(system, client, admin_token):
    headers = {"Authorization": f"Bearer {admin_token}"}
    client.get("/api/v1/stages", headers=headers)   # the first use also stamps last_used_at
    for path in ("/api/v1/stages", "/api/v1/cases", "/api/v1/requests"):
        with token_reads(system.engine) as seen:
            answer = client.get(path, headers=headers)
        assert answer.status_code == 200, answer.json
        assert len(seen) == 1, (path, seen)


def test_a_command_reads_the_token_once(system, client, admin_token):
    case_id, body = prepare(CommandService(system), "file")
    with token_reads(system.engine) as seen:
        answer = client.post(f"/api/v1/cases/{case_id}/file", json=body,
                             headers={"Authorization": f"Bearer {admin_token}"})
    assert answer.status_code == 200, answer.json
    assert len(seen) == 1, seen


def test_a_bad_token_is_read_once_and_refused(system, client, admin_token):
    with token_reads(system.engine) as seen:
        answer = client.get("/api/v1/stages", headers={"Authorization": "Bearer not-a-token"})
    assert answer.status_code == 401
    assert len(seen) == 1, seen
