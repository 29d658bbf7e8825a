"""An audit trail that cannot be skipped (issue 12, item 4), on real Redis and both databases.

Every command type is driven with hostile text — lone surrogates, NUL, control characters,
100 KB strings, markup — through the API and through the command service (the pages' door):
each answer is a success or a clear 4xx, and each leaves exactly one audit row whose text is
storable.  The row is written in the same step as the effect: when it cannot be written, the
command does not act."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from dashboard.domain.inputs import storable_problem
from dashboard.domain.permissions import ACTIONS
from datasource.services import audit
from datasource.services.command_types import Actor, CommandRefused
from datasource.services.commands import CommandService
from tests.helpers import LAT, LON
from tests.test_api import client, tokens  # noqa: F401 - fixtures: the document-checking client, a token per role
from tests.test_permissions import ADMIN, prepare, url_of

HOSTILE = {
    "surrogate": "x\ud800y",
    "nul": "a\x00b",
    "controls": "\x07\x1b[31mred\x85\x9b",
    "huge": "长" * 100_000,
    "markup": "<script>window.__x=1</script><img src=x onerror=alert(1)>=cmd|' /C calc'!A0",
}
#: the free-text field each command takes
TEXT_FIELD = {"report": "description", "file": "note", "reject": "reason", "dispatch": "note", "return": "reason",
              "handle": "note", "verify": "reason", "close": "note", "extend": "reason", "suspend": "reason",
              "resume": "note", "request": "reason", "decline": "reason"}
ROLE_OF = {"report": "supervision", "file": "supervision", "reject": "supervision", "dispatch": "operator",
           "return": "department", "handle": "department", "verify": "supervision", "close": "supervision",
           "extend": "supervision", "suspend": "supervision", "resume": "supervision", "request": "department",
           "decline": "supervision"}


@pytest.fixture
def service(system) -> CommandService:
    return CommandService(system)


def newest(engine) -> dict:
    return audit.query(engine, limit=1)[0]


def test_every_command_with_hostile_text_over_the_api_is_answered_and_audited(system, service, client, tokens):
    assert set(TEXT_FIELD) == set(ACTIONS)
    for action in ACTIONS:
        for name, hostile in HOSTILE.items():
            case_id, body = prepare(service, action)
            body = {**body, TEXT_FIELD[action]: hostile}
            if action == "verify":
                body["result"] = "fail"
            before = audit.count(system.engine)
            answer = client.post(url_of(action, case_id), json=body, headers=tokens[ROLE_OF[action]])
            where = f"{action} with {name} text → {answer.status_code} {answer.get_json(silent=True)}"
            assert answer.status_code < 500, where
            assert audit.count(system.engine) == before + 1, where
            row = newest(system.engine)
            assert row["action"] == action, where
            assert row["outcome"] == ("ok" if answer.status_code < 300 else row["outcome"]), where
            if answer.status_code >= 400:
                assert row["outcome"] in ("refused", "conflict") and row["message"], where
            assert not any(storable_problem(str(row[k] or "")) for k in row if k != "at"), where
            if name in ("surrogate", "nul", "huge"):
                assert answer.status_code in (400, 413), where
            if name == "markup":
                assert answer.status_code in (200, 201), where


def test_every_command_with_hostile_text_through_the_service_is_refused_or_done_and_audited(system, service):
    sup = Actor("sup", "admin", remote_addr="10.0.0.7")
    for action in ACTIONS:
        for name, hostile in HOSTILE.items():
            case_id, body = prepare(service, action)
            body = {**body, TEXT_FIELD[action]: hostile}
            if action == "verify":
                body["result"] = "fail"
            before = audit.count(system.engine)
            try:
                service.execute(sup, action, case_id, body)
                status = 200
            except CommandRefused as exc:
                status = exc.status
            where = f"{action} with {name} text → {status}"
            assert status in (200, 400), where
            assert status == (200 if name in ("controls", "markup") else 400), where
            assert audit.count(system.engine) == before + 1, where
            row = newest(system.engine)
            assert (row["action"], row["outcome"]) == (action, "ok" if status == 200 else "refused"), where


def test_a_declined_request_with_a_lone_surrogate_keeps_the_request_and_its_audit_row(system, service):
    """Before: ``reason="x\\ud800"`` on decline answered 200, removed the request, and its audit
    row failed to write ("could not write the audit row" in the log)."""
    case_id, _ = prepare(service, "decline")
    with pytest.raises(CommandRefused) as info:
        service.decline(Actor("sup", "supervision"), case_id, "x\ud800")
    assert info.value.status == 400
    assert [r["case_id"] for r in service.requests()] == [case_id]
    row = newest(system.engine)
    assert (row["action"], row["outcome"], row["case_id"]) == ("decline", "refused", case_id)
    service.decline(Actor("sup", "supervision"), case_id, "不同意\x07")
    assert service.requests() == []
    row = newest(system.engine)
    assert (row["action"], row["outcome"], row["message"]) == ("decline", "ok", "不同意")


def test_a_refusal_echoing_hostile_text_is_audited_with_clean_text(system, service):
    """An unknown department or case echoed in the message must not make the row unwritable."""
    case_id, _ = prepare(service, "dispatch")
    for department in ("x\ud800", "a\x00b"):
        with pytest.raises(CommandRefused):
            service.dispatch(ADMIN, case_id, department)
        row = newest(system.engine)
        assert row["outcome"] == "refused" and "unknown department" in row["message"]
        assert storable_problem(row["message"]) is None
    with pytest.raises(CommandRefused):
        service.file(ADMIN, "DC2026\x00\ud800")
    assert newest(system.engine)["action"] == "file"


def test_no_audit_row_no_effect(system, service):
    """The row is written in the same transaction that stays open while the command acts:
    when the audit table cannot take the row, the command fails and nothing is appended."""
    case_id = service.report(ADMIN, "E0102", LON, LAT, "x").case_id
    length = system.stream.client.xlen(system.stream.key)
    with system.engine.begin() as c:
        c.execute(text("ALTER TABLE audit_log RENAME TO audit_log_away"))
    try:
        with pytest.raises(Exception) as info:
            service.file(ADMIN, case_id)
        assert not isinstance(info.value, CommandRefused)
        assert system.stream.client.xlen(system.stream.key) == length
        assert service.state(case_id)["stage"] == "reported"
    finally:
        with system.engine.begin() as c:
            c.execute(text("ALTER TABLE audit_log_away RENAME TO audit_log"))
    service.file(ADMIN, case_id)
    assert newest(system.engine)["outcome"] == "ok"


def test_an_unexpected_error_is_recorded_as_such(system, service):
    """A command that crashes half-way (here Redis answers WRONGTYPE: the case's hash was
    overwritten by something else) leaves an ``error`` row naming the exception."""
    import redis
    case_id = service.report(ADMIN, "E0102", LON, LAT, "x").case_id
    system.stream.client.set(system.stream.case_key(case_id), "not a hash")
    with pytest.raises(redis.ResponseError):
        service.file(ADMIN, case_id)
    row = newest(system.engine)
    assert (row["action"], row["outcome"], row["case_id"]) == ("file", "error", case_id)
    assert "ResponseError" in row["message"]
