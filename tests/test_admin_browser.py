"""The administration page in headless Chromium (issue 11, item 8): in the admin's
navigation, filters wide enough to use, pages of the log served by the database, a date
range, values in the page's language and an export link carrying the filters."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from datasource.services import audit
from tests.browser import wait_until
from tests.browser_util import Tab, live_app, tabs  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def seed(live, n: int = 120) -> None:
    """An audit row of 20 days ago, then ``n`` rows one a minute up to the system's now
    (every third one refused)."""
    now = live.system.now()
    audit.record(live.system.engine, user="sup", role="supervision", action="file", outcome="ok",
                 case_id="DC20261101000001", before="reported", after="filed", message="filed",
                 at=now - timedelta(days=20))
    for i in range(n):
        audit.record(live.system.engine, user="op", role="operator", action="dispatch",
                     outcome="refused" if i % 3 == 0 else "ok", case_id=f"DC20261118{i:06d}", remote_addr="10.1.1.1",
                     before="filed", after="filed" if i % 3 == 0 else "dispatched",
                     message="role operator may not verify" if i % 3 == 0 else "dispatched department=sanitation",
                     at=now - timedelta(minutes=n - i))


def label(page) -> str:
    return page.inner_text("#admin-page-label")


def test_admin_page_filters_pages_and_export(live_app, tabs, artifacts):  # noqa: F811
    seed(live_app)
    tab: Tab = tabs().login("adm", "/admin")
    page = tab.page
    wait_until(lambda: label(page).startswith("第 1 / 3 页"), message="the first page of the log")
    assert page.locator("nav a[href^='/admin']").count() == 1                 # in the navigation
    assert "共 121 条" in label(page) and page.locator("#admin-audit-table tbody tr").count() == 50
    for control in ("#admin-case", "#admin-user", "#admin-action", "#admin-outcome"):
        assert page.locator(control).bounding_box()["width"] >= 150, control   # not 16–30 px any more
    first = page.inner_text("#admin-audit-table tbody tr:first-child")
    assert "派遣员" in first and "DC20261118000119" in first and ("成功" in first or "被拒绝" in first)
    assert page.is_disabled("#admin-prev") and not page.is_disabled("#admin-next")
    page.click("#admin-next")
    wait_until(lambda: label(page).startswith("第 2 / 3 页"), message="page 2")
    assert "DC20261118000069" in page.inner_text("#admin-audit-table tbody tr:first-child")
    page.click("#admin-next")
    wait_until(lambda: label(page).startswith("第 3 / 3 页"), message="page 3")
    assert page.locator("#admin-audit-table tbody tr").count() == 21 and page.is_disabled("#admin-next")
    # a filter goes back to page 1 of what it leaves
    page.click("#admin-outcome")
    page.get_by_role("option", name="被拒绝").click()
    wait_until(lambda: label(page) == "第 1 / 1 页，共 40 条", message="the refused rows")
    assert "角色 派遣员 无权执行「核查」" in page.inner_text("#admin-audit-table")
    # a date range (Beijing days): today only leaves out the row of 20 days ago
    today = live_app.system.now().astimezone(live_app.system.scenario.calendar.tz).date()
    page.click("#admin-outcome")
    page.get_by_role("option", name="全部").click()
    wait_until(lambda: "共 121 条" in label(page), message="all rows again")
    start = today - timedelta(days=1)
    page.fill("#admin-dates", start.isoformat())
    page.keyboard.press("Enter")
    wait_until(lambda: "from=" in page.get_attribute("#admin-export", "href"), message="the start date")
    page.fill("#admin-dates-end-date", today.isoformat())
    page.keyboard.press("Enter")
    wait_until(lambda: "to=" in page.get_attribute("#admin-export", "href"), message="the end date")
    wait_until(lambda: "共 120 条" in label(page), message="the date range")
    href = page.get_attribute("#admin-export", "href")
    assert re.search(rf"from={start}&to={today}", href) and "lang=zh" in href
    page.screenshot(path=str(artifacts / "admin-audit.png"))
    answer = page.request.get(live_app.base + href)
    assert answer.status == 200 and answer.body().startswith(b"\xef\xbb\xbf") and "时间（北京时间）" in answer.text()
    assert tab.problems() == []


def test_admin_page_in_english(live_app, tabs):  # noqa: F811
    seed(live_app, 3)
    tab: Tab = tabs().login("adm", "/admin")
    tab.open("/admin?lang=en")
    page = tab.page
    wait_until(lambda: label(page) == "page 1 of 1, 4 rows", message="the English pager")
    text = page.inner_text("#admin-audit-table")
    assert "Dispatcher" in text and "role operator may not verify" in text and "refused" in text
    assert page.get_attribute("#admin-export", "href").endswith("lang=en")
    assert tab.problems() == []
