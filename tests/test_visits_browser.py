"""Return visits in headless Chromium (issue 11): a call-taker of the supervision centre
records visits from the queue and sees the satisfaction rate change; an unsatisfied visit
sends the case back to its department.  Screenshots go to test-artifacts/."""
from __future__ import annotations

import pytest

from tests.browser import wait_until
from tests.browser_util import live_app, tabs  # noqa: F401 - fixtures
from tests.helpers import LAT, LON

pytestmark = pytest.mark.browser


def closed_public_case(live, source: str) -> str:
    commands = live.services.commands
    sup, op, sani = live.actor("sup"), live.actor("op"), live.actor("sani")
    case_id = commands.report(sup, "E0102", LON, LAT, "小区门口垃圾", source).case_id
    commands.file(sup, case_id)
    commands.dispatch(op, case_id, "sanitation")
    commands.handle(sani, case_id, "已清运")
    commands.verify(sup, case_id, "pass")
    commands.close(sup, case_id)
    return case_id


def record(page, case_id: str, result: str, note: str = "", reopen: bool = False) -> None:
    page.click(f"#visits-queue .queue-row[data-case='{case_id}']")
    page.wait_for_selector("#visits-form:not(.hidden)")
    page.check(f"#visits-result input[value='{result}']")
    page.fill("#visits-note", note)
    if reopen:
        page.check("#visits-reopen input[value='reopen']")
    page.click("#visits-save")


def test_record_visits_and_see_the_satisfaction_change(live_app, tabs, artifacts):
    cases = live_app.services.cases
    first, second = closed_public_case(live_app, "hotline12345"), closed_public_case(live_app, "app")
    inspector_case = live_app.services.commands.report(live_app.actor("sup"), "E0102", LON, LAT, "x", "inspector").case_id
    wait_until(lambda: all((cases.row(c) or {}).get("stage") == "closed" for c in (first, second)),
               message="the closed cases to be projected")
    tab = tabs().login("sup", "/visits")
    page = tab.page
    page.wait_for_selector(f"#visits-queue .queue-row[data-case='{second}']")
    assert page.inner_text("#visits-total") == "共 2 件"
    assert page.locator(f"#visits-queue .queue-row[data-case='{inspector_case}']").count() == 0
    assert page.inner_text("#visits-rate") == "暂无回访"
    # satisfied → 100 %
    record(page, first, "satisfied", "很满意，处理及时")
    page.wait_for_selector("#visits-message .msg-ok")
    page.wait_for_function("document.querySelector('#visits-rate').textContent === '100.0 %'")
    # an unsatisfied reporter needs a note; with one, and reopened, the rate halves
    record(page, second, "unsatisfied", "")
    page.wait_for_selector("#visits-message .msg-error")
    page.fill("#visits-note", "垃圾又堆起来了")
    page.check("#visits-reopen input[value='reopen']")
    page.click("#visits-save")
    page.wait_for_selector("#visits-message .msg-ok:has-text('重新处置')")
    page.wait_for_function("document.querySelector('#visits-rate').textContent === '50.0 %'")
    page.wait_for_function("document.querySelector('#visits-total').textContent === '共 0 件'")
    assert "50.0 %" in page.inner_text("#visits-by-department tr[data-key='sanitation']")
    page.screenshot(path=str(artifacts / "visits.png"))
    wait_until(lambda: (cases.row(second) or {}).get("stage") == "dispatched", message="the reopening to be projected")
    assert (cases.row(second)["rework_count"], cases.row(first)["visit_result"]) == (1, "satisfied")
    assert tab.problems() == []
