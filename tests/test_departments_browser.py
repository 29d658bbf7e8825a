"""The evaluation pages in headless Chromium, as a supervisor: /departments with its tables,
sparklines, period in the URL and exports; a department's page with figures, charts, its
open cases and a case's timeline; the wall's board rows leading there.  No callback errors;
screenshots in test-artifacts/ (departments.png, departments-detail.png, departments-en.png)."""
from __future__ import annotations

import csv
import io

import pytest

from datasource.services import accounts
from tests.browser import wait_until
from tests.browser_util import PASSWORD, live_app, tabs  # noqa: F401 - fixtures
from tests.test_evaluation_pandas import project_history

pytestmark = pytest.mark.browser


@pytest.fixture
def history(live_app):
    project_history(live_app.system, days=35, per_day=70)
    accounts.add_user(live_app.system.engine, "boss", "supervisor", PASSWORD)
    return live_app


def grid_rows(page, grid_id: str) -> int:
    return page.locator(f"#{grid_id} .ag-center-cols-container .ag-row").count()


def test_supervisor_finds_out_why_the_wall_is_red(history, tabs, artifacts):
    tab = tabs(width=1920, height=1080).login("boss", "/departments")
    page = tab.page
    # the first draw counts the daily roll-up once: a loaded machine may need longer than a page's 20 s
    page.wait_for_selector("#departments-professional .ag-row a.dept-link", timeout=60_000)
    wait_until(lambda: grid_rows(page, "departments-streets") >= 10, message="the street offices' rows")
    # the grid draws its rows and their sparklines in steps: wait for all eleven, then nothing more
    wait_until(lambda: grid_rows(page, "departments-professional") >= 11, message="the professional rows")
    wait_until(lambda: page.locator("#departments-professional svg.spark").count() >= 11, message="a sparkline per row")
    assert grid_rows(page, "departments-professional") == 11
    assert page.locator("#departments-professional svg.spark").count() == 11
    assert "应处置" in page.inner_text("#departments-professional .ag-header")
    assert page.inner_text("#departments-totals").startswith("合计")
    page.wait_for_selector("#departments-scores .main-svg")                       # the score chart
    page.screenshot(path=str(artifacts / "departments.png"), full_page=True)

    # The definitions are on the page.
    page.click("#eval-definitions summary")
    assert "首次派遣" in page.inner_text("#eval-definitions")

    # Sortable: the score column sorted descending puts the best first (in the browser).
    def score(row: int) -> float:
        text = page.inner_text(f"#departments-professional .ag-center-cols-container .ag-row[row-index='{row}'] "
                               ".ag-cell[col-id='score']")
        return float(text) if text not in ("—", "") else -1.0
    page.click("#departments-professional .ag-header-cell[col-id='score'] .ag-header-cell-label")
    page.click("#departments-professional .ag-header-cell[col-id='score'] .ag-header-cell-label")
    wait_until(lambda: score(0) >= score(1) >= score(2) and score(0) > 0, message="sorted by score, descending")

    # The period goes into the URL.
    page.click("text=近7天")
    page.wait_for_url("**period=7d**")
    page.wait_for_selector("#departments-export-csv[href*='period=7d']")   # the page redrawn for it
    page.wait_for_selector("#departments-professional .ag-row a.dept-link[href*='period=7d']")
    assert "period=7d" in page.url

    # The export link carries the same period; the file is a BOM'd CSV with Chinese headers.
    href = page.get_attribute("#departments-export-csv", "href")
    assert "period=7d" in href
    body = page.request.get(history.base + href).body()
    assert body.startswith(b"\xef\xbb\xbf")
    header = next(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert header[:3] == ["类型", "编码", "名称"]

    # A department's row opens its page.
    page.click("#departments-professional a.dept-link[href^='/departments/sanitation']")
    page.wait_for_url("**/departments/sanitation**")
    page.wait_for_selector("#dept-report-score .kpi-value")
    page.wait_for_selector("#dept-report-trend .main-svg")
    page.wait_for_selector("#dept-report-category-chart .main-svg")
    wait_until(lambda: grid_rows(page, "dept-report-open") > 0, message="open cases")
    assert "period=7d" in page.url
    assert page.locator("#dept-report-open .light-cell .light").count() > 0      # traffic lights
    page.hover("#dept-report-trend .main-svg")                                    # charts download as PNG
    page.wait_for_selector("#dept-report-trend .modebar-btn[data-title*='png' i]")
    # A click on an open case shows it and its timeline.
    case_id = page.inner_text("#dept-report-open .ag-row[row-index='0'] .case-link")
    page.click("#dept-report-open .ag-row[row-index='0'] .case-link")
    page.wait_for_function(f"document.querySelector('#case-panel-id')?.textContent === '{case_id}'")
    page.wait_for_selector("#dept-report-case-timeline .tl-item")
    page.screenshot(path=str(artifacts / "departments-detail.png"), full_page=True)
    assert tab.problems() == []


def test_english_page_and_wall_links(history, tabs, artifacts):
    tab = tabs(width=1920, height=1080).login("boss", "/departments")
    page = tab.page
    tab.open("/departments?lang=en&period=month")
    page.wait_for_selector("#departments-professional .ag-row a.dept-link")
    assert "Department evaluation" in page.inner_text("h1")
    assert "On-time rate" in page.inner_text("#departments-professional .ag-header")
    page.screenshot(path=str(artifacts / "departments-en.png"), full_page=True)
    # The wall's department board rows lead to the department's page.
    tab.open("/wall")
    page.wait_for_selector("a.wall-board-row[href^='/departments/']", timeout=30_000)
    href = page.get_attribute("a.wall-board-row[href^='/departments/']", "href")
    tab.open(href)
    page.wait_for_selector("#dept-report-score .kpi-value")
    # A bad period in the URL is said in one line; an unknown department too.
    tab.open("/departments?period=custom&from=2026-02-30&to=2026-03-01")
    page.wait_for_selector("#departments-period-error:has-text('2026-02-30')")
    tab.open("/departments/nope")
    page.wait_for_selector("#dept-report-unknown")
    assert tab.problems() == []


def test_other_roles_do_not_see_the_evaluation(history, tabs):
    tab = tabs().login("op", "/")
    tab.open("/departments")
    tab.page.wait_for_selector("#page-denied")
    tab.open("/departments/sanitation")
    tab.page.wait_for_selector("#page-denied")
