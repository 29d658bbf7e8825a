"""The work pages in headless Chromium against the real app (waitress, Redis, SQLite, worker):
dispatching from the map, one case through all six stages by the people of each role, and
typed text that must never run as HTML.  Screenshots go to test-artifacts/."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from shapely.geometry import shape

from layouts.dispatch import Ids
from tests.browser import wait_until
from tests.browser_util import Tab, live_app, tabs  # noqa: F401 - fixtures
from tests.helpers import event, loop_events, publish

pytestmark = pytest.mark.browser
EVIL = '<img src=x onerror=window.__xss=1><script>window.__xss=1</script>'
HAS_WALL = (Path(__file__).resolve().parent.parent / "layouts" / "wall.py").exists()


def spread_positions(live, n: int) -> list[tuple[float, float]]:
    """Points inside ``n`` unit grids spread over the district (so markers do not overlap)."""
    features = live.system.scenario.grids_geojson["features"]
    step = max(1, len(features) // n)
    return [(p.x, p.y) for p in (shape(f["geometry"]).representative_point() for f in features[::step][:n])]


def seed_filed(live, n: int, description: str = "井盖破损，需更换") -> list[str]:
    """``n`` cases reported and filed through the command service; wait until projected."""
    commands, sup = live.services.commands, live.actor("sup")
    ids = []
    for i, (lon, lat) in enumerate(spread_positions(live, n)):
        case_id = commands.report(sup, "E0102" if i % 2 == 0 else "C0118", lon, lat, description, "phone").case_id
        commands.file(sup, case_id)
        ids.append(case_id)
    wait_until(lambda: all((live.services.cases.row(c) or {}).get("stage") == "filed" for c in ids),
               message="the worker to project the seeded cases")
    return ids


def seed_handled(live, on_time: int, late: int, department: str = "sanitation") -> None:
    """Cases ``department`` handled in the last days, ``on_time`` within their deadline and
    ``late`` ten days after dispatch (long past it); waits until they are projected."""
    now, tz = live.system.now(), live.system.scenario.calendar.tz
    start = now - timedelta(days=12)
    ids = [f"DC{start.astimezone(tz):%Y%m%d}{900001 + i:06d}" for i in range(on_time + late)]
    events = []
    for i, case_id in enumerate(ids):
        loop = loop_events(case_id, start + timedelta(hours=i), department, stages=4)  # … handled 5 min after dispatch
        if i >= on_time:
            loop[-1] = event(case_id, "handled", start + timedelta(days=10, hours=i))
        events += loop
    publish(live.system.stream, events)
    wait_until(lambda: all((live.services.cases.row(c) or {}).get("stage") == "handled" for c in ids),
               message="the worker to project the handled cases")


def dispatched_events(live, case_id: str) -> int:
    n = 0
    for _, fields in live.system.redis.xrange(live.system.stream.key):
        if fields[b"case_id"].decode() == case_id and fields[b"type"] == b"dispatched":
            n += 1
    return n


def panel_stage(page) -> str:
    return page.get_attribute("#dispatch-panel-body [data-stage]", "data-stage")


def test_operator_dispatches_a_case_from_the_map(live_app, tabs, artifacts):
    seed_handled(live_app, on_time=3, late=1)      # sanitation's record: 3 of 4 on time, none open
    ids = seed_filed(live_app, 6)
    target = ids[0]
    tab = tabs().login("op", "/dispatch")
    page = tab.page
    marker = page.locator(f"path.case-{target}")
    marker.wait_for()
    page.wait_for_selector(f".queue-row[data-case='{target}']")
    page.screenshot(path=str(artifacts / "dispatch-console.png"))

    marker.click()  # a filed case on the map opens the case panel
    page.wait_for_function(f"document.querySelector('#case-panel-id')?.textContent === '{target}'")
    page.wait_for_selector("#dispatch-form:not(.hidden)")
    recommended = live_app.services.recommendation.recommend(live_app.services.cases.row(target))["department"]
    assert recommended == "sanitation"                    # E0102 (exposed rubbish) by the routing table
    assert page.is_checked(f"#dispatch-department input[value='{recommended}']")  # the routing table's choice
    label = page.locator(".dept-label").first              # listed first, with its load and on-time rate
    assert label.get_attribute("data-department") == recommended
    assert label.locator(".dept-stat").all_inner_texts() == ["在办 0", "按期率 75%"]
    assert page.input_value("#dispatch-deadline")  # the deadline from the time-limit table
    page.fill("#dispatch-note", "请今天下班前处理")
    page.screenshot(path=str(artifacts / "dispatch-panel.png"))

    page.click("#dispatch-submit")  # accept the recommendation
    page.wait_for_selector(f"#dispatch-message .msg-ok:has-text('{target}')")
    page.wait_for_function("document.querySelector('#dispatch-panel-body [data-stage]')?.dataset.stage === 'dispatched'")
    page.wait_for_selector(f".queue-row[data-case='{target}']", state="detached")  # left the waiting queue
    page.wait_for_selector(f"path.case-{target}.case-active", state="attached")  # now an in-progress marker
    page.wait_for_selector(".tl-dispatched")  # the timeline has the dispatch
    page.screenshot(path=str(artifacts / "dispatch-done.png"))
    assert dispatched_events(live_app, target) == 1
    row = live_app.services.cases.row(target)
    assert (row["stage"], row["department_code"]) == ("dispatched", recommended)

    # a double click on another case dispatches it once
    second = ids[1]
    page.click(f".queue-row[data-case='{second}']")
    page.wait_for_function(f"document.querySelector('#case-panel-id')?.textContent === '{second}'")
    page.wait_for_selector("#dispatch-form:not(.hidden)")
    page.dblclick("#dispatch-submit")
    page.wait_for_selector(f"#dispatch-message :is(.msg-ok, .msg-error):has-text('{second}')")
    wait_until(lambda: live_app.system.stream.case_state(second)["stage"] == "dispatched")
    assert dispatched_events(live_app, second) == 1

    if HAS_WALL:  # the wall shows the dispatch in its ticker
        tab.open("/wall")
        page.wait_for_selector(f".wall-tick-row.type-dispatched .case:has-text('{target}')", timeout=30_000)
        page.screenshot(path=str(artifacts / "dispatch-seen-on-wall.png"))
    assert tab.problems() == []


def test_a_conflict_names_who_dispatched_and_when(live_app, tabs):
    target = seed_filed(live_app, 1)[0]
    tab = tabs().login("op", f"/dispatch?case={target}")
    page = tab.page
    page.wait_for_selector("#dispatch-form:not(.hidden)")
    # Meanwhile a colleague dispatches it from another console, between two refreshes of this page:
    # the page's refresh tick (3 s) is held until the click has been answered — else a tick landing
    # first hides the form (as it should) and the click has nothing to click.
    held, holding = [], [True]

    def hold_ticks(route):
        if holding[0] and f'"{Ids.TICK.value}.n_intervals"' in (route.request.post_data or ""):
            held.append(route)
        else:
            route.continue_()
    page.route("**/_dash-update-component*", hold_ticks)
    live_app.services.commands.dispatch(live_app.actor("adm"), target, "roads")
    page.click("#dispatch-submit")
    error = page.locator("#dispatch-message .msg-error")
    error.wait_for()
    holding[0] = False
    for route in held:
        route.continue_()
    page.unroute("**/_dash-update-component*", hold_ticks)
    at = live_app.system.now().astimezone(live_app.system.scenario.calendar.tz)  # the colleague's time, today
    assert f"案件 {target} 已被 adm 于 {at:%H:%M:%S} 派遣" in error.inner_text()
    assert dispatched_events(live_app, target) == 1
    assert tab.problems() == []


def choose_category(page, code: str) -> None:
    page.click("#intake-category")
    search = page.locator(".dash-dropdown-search")
    search.wait_for()
    search.fill(code)
    page.locator(".dash-dropdown-option", has_text=code).first.click()
    page.keyboard.press("Escape")


def intake_stage(page) -> str | None:
    return page.get_attribute("#intake-panel-body [data-stage]", "data-stage")


def test_one_case_through_all_six_stages_in_the_browser(live_app, tabs, artifacts):
    cases = live_app.services.cases
    # 1 reported — the supervision centre registers a phone call, picking the place on the map
    sup = tabs().login("sup", "/intake")
    page = sup.page
    box = page.locator("#intake-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("document.querySelector('#intake-position').textContent.includes('街道')")
    choose_category(page, "E0102")
    page.fill("#intake-description", "东四十条路口垃圾堆积，市民来电")
    page.click("#intake-register")
    done = page.locator("#intake-register-message .msg-ok")
    done.wait_for()
    case_id = re.search(r"DC\d{14}", done.inner_text()).group(0)
    page.wait_for_function("document.querySelector('#intake-panel-body [data-stage]')?.dataset.stage === 'reported'")
    page.screenshot(path=str(artifacts / "loop-1-registered.png"))

    # 2 filed — by the supervision centre, once the panel shows the case
    page.wait_for_selector("#intake-file:not(.hidden)")
    page.click("#intake-file")
    page.wait_for_function("document.querySelector('#intake-panel-body [data-stage]')?.dataset.stage === 'filed'")
    wait_until(lambda: (cases.row(case_id) or {}).get("stage") == "filed", message="the filing to be projected")

    # 3 dispatched — by an operator, accepting the recommended department
    operator = tabs().login("op", "/dispatch")
    op = operator.page
    op.click(f".queue-row[data-case='{case_id}']")
    op.wait_for_selector("#dispatch-form:not(.hidden)")
    assert op.is_checked("#dispatch-department input[value='sanitation']")
    op.click("#dispatch-submit")
    op.wait_for_selector(f"#dispatch-message .msg-ok:has-text('{case_id}')")
    op.screenshot(path=str(artifacts / "loop-3-dispatched.png"))
    wait_until(lambda: (cases.row(case_id) or {}).get("stage") == "dispatched", message="the dispatch to be projected")

    # 4 handled — by the sanitation department, from its own queue
    department = tabs().login("sani", "/department")
    dp = department.page
    dp.click(f".queue-row[data-case='{case_id}']")
    dp.wait_for_selector("#department-actions:not(.hidden)")
    dp.fill("#department-note", "已清运完毕")
    dp.screenshot(path=str(artifacts / "loop-4-department.png"))
    dp.click("#department-handle")
    dp.wait_for_selector("#department-message .msg-ok")
    wait_until(lambda: (cases.row(case_id) or {}).get("stage") == "handled", message="the handling to be projected")

    # 5 verified — the supervision centre checks on site: pass
    page.click(f"#intake-queue-handled .queue-row[data-case='{case_id}']")
    page.wait_for_selector("#intake-pass:not(.hidden)")
    page.click("#intake-pass")
    page.wait_for_function("document.querySelector('#intake-panel-body [data-stage]')?.dataset.stage === 'verified'")

    # 6 closed
    page.wait_for_selector("#intake-close:not(.hidden)")
    page.click("#intake-close")
    page.wait_for_function("document.querySelector('#intake-panel-body [data-stage]')?.dataset.stage === 'closed'")
    wait_until(lambda: (cases.row(case_id) or {}).get("stage") == "closed", message="the closing to be projected")
    page.wait_for_function("document.querySelectorAll('#intake-panel-timeline .tl-item').length === 6")
    page.screenshot(path=str(artifacts / "loop-6-closed.png"))

    row = cases.row(case_id)
    assert (row["version"], row["department_code"], row["source"]) == (6, "sanitation", "phone")
    assert [e["type"] for e in cases.timeline(case_id)] == ["reported", "filed", "dispatched", "handled", "verified",
                                                            "closed"]
    for tab in (sup, operator, department):
        assert tab.problems() == []


def test_typed_text_never_runs_as_html(live_app, tabs, artifacts):
    ids = seed_filed(live_app, 3, description=EVIL)
    commands = live_app.services.commands
    commands.dispatch(live_app.actor("op"), ids[1], "sanitation", note=EVIL)  # in the timeline and on the wall
    # projected before the page opens: its projection arriving later would redraw the map's markers
    # between the hover below and the reading of its tooltip (a redrawn marker has none)
    wait_until(lambda: (live_app.services.cases.row(ids[1]) or {}).get("stage") == "dispatched",
               message="the dispatch to be projected")
    tab = tabs().login("op", "/dispatch")
    page = tab.page
    marker = page.locator(f"path.case-{ids[0]}")
    marker.wait_for()
    marker.hover()  # the marker's tooltip
    page.wait_for_selector(".case-tooltip")
    assert page.inner_text(".case-tooltip strong") == ids[0]
    marker.click()
    page.wait_for_function(f"document.querySelector('#case-panel-id')?.textContent === '{ids[0]}'")
    assert page.inner_text("#case-panel-description") == EVIL  # shown as the text it is
    page.click(f"path.case-{ids[1]}")
    page.wait_for_selector(".tl-dispatched")
    assert EVIL in page.inner_text("#dispatch-panel")
    page.screenshot(path=str(artifacts / "dispatch-injection.png"))
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("img[src='x']").count() == 0 and page.locator("#dispatch-panel script").count() == 0
    admin = tabs().login("adm", "/intake")  # the same texts on the other work pages
    admin.page.wait_for_selector("#intake-queue-reported")
    admin.open("/department")
    admin.page.wait_for_selector(f".queue-row[data-case='{ids[1]}']")
    admin.page.click(f".queue-row[data-case='{ids[1]}']")
    admin.page.wait_for_selector(".tl-dispatched")
    assert admin.page.evaluate("typeof window.__xss") == "undefined"
    assert tab.problems() == [] and admin.problems() == []


def test_dispatch_a_selection_drawn_on_the_map_in_english(live_app, tabs, artifacts):
    ids = seed_filed(live_app, 8)
    tab = tabs().login("op", "/dispatch?lang=en")
    page = tab.page
    page.wait_for_selector(f"path.case-{ids[0]}")
    assert page.inner_text(".console-queue h2") == "Waiting for dispatch"
    # draw a rectangle over the whole district with the EditControl's rectangle tool
    page.click(".leaflet-draw-draw-rectangle")
    box = page.locator("#dispatch-map").bounding_box()
    page.mouse.move(box["x"] + 60, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=8)
    page.mouse.move(box["x"] + box["width"] - 60, box["y"] + box["height"] - 20, steps=8)
    page.mouse.up()
    page.wait_for_selector("#dispatch-batch.active")
    selected = page.locator("#dispatch-batch-list .case-id").all_inner_texts()
    inside = [c for c in ids if page.locator(f"path.case-{c}").is_visible()]
    assert selected and set(selected) <= set(ids) and set(selected) == set(inside)
    # highlighted on the map — by a second callback (the selection's hideout), after the list is shown
    page.wait_for_function("""(ids) => { const chosen = [...document.querySelectorAll('path.case-chosen')];
        return chosen.length === ids.length && ids.every(id => document.querySelector(`path.case-chosen.case-${id}`)); }""",
                           arg=selected)
    page.screenshot(path=str(artifacts / "dispatch-selection.png"))
    assert dispatched_events(live_app, selected[0]) == 0
    page.click("#dispatch-batch-submit")          # nothing goes before the confirmation
    page.wait_for_selector("#dispatch-confirm:not(.hidden)")
    text = page.inner_text("#dispatch-confirm-text")
    names = {live_app.services.cases.department_name(
        live_app.services.recommendation.recommend(live_app.services.cases.row(c))["department"], "en") for c in selected}
    assert f"Dispatch {len(selected)} cases" in text and all(name in text for name in names), text
    page.screenshot(path=str(artifacts / "dispatch-selection-confirm.png"))
    assert all(dispatched_events(live_app, c) == 0 for c in selected)
    page.click("#dispatch-confirm-go")
    page.wait_for_selector("#dispatch-batch-result .msg-ok")
    assert page.locator("#dispatch-batch-result .msg-ok").count() == len(selected)
    wait_until(lambda: all(live_app.system.stream.case_state(c)["stage"] == "dispatched" for c in selected))
    for case_id in selected:  # each to its own recommended department
        expected = live_app.services.recommendation.recommend(live_app.services.cases.row(case_id))["department"]
        assert live_app.system.stream.case_state(case_id)["department"] == expected
        assert dispatched_events(live_app, case_id) == 1
    page.wait_for_function(f"document.querySelectorAll('.queue-row').length === {len(ids) - len(selected)}")
    page.screenshot(path=str(artifacts / "dispatch-selection-done.png"))
    assert tab.problems() == []


def test_waiting_markers_lie_above_in_progress_clusters_and_take_the_click(live_app, tabs, artifacts):
    commands, sup, op = live_app.services.commands, live_app.actor("sup"), live_app.actor("op")
    lon, lat = spread_positions(live_app, 3)[1]
    busy = []
    for _ in range(12):   # in progress on the very spot: a cluster icon (marker pane, z 600) right over it
        case_id = commands.report(sup, "E0102", lon, lat, "在办", "phone").case_id
        commands.file(sup, case_id)
        commands.dispatch(op, case_id, "sanitation")
        busy.append(case_id)
    waiting = commands.report(sup, "C0118", lon, lat, "路灯不亮", "phone").case_id
    commands.file(sup, waiting)
    wait_until(lambda: (live_app.services.cases.row(waiting) or {}).get("stage") == "filed"
               and all((live_app.services.cases.row(c) or {}).get("stage") == "dispatched" for c in busy))
    tab = tabs().login("op", "/dispatch")
    page = tab.page
    marker = page.locator(f"path.case-{waiting}")
    marker.wait_for()
    page.wait_for_selector(".case-cluster")
    assert page.locator(f".leaflet-citygrid-filed-pane path.case-{waiting}").count() == 1   # its own pane …
    # The map redraws its layers on every refresh, so the marker is measured and hit-tested in one step,
    # on whichever copy is drawn at that moment (a box taken from a copy removed a moment later is None).
    centre = page.wait_for_function("""(id) => {
        const el = document.querySelector(`.leaflet-citygrid-filed-pane path.case-${id}`);
        const r = el && el.getBoundingClientRect();
        if (!r || !r.width || !r.height) return null;
        const x = r.x + r.width / 2, y = r.y + r.height / 2;
        return {x, y, top: document.elementFromPoint(x, y)?.getAttribute('class') || ''};
    }""", arg=waiting).json_value()
    x, y, on_top = centre["x"], centre["y"], centre["top"]
    assert f"case-{waiting}" in on_top, on_top                                               # … above the cluster
    page.screenshot(path=str(artifacts / "dispatch-waiting-above-clusters.png"))
    page.mouse.click(x, y)
    page.wait_for_function(f"document.querySelector('#case-panel-id')?.textContent === '{waiting}'")
    page.wait_for_selector("#dispatch-form:not(.hidden)")
    assert page.locator("#dispatch-map .leaflet-citygrid-roads-pane path").count() > 10       # main roads drawn
    assert "东华门街道" in page.inner_text("#dispatch-map .leaflet-citygrid-roads-pane")    # street names
    assert tab.problems() == []
