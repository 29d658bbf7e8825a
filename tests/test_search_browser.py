"""The header's case search in headless Chromium, as each role (issue 11, item 1): find a case
by words or by its id, open it in the page that can act on it, and act.  Screenshots go to
test-artifacts/."""
from __future__ import annotations

import pytest

from tests.browser import wait_until
from tests.browser_util import live_app, tabs  # noqa: F401 - fixtures
from tests.test_dispatch_browser import spread_positions

pytestmark = pytest.mark.browser


def seed(live) -> dict[str, str]:
    """One case per stage the work pages act on, each with a word to find it by."""
    commands, sup, op, sani = (live.services.commands, live.actor("sup"), live.actor("op"), live.actor("sani"))
    spots = spread_positions(live, 6)
    words = {"reported": "测试甲 井盖缺失", "filed": "测试乙 路灯不亮", "filed2": "测试戊 路灯倾斜",
             "dispatched": "测试丙 垃圾堆积", "handled": "测试丁 垃圾桶满溢", "roads": "测试己 道路坑洼"}
    ids = {}
    for (name, text), (lon, lat) in zip(words.items(), spots):
        category = "C0118" if name.startswith("filed") else ("C0206" if name == "roads" else "E0102")
        ids[name] = commands.report(sup, category, lon, lat, text, "phone").case_id
        if name != "reported":
            commands.file(sup, ids[name])
    for name in ("dispatched", "handled"):
        commands.dispatch(op, ids[name], "sanitation")
    commands.dispatch(op, ids["roads"], "roads")
    commands.execute(sani, "handle", ids["handled"], {"note": "已清运"})
    stages = {"reported": "reported", "filed": "filed", "filed2": "filed", "dispatched": "dispatched",
              "handled": "handled", "roads": "dispatched"}
    wait_until(lambda: all((live.services.cases.row(ids[n]) or {}).get("stage") == s for n, s in stages.items()),
               message="the worker to project the seeded cases")
    return ids


def search(page, text: str) -> None:
    page.fill("#shell-search-input", text)
    page.press("#shell-search-input", "Enter")
    page.wait_for_selector("#shell-search-results:not(.hidden)")


def test_each_role_finds_a_case_and_acts_on_it(live_app, tabs, artifacts):
    ids = seed(live_app)
    cases = live_app.services.cases

    # supervision: a handled case is found by its words and verified on /intake
    sup = tabs().login("sup", "/intake")
    page = sup.page
    search(page, "测试丁 满溢")
    hit = page.locator(f".search-hit[data-case='{ids['handled']}']")
    hit.wait_for()
    assert page.locator(".search-hit").count() == 1
    assert hit.get_attribute("data-page") == "/intake"
    assert hit.locator("[data-stage]").get_attribute("data-stage") == "handled"    # with its stage and light
    assert hit.locator(".light").count() == 1
    page.screenshot(path=str(artifacts / "search-supervision.png"))
    hit.click()
    page.wait_for_url(f"**/intake?case={ids['handled']}*")
    page.wait_for_function(f"document.querySelector('#case-panel-id')?.textContent === '{ids['handled']}'")
    page.wait_for_selector("#intake-pass:not(.hidden)")
    page.click("#intake-pass")
    page.wait_for_function("document.querySelector('#intake-panel-body [data-stage]')?.dataset.stage === 'verified'")
    wait_until(lambda: (cases.row(ids["handled"]) or {}).get("stage") == "verified", message="the verification")
    # … and a reported case goes to filing
    search(page, "测试甲")
    page.click(f".search-hit[data-case='{ids['reported']}']")
    page.wait_for_url(f"**/intake?case={ids['reported']}*")
    page.wait_for_selector("#intake-file:not(.hidden)")

    # operator: a filed case found by its id opens on /dispatch; "dispatch and next" opens the next one
    operator = tabs().login("op", "/dispatch")
    op = operator.page
    search(op, ids["filed"])
    hit = op.locator(f".search-hit[data-case='{ids['filed']}']")
    hit.wait_for()
    assert hit.get_attribute("data-page") == "/dispatch"
    hit.click()
    op.wait_for_url(f"**/dispatch?case={ids['filed']}*")
    op.wait_for_selector("#dispatch-form:not(.hidden)")
    op.click("#dispatch-submit-next")
    op.wait_for_selector(f"#dispatch-message .msg-ok:has-text('{ids['filed']}')")
    op.wait_for_function(f"document.querySelector('#case-panel-id')?.textContent === '{ids['filed2']}'")
    op.wait_for_selector("#dispatch-form:not(.hidden)")     # the next waiting case, ready to dispatch
    op.screenshot(path=str(artifacts / "search-dispatch-next.png"))
    wait_until(lambda: live_app.system.stream.case_state(ids["filed"])["stage"] == "dispatched")

    # a department finds only its own cases, and handles one from the hit
    department = tabs().login("sani", "/department")
    dp = department.page
    search(dp, "测试")
    dp.wait_for_selector(f".search-hit[data-case='{ids['dispatched']}']")
    found = set(dp.eval_on_selector_all(".search-hit", "els => els.map(e => e.dataset.case)"))
    assert found == {ids["dispatched"], ids["handled"]}            # not the roads department's, nor unassigned ones
    dp.screenshot(path=str(artifacts / "search-department.png"))
    dp.click(f".search-hit[data-case='{ids['dispatched']}']")
    dp.wait_for_url(f"**/department?case={ids['dispatched']}*")
    dp.wait_for_selector("#department-actions:not(.hidden)")
    dp.fill("#department-note", "已清运")
    dp.click("#department-handle")
    dp.wait_for_selector("#department-message .msg-ok")
    wait_until(lambda: (cases.row(ids["dispatched"]) or {}).get("stage") == "handled", message="the handling")

    # nothing found: said so, in the page's language
    search(dp, "没有这种案件")
    dp.wait_for_selector(".search-empty")
    for name, tab in (("sup", sup), ("op", operator), ("sani", department)):
        assert tab.problems() == [], name
