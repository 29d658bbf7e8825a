"""Landing by role and the navigation (issue 9, part 6), from the one rule in
:mod:`dashboard.domain.permissions`: after log-in each role lands on its own page; the
header links only to pages the role may open; the report pages check roles on the server."""
from __future__ import annotations

import json

import pytest

from dashboard.domain.permissions import LANDING, PAGE_ROLES, landing, may_open, nav_pages
from datasource.services import accounts
from layouts import pages

ROLES = ("operator", "supervision", "department", "supervisor", "leader", "admin", "wall")


def test_each_role_lands_on_its_own_page(monkeypatch):
    existing = set(pages())
    assert {role: landing(role, existing) for role in ROLES} == {
        "operator": "/dispatch", "supervision": "/intake", "department": "/department",
        "supervisor": "/departments", "leader": "/briefing" if "/briefing" in existing else "/departments",
        "admin": "/admin", "wall": "/wall"}
    # Without the department evaluation, supervisors land on the regions; the leader's
    # briefing wins where it exists.
    assert landing("supervisor", existing - {"/departments"}) == "/regions"
    monkeypatch.setitem(PAGE_ROLES, "/briefing", ("leader", "supervisor", "admin"))
    assert landing("leader", existing | {"/briefing"}) == "/briefing"
    assert landing(None, existing) == "/" and landing("nobody", existing) == "/"
    assert set(LANDING) == set(ROLES)


def test_navigation_offers_only_what_a_role_may_open():
    existing = {path for path in pages() if "<" not in path}   # /departments/<code> is reached by links
    for role in ROLES:
        offered = nav_pages(role, existing)
        assert "/login" not in offered and offered[0] == "/"
        assert all(may_open(role, PAGE_ROLES[path]) for path in offered)
        assert set(offered) == {p for p in existing if p != "/login" and may_open(role, PAGE_ROLES[p])}
    assert nav_pages("supervisor", existing) == ("/", "/wall", "/departments", "/regions", "/inspectors", "/briefing")
    assert nav_pages(None, existing) == ("/",)


@pytest.fixture
def users(system) -> dict[str, dict]:
    out = {}
    for role in ROLES:
        accounts.add_user(system.engine, f"u-{role}", role, "password-123", "sanitation" if role == "department" else None)
        out[role] = {"Authorization": f"Bearer {accounts.create_token(system.engine, f'u-{role}')}"}
    return out


def log_in(app, client, name: str, next_path: str = "/"):
    from flask import session
    from flask_wtf.csrf import generate_csrf
    with app.server.test_request_context():
        token, raw = generate_csrf(), session["csrf_token"]
    with client.session_transaction() as s:
        s["csrf_token"] = raw
    return client.post("/login", data={"name": name, "password": "password-123", "next": next_path,
                                       "csrf_token": token})


def test_log_in_redirects_to_the_roles_page(system, app, client, users):
    for role in ROLES:
        answer = log_in(app, client, f"u-{role}")
        assert answer.status_code == 302 and answer.headers["Location"] == landing(role, set(pages())), role
        client.get("/logout")
    # A page asked for is kept; so is the language of the home page.
    assert log_in(app, client, "u-operator", "/wall").headers["Location"] == "/wall"
    client.get("/logout")
    assert log_in(app, client, "u-supervisor", "/?lang=en").headers["Location"] == "/departments?lang=en"


def nav_links(answer: str) -> set[str]:
    """Paths of the header's navigation links in a router answer."""
    found = set()

    def walk(node):
        if isinstance(node, dict):
            props = node.get("props") or {}
            if "nav-link" in str(props.get("className", "")) and str(props.get("href", "")).startswith("/"):
                found.add(props["href"].split("?")[0])
            for value in list(node.values()) + list(props.values()):
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(json.loads(answer)["response"]["shell-header"])
    return found - {"/logout", "/login"}


def route(client, headers, path: str) -> str:
    payload = {"output": "..shell-page.children...shell-header.children..",
               "outputs": [{"id": "shell-page", "property": "children"}, {"id": "shell-header", "property": "children"}],
               "inputs": [{"id": "shell-url", "property": "pathname", "value": path},
                          {"id": "shell-url", "property": "search", "value": ""}],
               "changedPropIds": ["shell-url.pathname"], "state": []}
    return client.post("/_dash-update-component", json=payload, headers=headers).get_data(as_text=True)


def test_header_links_and_report_pages_follow_the_roles(system, client, users):
    for role in ROLES:
        assert nav_links(route(client, users[role], "/")) == set(nav_pages(role, set(pages()))), role
    for path, marker in (("/regions", "regions-map"), ("/inspectors", "people-map")):
        for role in ("supervisor", "leader", "admin"):
            assert marker in route(client, users[role], path), (path, role)
        for role in ("operator", "supervision", "department", "wall"):
            text = route(client, users[role], path)
            assert marker not in text and "page-denied" in text, (path, role)
