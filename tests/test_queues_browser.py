"""True queues in headless Chromium (issue 11, item 2): every queue's count on /intake,
/dispatch and /department equals the database (well beyond the old cap of 100), the pages
page through them, filters narrow both the count and the rows, and the department sees its
newest case on top.  Screenshots go to test-artifacts/."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from datasource.store import schema
from tests.browser import wait_until
from tests.browser_util import live_app, tabs  # noqa: F401 - fixtures
from tests.helpers import TEST_NOW, event, publish
from tests.test_dispatch_browser import spread_positions

pytestmark = pytest.mark.browser
#: cases per stage: more than the 100 the lists used to be capped at, where it matters
PLAN = {"reported": 104, "filed": 112, "handled": 103, "verified": 7, "suspended": 28, "dispatched": 15}


def seed(live) -> None:
    """The stages of :data:`PLAN` by stream events (as the field's systems send them)."""
    spots = spread_positions(live, 40)
    start = TEST_NOW - timedelta(days=3)
    events, n = [], 0
    steps = {"reported": [], "filed": ["filed"], "dispatched": ["filed", "dispatched"],
             "handled": ["filed", "dispatched", "handled"], "verified": ["filed", "dispatched", "handled", "verified"],
             "suspended": ["filed", "suspended"]}
    for stage, count in PLAN.items():
        for _ in range(count):
            case_id = f"DC{start:%Y%m%d}{600001 + n:06d}"
            at = start + timedelta(minutes=7 * n)
            lon, lat = spots[n % len(spots)]
            events.append(event(case_id, "reported", at, category="E0102" if n % 2 else "C0118", lon=lon, lat=lat,
                                description=f"批量 {n}", source="hotline12345" if n % 3 == 0 else "inspector",
                                urgency="urgent" if n % 4 == 0 else "normal"))
            for j, kind in enumerate(steps[stage], start=1):
                body = {"department": "sanitation"} if kind == "dispatched" else (
                    {"reason": "施工"} if kind == "suspended" else {})
                events.append(event(case_id, kind, at + timedelta(minutes=j), **body))
            n += 1
    publish(live.system.stream, events)
    wait_until(lambda: db_count(live, schema.cases.c.stage == "dispatched") == PLAN["dispatched"]
               and db_count(live) == sum(PLAN.values()), timeout=90, message="the worker to project the cases")


def db_count(live, *conditions) -> int:
    with live.system.engine.connect() as c:
        return c.execute(select(func.count()).select_from(schema.cases).where(*conditions)).scalar()


def shown_count(page, selector: str) -> int:
    return int(page.inner_text(selector))


def test_queue_counts_equal_the_database(live_app, tabs, artifacts):
    seed(live_app)
    stage = schema.cases.c.stage

    # the supervision centre: four queues, each the database's count
    sup = tabs().login("sup", "/intake")
    page = sup.page
    for name in ("reported", "handled", "verified", "suspended"):
        box = f"#intake-queue-{name}"
        page.wait_for_function(f"document.querySelector('{box} .count')?.textContent === '{PLAN[name]}'")
        assert shown_count(page, f"{box} .count") == db_count(live_app, stage == name) == PLAN[name]
    assert page.locator("#intake-queue-reported .queue-row").count() == 20       # one page of rows …
    assert page.inner_text("#intake-queue-reported .pager-label") == "第 1/6 页"  # … of six
    page.wait_for_selector("#intake-map .case-cluster")                           # the map is clustered
    page.screenshot(path=str(artifacts / "queues-intake.png"))
    first = set(page.eval_on_selector_all("#intake-queue-reported .queue-row", "els => els.map(e => e.dataset.case)"))
    page.click("#intake-queue-reported .pager-next")
    page.wait_for_function("document.querySelector('#intake-queue-reported .pager-label')?.textContent === '第 2/6 页'")
    second = set(page.eval_on_selector_all("#intake-queue-reported .queue-row", "els => els.map(e => e.dataset.case)"))
    assert len(second) == 20 and not first & second
    # a filter narrows every queue to the database's count of that filter
    choose(page, "intake", "urgency", "紧急")
    urgent = schema.cases.c.urgency == "urgent"
    expected = db_count(live_app, stage == "handled", urgent)
    page.wait_for_function(f"document.querySelector('#intake-queue-handled .count')?.textContent === '{expected}'")
    assert shown_count(page, "#intake-queue-reported .count") == db_count(live_app, stage == "reported", urgent)
    assert page.locator("#intake-queue-reported .tag-urgent").count() == page.locator(
        "#intake-queue-reported .queue-row").count()
    page.screenshot(path=str(artifacts / "queues-intake-urgent.png"))

    # the operator: every filed case counted, one page at a time; the overdue filter
    operator = tabs().login("op", "/dispatch")
    op = operator.page
    op.wait_for_function(f"document.querySelector('#dispatch-queue-count')?.textContent === '{PLAN['filed']}'")
    assert shown_count(op, "#dispatch-queue-count") == db_count(live_app, stage == "filed")
    assert op.locator("#dispatch-queue .queue-row").count() == 50
    op.click("#dispatch-filters .queue-filter-overdue input")
    overdue = db_count(live_app, stage == "filed", schema.cases.c.deadline_at < live_app.system.now())
    op.wait_for_function(f"document.querySelector('#dispatch-queue-count')?.textContent === '{overdue}'")
    op.screenshot(path=str(artifacts / "queues-dispatch-overdue.png"))

    # the department: its own cases, the newest on top
    department = tabs().login("sani", "/department")
    dp = department.page
    mine = db_count(live_app, stage == "dispatched", schema.cases.c.department_code == "sanitation")
    dp.wait_for_function(f"document.querySelector('#department-queue-count')?.textContent === '{mine}'")
    with live_app.system.engine.connect() as c:
        newest = c.execute(select(schema.cases.c.case_id).where(stage == "dispatched", urgent)
                           .order_by(schema.cases.c.stage_entered_at.desc()).limit(1)).scalar()
    assert dp.get_attribute("#department-queue .queue-row", "data-case") == newest   # urgent, then newest
    dp.screenshot(path=str(artifacts / "queues-department.png"))
    for tab in (sup, operator, department):
        assert tab.problems() == []


def choose(page, where: str, field: str, label: str) -> None:
    """Pick ``label`` in a filter dropdown of the page's filter bar."""
    page.click(f"#{where}-filters .queue-filter-{field} .dash-dropdown")
    page.locator(".dash-dropdown-option", has_text=label).first.click()
    page.keyboard.press("Escape")
