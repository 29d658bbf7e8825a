"""A street sub-centre's supervisor and leader in headless Chromium (issue 9): /departments,
/departments/<code>, /regions, /inspectors and /briefing show the street's figures only —
equal to the services' numbers for that scope, never the district's — every export of those
pages holds the street's rows only, and another street's case answers 403.  No callback
errors; screenshots in test-artifacts/ (scope-*.png)."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from dashboard.domain.evaluation import Period
from datasource.services import accounts
from datasource.store import schema
from tests.browser import wait_until
from tests.browser_util import PASSWORD, live_app, tabs  # noqa: F401 - fixtures
from tests.test_evaluation_pandas import project_history

pytestmark = pytest.mark.browser
DAYS = 14


@pytest.fixture
def street_app(live_app):  # noqa: F811 - the fixture above
    """35 days of generated history; a supervisor and a leader of the busiest street."""
    system = live_app.system
    project_history(system, days=35, per_day=70)
    cases = schema.cases
    with system.engine.connect() as c:
        ranked = c.execute(select(cases.c.street_code, func.count()).group_by(cases.c.street_code)
                           .order_by(func.count().desc())).all()
        live_app.street, live_app.other_street = ranked[0][0], ranked[1][0]
        live_app.other_case, live_app.other_grid = c.execute(select(cases.c.case_id, cases.c.grid_code).where(
            cases.c.street_code == live_app.other_street).limit(1)).first()
        live_app.street_of = dict(c.execute(select(cases.c.case_id, cases.c.street_code)).all())
    for name, role in (("boss-st", "supervisor"), ("lead-st", "leader")):
        accounts.add_user(system.engine, name, role, PASSWORD, scope=live_app.street, streets=system.scenario.streets)
    tz = system.scenario.calendar.tz
    today = datetime.now(tz).date()
    live_app.first, live_app.last = today - timedelta(days=DAYS - 1), today
    return live_app


def grid_ids(page, grid_id: str) -> list[str]:
    """The row ids of the rows an ag-grid has drawn."""
    rows = page.locator(f"#{grid_id} .ag-center-cols-container .ag-row")
    return [rows.nth(i).get_attribute("row-id") for i in range(rows.count())]


def fetch(page, base: str, href: str) -> bytes:
    answer = page.request.get(base + href)
    assert answer.status == 200, (href, answer.status)
    return answer.body()


def csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def xlsx_rows(body: bytes) -> list[list]:
    return [list(r) for r in load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True)]


def test_a_street_supervisor_sees_its_street_on_every_report_page(street_app, tabs, artifacts):  # noqa: F811
    app, base = street_app, street_app.base
    street = app.street
    tz = app.system.scenario.calendar.tz
    period = Period(app.first, app.last, "custom", tz)
    query = f"period=custom&from={app.first}&to={app.last}"
    services = app.services
    tab = tabs(width=1600, height=1000).login("boss-st", "/departments")
    page = tab.page
    page.goto(f"{base}/departments?{query}")

    # /departments: the totals line is the street's, not the district's.
    mine = services.evaluation.overview(period, scope=street)["departments"]
    everything = services.evaluation.overview(period)["departments"]
    due, all_due = sum(r["due"] for r in mine), sum(r["due"] for r in everything)
    assert 0 < due < all_due
    page.wait_for_selector("#departments-professional .ag-row a.dept-link")
    wait_until(lambda: f"{due:,}" in page.inner_text("#departments-totals"), message="the street's totals")
    assert f"{all_due:,}" not in page.inner_text("#departments-totals")
    page.screenshot(path=str(artifacts / "scope-departments.png"), full_page=True)
    rows = csv_rows(fetch(page, base, page.get_attribute("#departments-export-csv", "href")))
    assert sum(int(r[3]) for r in rows[1:]) == due
    book = xlsx_rows(fetch(page, base, page.get_attribute("#departments-export-xlsx", "href")))
    assert sum(r[3] for r in book[1:]) == due

    # /departments/<code>: the busiest department in the street; its open cases are the street's.
    code = max(mine, key=lambda r: r["due"])["code"]
    report = services.evaluation.department(code, period, scope=street)
    page.goto(f"{base}/departments/{code}?{query}")
    page.wait_for_selector("#dept-report-score .kpi-value")
    wait_until(lambda: len(grid_ids(page, "dept-report-open")) > 0 or not report["open"],
               message="the open cases")
    shown = grid_ids(page, "dept-report-open")
    # a department with no open case in the street shows none (the wait above allows it too)
    assert (shown or not report["open"]) and all(app.street_of[c] == street for c in shown)
    assert set(shown) <= {r["case_id"] for r in report["open"]}
    page.screenshot(path=str(artifacts / "scope-department.png"), full_page=True)
    for table in ("open", "overdue", "streets", "events"):
        href = f"/reports/departments/{code}/{table}.csv?{query}"
        rows = csv_rows(fetch(page, base, href))
        expected = services.evaluation.table(table, period, code, scope=street)
        assert len(rows) - 1 == len(expected), table
        if table in ("open", "overdue", "events"):
            ids = [r[0] if table != "events" else r[2] for r in rows[1:]]
            assert all(app.street_of[c] == street for c in ids), table
        if table == "streets":
            assert [r[0] for r in rows[1:]] in ([], [street])
        book = xlsx_rows(fetch(page, base, href.replace(".csv", ".xlsx")))
        assert len(book) == len(rows), table
    # Another street's case: 403 from the API, nothing on the page.
    assert page.request.get(f"{base}/api/v1/cases/{app.other_case}").status == 403

    # /regions: the street's own row with the service's numbers; its communities below.
    figures = services_regions(app).figures("street", period, scope=street)
    page.goto(f"{base}/regions?from={app.first}&to={app.last}")
    page.wait_for_selector(f"#regions-table .ag-row[row-id='{street}']")
    assert page.locator("#regions-table .ag-center-cols-container .ag-row").count() == 1
    cell = page.inner_text(f"#regions-table .ag-row[row-id='{street}'] .ag-cell[col-id='cases']")
    assert cell.replace(",", "") == str(figures[0]["cases"]) and figures[0]["cases"] > 0
    page.screenshot(path=str(artifacts / "scope-regions.png"), full_page=True)
    for href in (page.get_attribute("#regions-export-csv", "href"),
                 f"/api/v1/regions?level=community&from={app.first}&to={app.last}&format=csv",
                 f"/api/v1/regions?level=grid&from={app.first}&to={app.last}&format=csv"):
        rows = csv_rows(fetch(page, base, href))
        assert len(rows) > 1 and all(r[1].startswith(street) for r in rows[1:]), href
    answer = page.request.get(f"{base}/api/v1/regions?level=community&parent={app.other_street}")
    assert answer.status == 403
    assert page.request.get(f"{base}/api/v1/regions/cases?grid={app.other_grid}").status == 403

    # /inspectors: the street's inspectors only, as the service counts them.
    staff = services_regions(app, "staff").report(period, street)
    page.goto(f"{base}/inspectors?from={app.first}&to={app.last}")
    page.wait_for_selector("#people-shifts .ag-row[row-id='day']")
    if staff["inspectors"]:
        page.wait_for_selector("#people-inspectors .ag-center-cols-container .ag-row")
    ids = set(grid_ids(page, "people-inspectors"))
    assert ids <= {r["id"] for r in staff["inspectors"]}
    answer = page.evaluate(f"fetch('/api/v1/inspectors?from={app.first}&to={app.last}').then(r => r.json())")
    assert {r["id"] for r in answer["inspectors"]} == {r["id"] for r in staff["inspectors"]}
    district = services_regions(app, "staff").report(period)
    assert len(staff["inspectors"]) < len(district["inspectors"])
    for part in ("inspectors", "dispatchers", "shifts"):
        href = f"/api/v1/{part}?from={app.first}&to={app.last}&format=csv"
        rows = csv_rows(fetch(page, base, href))
        assert len(rows) - 1 == len(staff[part]), part
        book = xlsx_rows(fetch(page, base, href.replace("format=csv", "format=xlsx")))
        assert len(book) == len(rows), part
    page.screenshot(path=str(artifacts / "scope-inspectors.png"), full_page=True)
    assert tab.problems() == []


def test_a_street_leader_reads_its_streets_briefing(street_app, tabs, artifacts):  # noqa: F811
    app = street_app
    name = app.system.scenario.streets[app.street]
    tab = tabs(width=1400, height=900).login("lead-st", "/briefing")
    page = tab.page
    page.wait_for_selector("#briefing-cards .briefing-card >> nth=7")
    briefings = app.services.briefing
    day = briefings.service.resolve("yesterday")
    data, district = briefings.service.build(day, scope=app.street), briefings.service.build(day)
    new = data["headlines"]["new"]["value"]
    assert 0 < new < district["headlines"]["new"]["value"]
    assert page.inner_text("#briefing-scope-title") == f"东城区{name}每日简报"
    assert name in page.inner_text("#briefing-scope")
    assert page.inner_text("#briefing-cards [data-name='new']") == f"{new:,}"
    assert f"共受理案件 {new:,} 件" in page.inner_text("#briefing-narrative")
    others = [n for code, n in app.system.scenario.streets.items() if code != app.street]
    body = page.inner_text("#briefing-content")
    assert not [n for n in others if n in body]
    page.screenshot(path=str(artifacts / "scope-briefing.png"), full_page=True)
    href = page.get_attribute("#briefing-pdf", "href")
    answer = page.request.get(app.base + href, timeout=180_000)   # made on demand: charts, fonts, Chromium
    assert answer.status == 200 and answer.body().startswith(b"%PDF")
    assert re.search(rf"briefing-{day}-zh-{app.street}\.pdf", answer.headers["content-disposition"])
    assert tab.problems() == []


def services_regions(app, part: str = "regions"):
    """The app's own report services (their caches are the pages')."""
    reports = app.app.server.extensions["citygrid.reports"]
    return getattr(reports, part)
