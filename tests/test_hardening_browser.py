"""Browser hardening in real headless Chromium (issue 12, items 1, 2 and 6): every page
passes the Content-Security-Policy (no violation reported, no console error about it), and
an open wall whose display token is revoked shows "display token revoked" by itself."""
from __future__ import annotations

import re

import pytest

from datasource.services import accounts, tokens
from tests.browser_util import live_app, tabs  # noqa: F401 - fixtures

#: Collects CSP violations as the page sees them (init scripts run outside the page's CSP).
WATCH_CSP = """window.__csp = [];
document.addEventListener('securitypolicyviolation',
    e => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sourceFile || '')));"""
PAGES = ("/", "/wall", "/dispatch", "/intake", "/department", "/admin", "/departments", "/regions", "/inspectors",
         "/briefing", "/login")
SETTLED = """() => {
    const page = document.querySelector('#shell-page');
    return page && page.children.length > 0 && !document.querySelector('._dash-loading');
}"""


def csp_problems(tab) -> list[str]:
    found = tab.page.evaluate("() => window.__csp || []")
    console = [e for e in tab.watch.console_errors if "Content Security Policy" in e or "Refused to" in e]
    return found + console


def settle(page) -> None:
    page.wait_for_function(SETTLED)
    try:   # pages that poll every second may never be idle for long; the charts are drawn by then
        page.wait_for_load_state("networkidle", timeout=5000)
    except Exception:  # noqa: BLE001 - a playwright timeout: the page keeps polling
        pass


def test_every_page_passes_the_csp(tabs, artifacts):
    tab = tabs(enforce_csp=True)
    tab.page.add_init_script(WATCH_CSP)
    answer = tab.page.goto(f"{tab.base}/login")
    csp = answer.headers["content-security-policy"]
    assert "unsafe-eval" not in csp and "script-src 'self' 'sha256-" in csp
    tab.login("adm", "/admin")
    for path in PAGES:
        tab.open(path)
        settle(tab.page)
        assert csp_problems(tab) == [], path
        if path in ("/admin", "/regions"):
            tab.page.screenshot(path=str(artifacts / f"csp{path.replace('/', '-')}.png"))
    assert [p for p in tab.problems() if "Content Security Policy" in p] == []


def test_the_admin_page_shows_the_token_section(tabs, live_app, artifacts):
    accounts.add_user(live_app.system.engine, "lobby", "wall")
    tokens.create(live_app.system.engine, "lobby", label="大厅大屏")
    tab = tabs(enforce_csp=True).login("adm", "/admin")
    row = tab.page.locator("#admin-tokens tr.token-active")
    row.first.wait_for()
    assert "大厅大屏" in row.first.inner_text()
    tab.page.locator("#admin-tokens").screenshot(path=str(artifacts / "admin-tokens.png"))
    row.first.locator("button").click()
    tab.page.locator("#admin-tokens tr.token-revoked").first.wait_for()
    assert tokens.list_tokens(live_app.system.engine)[0]["state"] == "revoked"


def test_an_open_wall_shows_display_token_revoked(tabs, live_app, artifacts):
    accounts.add_user(live_app.system.engine, "lobby", "wall")
    issued = tokens.create(live_app.system.engine, "lobby", label="lobby")
    tab = tabs(enforce_csp=True)
    tab.open(f"/wall?token={issued.token}")
    tab.page.locator("#wall-root").wait_for()
    tokens.revoke(live_app.system.engine, issued.id)
    tab.page.wait_for_url(re.compile(r".*/session-ended\?reason=token_revoked$"))
    text = tab.page.locator("#session-ended").inner_text()
    assert "显示令牌已被吊销" in text
    tab.page.screenshot(path=str(artifacts / "wall-token-revoked.png"))


@pytest.mark.parametrize("who", ["op"])
def test_logging_out_elsewhere_sends_an_open_page_to_the_log_in(tabs, live_app, who):
    here, there = tabs(enforce_csp=True).login(who, "/wall"), tabs().login(who, "/dispatch")
    here.page.locator("#wall-root").wait_for()
    there.open("/logout")
    here.page.wait_for_url(re.compile(r".*/login\?ended=logged_out&next=.*"))
    assert "next=%2Fwall" in here.page.url
