"""Who may do what, over the API with bearer tokens: every role × every command.

The expected table is written out here, independently of ``commands.PERMISSIONS``: a
change of the rules must change this table too."""
from __future__ import annotations

from datetime import timedelta

import pytest

from datasource.services import accounts
from dashboard.domain.permissions import ACTIONS
from datasource.services.command_types import Actor
from datasource.services.commands import CommandService
from tests.helpers import LAT, LON

ROLES = ("wall", "operator", "supervision", "department", "supervisor", "leader", "admin")
#: command → roles allowed to run it
ALLOWED = {
    "report": {"supervision", "admin"},
    "file": {"supervision", "admin"},
    "reject": {"supervision", "admin"},
    "dispatch": {"operator", "admin"},
    "return": {"department", "admin"},
    "handle": {"department", "admin"},
    "verify": {"supervision", "admin"},
    "close": {"supervision", "admin"},
    "extend": {"supervision", "admin"},
    "suspend": {"supervision", "admin"},
    "resume": {"supervision", "admin"},
    "request": {"department", "admin"},
    "decline": {"supervision", "admin"},
}
ADMIN = Actor("setup", "admin")


def future(service: CommandService, days: int = 30) -> str:
    """``days`` after the system's clock (later than any deadline a new case has)."""
    return (service.now() + timedelta(days=days)).isoformat()


def prepare(service: CommandService, action: str) -> tuple[str | None, dict]:
    """A case in the stage ``action`` needs (dispatched cases go to sanitation), and a valid body."""
    if action == "report":
        return None, {"category": "E0102", "lon": LON, "lat": LAT, "description": "x"}
    case_id = service.report(ADMIN, "E0102", LON, LAT, "permission check").case_id
    if action in ("file", "reject"):
        return case_id, {"reason": "无效上报"} if action == "reject" else {}
    service.file(ADMIN, case_id)
    if action in ("dispatch", "suspend"):
        return case_id, {"department": "sanitation"} if action == "dispatch" else {"reason": "挂账"}
    service.dispatch(ADMIN, case_id, "sanitation")
    if action in ("return", "handle", "extend", "request", "decline"):
        if action == "decline":
            service.request(ADMIN, case_id, "suspend", "需协调")
        return case_id, {"return": {"reason": "派错"}, "handle": {"note": "ok"}, "extend": {"until": future(service)},
                         "request": {"kind": "extend", "until": future(service), "reason": "协调"},
                         "decline": {"reason": "不同意"}}[action]
    if action == "resume":
        service.suspend(ADMIN, case_id, "等待")
        return case_id, {}
    service.handle(ADMIN, case_id, "已处置")   # a handling note is required (issue 11)
    if action == "verify":
        return case_id, {"result": "pass"}
    service.verify(ADMIN, case_id, "pass")
    return case_id, {}


@pytest.fixture
def bearer(system) -> dict[str, dict]:
    headers = {}
    for role in ROLES:
        accounts.add_user(system.engine, f"u-{role}", role, "password-123", "sanitation" if role == "department" else None)
        headers[role] = {"Authorization": f"Bearer {accounts.create_token(system.engine, f'u-{role}')}"}
    return headers


def url_of(action: str, case_id: str | None) -> str:
    return "/api/v1/cases" if action == "report" else f"/api/v1/cases/{case_id}/{action}"


def test_every_role_times_every_command(system, client, bearer):
    service = CommandService(system)
    wrong = []
    for action in ACTIONS:
        for role in ROLES:
            case_id, body = prepare(service, action)
            length = system.stream.length()
            answer = client.post(url_of(action, case_id), json=body, headers=bearer[role])
            expected = (201 if action == "report" else 200) if role in ALLOWED[action] else 403
            if answer.status_code != expected:
                wrong.append(f"{role} {action}: {answer.status_code} {answer.json}")
            elif expected == 403 and system.stream.length() != length:
                wrong.append(f"{role} {action}: refused but appended")
    assert wrong == []


def test_unauthenticated_is_401_on_every_command(system, client):
    service = CommandService(system)
    for action in ACTIONS:
        case_id, body = prepare(service, action)
        for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic dXNlcjpwdw=="}):
            answer = client.post(url_of(action, case_id), json=body, headers=headers)
            assert answer.status_code == 401, (action, headers, answer.json)
            assert answer.json["error"] == "unauthenticated"


def test_wall_token_is_refused_every_command_and_case_details(system, client, bearer):
    service = CommandService(system)
    for action in ACTIONS:
        case_id, body = prepare(service, action)
        assert client.post(url_of(action, case_id), json=body, headers=bearer["wall"]).status_code == 403
    case_id, _ = prepare(service, "dispatch")
    assert client.get(f"/api/v1/cases/{case_id}", headers=bearer["wall"]).status_code == 403
    assert client.get("/api/v1/stages", headers=bearer["wall"]).status_code == 200


def test_a_department_cannot_act_on_another_departments_case(system, client):
    service = CommandService(system)
    accounts.add_user(system.engine, "roads-clerk", "department", "password-123", "roads")
    headers = {"Authorization": f"Bearer {accounts.create_token(system.engine, 'roads-clerk')}"}
    for action, body in (("handle", {"note": "已处置"}), ("return", {"reason": "不是我们的"}),
                         ("request", {"kind": "suspend", "reason": "x"})):
        case_id, _ = prepare(service, action)
        answer = client.post(f"/api/v1/cases/{case_id}/{action}", json=body, headers=headers)
        assert answer.status_code == 403, answer.json
        assert "dispatched to sanitation" in answer.json["message"]
        assert system.stream.case_state(case_id)["stage"] == "dispatched"


def test_pages_check_roles_on_the_server(system, client, bearer):
    """The shell's router answers a page's layout only to its roles (also for a direct callback POST)."""
    payload = {"output": "..shell-page.children...shell-header.children..",
               "outputs": [{"id": "shell-page", "property": "children"}, {"id": "shell-header", "property": "children"}],
               "inputs": [{"id": "shell-url", "property": "pathname", "value": "/dispatch"},
                          {"id": "shell-url", "property": "search", "value": ""}],
               "changedPropIds": ["shell-url.pathname"], "state": []}
    for role, visible in (("operator", True), ("department", False), ("wall", False)):
        answer = client.post("/_dash-update-component", json=payload, headers=bearer[role])
        text = answer.get_data(as_text=True)
        assert ("dispatch-map" in text) is visible, role


def test_only_a_wall_token_opens_a_session_from_the_url(system, client, bearer):
    """``/wall?token=`` is for wall displays: an operator's API token in a URL logs nobody in."""
    token = bearer["operator"]["Authorization"][7:]
    client.get(f"/wall?token={token}")
    assert client.get("/api/v1/stages").status_code == 401
    wall = bearer["wall"]["Authorization"][7:]
    client.get(f"/wall?token={wall}")
    assert client.get("/api/v1/stages").status_code == 200
    case_id, body = prepare(CommandService(system), "dispatch")
    assert client.post(f"/api/v1/cases/{case_id}/dispatch", json=body).status_code == 403
