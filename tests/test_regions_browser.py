"""The report pages in headless Chromium against the real app (waitress, Redis, SQLite, the
worker) over a few generated days, as a supervisor: landing after log-in, the drill-down
street → community → grid → cases by clicks, the definitions, English, and the people
page.  Screenshots go to test-artifacts/ (regions-*.png, inspectors*.png)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from datasource.services import accounts
from datasource.simulation.backfill import append_history, generate_history
from tests.browser import map_settled, wait_until
from tests.browser_util import PASSWORD, live_app, tabs  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


@pytest.fixture
def history(live_app):
    """Five days of generated cases through the stream, projected by the live worker."""
    system = live_app.system
    generated = generate_history(system.scenario, system.locator, 5, seed=21, now=datetime.now(timezone.utc),
                                 per_day=350)
    append_history(system.stream, generated, seed=21)
    wait_until(lambda: _projected(live_app) >= generated.cases, timeout=180, message="every case projected")
    accounts.add_user(system.engine, "boss", "supervisor", PASSWORD, None)
    return generated


def _projected(live) -> int:
    from sqlalchemy import func, select

    from datasource.store import schema
    with live.system.engine.connect() as c:
        return c.execute(select(func.count()).select_from(schema.cases)).scalar()


def busiest(live, level_column: str, **where) -> str:
    """The code with most cases at a level (inside ``where``), straight from the table."""
    from sqlalchemy import func, select

    from datasource.store import schema
    cases = schema.cases
    statement = select(getattr(cases.c, level_column), func.count()).where(
        *[getattr(cases.c, k) == v for k, v in where.items()]).group_by(getattr(cases.c, level_column)) \
        .order_by(func.count().desc()).limit(1)
    with live.system.engine.connect() as c:
        return c.execute(statement).first()[0]


def click_row(page, table_id: str, row_id: str) -> None:
    page.locator(f"#{table_id} .ag-center-cols-container .ag-row[row-id='{row_id}'] .ag-cell").first.click()


def test_supervisor_drills_down_from_street_to_a_grids_cases(live_app, history, tabs, artifacts):
    tab = tabs(width=1600, height=1000)
    page = tab.page
    # Log in without asking for a page: a supervisor lands on the department evaluation.
    page.goto(f"{live_app.base}/login")
    page.fill("#login-name", "boss")
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{live_app.base}/departments*")
    page.wait_for_selector(".nav .nav-link")
    assert page.locator(".nav .nav-link").all_inner_texts() == ["首页", "指挥大屏", "部门考评", "区域分析", "人员考核",
                                                                "每日简报"]
    page.click(".nav .nav-link >> text=区域分析")
    page.wait_for_url(f"{live_app.base}/regions*")
    page.wait_for_selector("#regions-table .ag-row[row-id='110101001']")
    page.wait_for_selector("#regions-shapes path, .leaflet-overlay-pane path")
    assert page.locator("#regions-table .ag-center-cols-container .ag-row").count() == 17
    map_settled(page)   # the fly-to animation is over
    page.screenshot(path=str(artifacts / "regions-street.png"), full_page=True)

    street = busiest(live_app, "street_code")
    click_row(page, "regions-table", street)
    page.wait_for_selector(".crumb:nth-of-type(2)")
    community = busiest(live_app, "community_code", street_code=street)
    page.wait_for_selector(f"#regions-table .ag-row[row-id='{community}']")
    assert page.inner_text("#regions-level-title") == "社区"
    map_settled(page)
    page.screenshot(path=str(artifacts / "regions-community.png"), full_page=True)

    click_row(page, "regions-table", community)
    grid = busiest(live_app, "grid_code", community_code=community)
    page.wait_for_selector(f"#regions-table .ag-row[row-id='{grid}']")
    click_row(page, "regions-table", grid)
    page.wait_for_selector("#regions-cases-box:not(.hidden) #regions-cases-table .ag-row")
    assert page.locator("#regions-cases-table .ag-center-cols-container .ag-row").count() >= 1
    page.wait_for_selector("path.report-case", state="attached")
    assert page.locator(".crumb.current").inner_text() == f"网格 {grid}"
    csv_link = page.get_attribute("#regions-cases-csv", "href")
    assert csv_link.startswith(f"/api/v1/regions/cases?grid={grid}") and "format=csv" in csv_link
    page.click("#regions-how summary")
    assert "公众上报占比" in page.inner_text("#regions-how")
    map_settled(page)
    page.screenshot(path=str(artifacts / "regions-grid.png"), full_page=True)
    # The export answers the logged-in browser with the same table.
    head, body = page.evaluate("""url => fetch(url).then(r => r.arrayBuffer()).then(b => [
        Array.from(new Uint8Array(b.slice(0, 3))), new TextDecoder().decode(b)])""", csv_link)
    listed = page.evaluate("url => fetch(url).then(r => r.json())", csv_link.replace("format=csv", "format=json"))
    assert head == [0xEF, 0xBB, 0xBF] and body.startswith("案件编号") and body.count("\n") == listed["count"] + 1

    page.locator(".crumb").first.click()   # back to the district
    page.wait_for_selector("#regions-table .ag-row[row-id='110101001']")
    assert page.inner_text("#regions-level-title") == "街道"

    page.goto(f"{live_app.base}/regions?lang=en")
    page.wait_for_selector("#regions-table .ag-header-cell-text:text('Cases per km²')")
    assert "How is this computed" in page.inner_text("#regions-how")
    assert tab.problems() == []


def test_people_page_shows_missed_reports_on_the_map(live_app, history, tabs, artifacts):
    tab = tabs(width=1600, height=1000).login("boss", "/inspectors")
    page = tab.page
    page.wait_for_selector("#people-inspectors .ag-center-cols-container .ag-row")
    page.wait_for_selector("#people-dispatchers .ag-row[row-id='dispatcher-01']")
    page.wait_for_selector("#people-shifts .ag-row[row-id='day']")
    page.wait_for_function("document.querySelectorAll('#people-map path.leaflet-interactive, #people-map canvas').length > 0")
    assert page.locator("#people-shifts .ag-center-cols-container .ag-row").count() == 3
    map_settled(page)
    page.screenshot(path=str(artifacts / "inspectors.png"), full_page=True)
    # Sort by missed-report rate, highest first, and pick the top inspector.
    header = page.locator("#people-inspectors .ag-header-cell[col-id='missed_rate'] .ag-header-cell-label")
    header.click()
    header.click()
    page.wait_for_selector("#people-inspectors .ag-header-cell[col-id='missed_rate'][aria-sort='descending']")
    first = page.get_attribute("#people-inspectors .ag-center-cols-container .ag-row[row-index='0']", "row-id")
    rows = page.evaluate("fetch('/api/v1/inspectors').then(r => r.json())")["inspectors"]
    worst = next(r for r in rows if r["id"] == first)
    assert worst["missed_rate"] == max(r["missed_rate"] for r in rows if r["missed_rate"] is not None)
    click_row(page, "people-inspectors", worst["id"])
    page.wait_for_selector(f"#people-card:has-text('{worst['id']}')")
    assert f"{worst['grid_public']}/{worst['grid_filed']}" in page.inner_text("#people-card")
    page.click("#people-how-inspectors summary")
    map_settled(page)
    page.screenshot(path=str(artifacts / "inspectors-selected.png"), full_page=True)
    assert tab.problems() == []
