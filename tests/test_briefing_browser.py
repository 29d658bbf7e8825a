"""The briefing in headless Chromium as a leader reads it: on a desk and on a phone, the
headline cards, the narrative, the charts and the map of unusual places drawn, the PDF
link and the language switch — with no console error and nothing fetched from outside.
Screenshots go to test-artifacts/ (briefing-desktop.png, briefing-phone.png)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from datasource.services import accounts
from tests.briefing_data import Surge, Town
from tests.browser_util import PASSWORD, live_app, tabs  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


@pytest.fixture
def town_app(live_app):  # noqa: F811 - the fixture above
    system = live_app.system
    now = system.now()   # the live app runs on the tests' fixed clock: yesterday is its yesterday
    today = now.astimezone(system.scenario.calendar.tz).date()
    town = Town(system.scenario, seed=3)
    live_app.grid = town.grids[1500]["code"]
    town.history(today - timedelta(days=35), today, 50, now, surges=[Surge(today - timedelta(days=1), live_app.grid,
                                                                          "E0505", 7)])
    town.write(system.engine)
    accounts.add_user(system.engine, "lead", "leader", PASSWORD)
    return live_app


def test_a_leader_reads_yesterdays_briefing_on_a_desk_and_a_phone(town_app, tabs, artifacts):  # noqa: F811
    tab = tabs(width=1400, height=900).login("lead", "/briefing")
    page = tab.page
    page.wait_for_selector("#briefing-cards .briefing-card >> nth=7")
    assert page.locator("#briefing-cards .briefing-card").count() == 8
    assert "共受理案件" in page.inner_text("#briefing-narrative")
    assert "Benjamini" in page.inner_text("#briefing-method")
    page.wait_for_function("document.querySelector('#briefing-map')?.naturalWidth > 0")
    page.wait_for_selector(".graph-hourly .main-svg")
    page.wait_for_selector("#briefing-forecast-total")
    href = page.get_attribute("#briefing-pdf", "href")
    yesterday = (town_app.system.now().astimezone(town_app.system.scenario.calendar.tz).date()
                 - timedelta(days=1)).isoformat()
    assert href == f"/briefing/pdf?date={yesterday}&lang=zh"
    page.screenshot(path=str(artifacts / "briefing-desktop.png"), full_page=True)
    assert tab.problems() == []

    phone = tabs(width=390, height=844).login("lead", "/briefing?lang=en")
    phone.page.wait_for_selector("#briefing-cards .briefing-card >> nth=7")
    assert "took in" in phone.page.inner_text("#briefing-narrative")
    # Two cards a row on a phone, and nothing wider than the screen but the tables' own scroll.
    boxes = [phone.page.locator("#briefing-cards .briefing-card").nth(i).bounding_box() for i in range(2)]
    assert boxes[0]["y"] == boxes[1]["y"] and boxes[1]["x"] + boxes[1]["width"] <= 390
    wide = phone.page.evaluate("""() => [...document.querySelectorAll('body *:not(svg *):not(.briefing-table *)')].filter(e => e.getBoundingClientRect().right > 392)
        .slice(0, 8).map(e => e.tagName + '.' + e.className + '#' + e.id + ':' + Math.round(e.getBoundingClientRect().right))""")
    phone.page.screenshot(path=str(artifacts / "briefing-phone.png"), full_page=True)
    assert wide == [] and phone.page.evaluate("document.documentElement.scrollWidth") <= 392
    phone.page.screenshot(path=str(artifacts / "briefing-phone.png"), full_page=True)
    assert phone.problems() == []
