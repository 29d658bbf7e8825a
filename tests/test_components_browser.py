"""City components in headless Chromium (issue 16), against the real app with the whole
committed inventory (168,339 components) loaded: the map layer's bytes, time to first draw
and a pan and zoom on /dispatch (measured, written to test-artifacts/components-map.json);
a case reported on a component dispatched to its maintainer from the recommendation; the
component's page listing its cases; the repeat offenders on /regions."""
from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest

from tests.browser import map_settled, wait_until
from tests.browser_util import start_live_app, tabs  # noqa: F401 - fixtures
from tests.helpers import event, publish

pytestmark = pytest.mark.browser
LAYER_BUDGET = 1_000_000      # bytes: the first load of the layer
#: The first draw after start-up reads the whole inventory into memory (warm: under 2 s); on a loaded
#: machine that took 17.7 s of the pages' default 20 s (load average 14), so it gets its own bound.
FIRST_DRAW_MS = 60_000


@pytest.fixture
def live_app(tmp_path, stream_key, redis_server_url):
    """The live app (as tests/browser_util.py's) with the inventory loaded at start-up."""
    from dashboard.settings import Settings
    from datasource.system import System
    from tests.helpers import FixedClock
    settings = Settings(data_dir=tmp_path, redis_url=redis_server_url, database_url=f"sqlite:///{tmp_path / 'b.db'}",
                        stream=stream_key, secret_key="browser-test-secret", components_autoload=True)
    system = System(settings, clock=FixedClock()).start()
    live = start_live_app(system)
    yield live
    live.close()
    system.close()


class LayerWatch:
    """The components layer's callback answers (when, and their bytes) seen by a page, and
    the requests for it still in flight."""

    def __init__(self, page, layer: str):
        self.answers: list[tuple[float, object]] = []
        self.pending: set = set()
        self.layer, self.page = layer, page
        page.on("request", self._sent)
        page.on("requestfinished", self._finished)
        page.on("requestfailed", lambda request: self.pending.discard(request))

    def _ours(self, request) -> bool:
        return "/_dash-update-component" in request.url and f'"output":"{self.layer}.data"' in (request.post_data or "")

    def _sent(self, request) -> None:
        if self._ours(request):
            self.pending.add(request)

    def _finished(self, request) -> None:
        # no body() here: the handler runs inside Playwright's dispatcher; read it afterwards
        if self._ours(request):
            self.pending.discard(request)
            self.answers.append((time.perf_counter(), request))

    def wait_next(self, count: int, timeout: float = 30.0) -> tuple[float, int]:
        """The first answer with data (HTTP 200, not a 204 "nothing to update") from the
        ``count``-th on: (when it finished, its bytes)."""
        deadline = time.monotonic() + timeout
        while True:
            for at, request in self.answers[count:]:
                response = request.response()
                if response is not None and response.status == 200:
                    return at, len(response.body())
            # Playwright delivers events only while it is called: poll through it
            assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for the components layer"
            self.page.wait_for_timeout(20)

    def settled(self, map_selector: str, timeout: float = 30.0) -> None:
        """The map has stopped moving and no answer for the layer is on its way: what is drawn
        now stays where it is (a point measured before a late answer or a zoom still running
        is not the point clicked after it)."""
        deadline = time.monotonic() + timeout
        while True:
            map_settled(self.page, map_selector)
            if not self.pending:
                return
            assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for the layer to settle"
            self.page.wait_for_timeout(20)


def drawn(page, selector: str) -> int:
    return page.evaluate(f"document.querySelectorAll('{selector}').length")


def test_the_layer_is_light_draws_fast_and_follows_pan_and_zoom(live_app, tabs, artifacts):
    tab = tabs()
    page = tab.page
    watch = LayerWatch(page, "dispatch-components")
    started = time.perf_counter()
    tab.login("op", "/dispatch")
    page.wait_for_selector("path.component-cluster", state="attached", timeout=FIRST_DRAW_MS)
    first_draw = time.perf_counter() - started
    at, first_bytes = watch.wait_next(0)
    clusters = drawn(page, "path.component-cluster")
    page.screenshot(path=str(artifacts / "components-dispatch-district.png"))
    assert first_bytes <= LAYER_BUDGET and clusters > 20

    # zoom in three steps (the map's + button): clusters split, then single components
    steps = []
    for _ in range(3):
        n = len(watch.answers)
        t0 = time.perf_counter()
        page.click(".leaflet-control-zoom-in")
        answered, size = watch.wait_next(n)
        watch.settled("#dispatch-map")
        steps.append({"seconds": round(answered - t0, 3), "bytes": size})
    # and pan: a drag of the map
    box = page.locator("#dispatch-map").bounding_box()
    n = len(watch.answers)
    t0 = time.perf_counter()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 - 300, box["y"] + box["height"] / 2 - 150, steps=8)
    page.mouse.up()
    panned, pan_bytes = watch.wait_next(n)
    pan = {"seconds": round(panned - t0, 3), "bytes": pan_bytes}
    page.screenshot(path=str(artifacts / "components-dispatch-zoomed.png"))
    # zoom to single components and open one: its code, kind and maintainer
    watch.settled("#dispatch-map")
    for _ in range(3):
        n = len(watch.answers)
        page.click(".leaflet-control-zoom-in")
        watch.wait_next(n)
        watch.settled("#dispatch-map")
    page.wait_for_selector("path.component-marker", state="attached")
    # a component marker in view and on top (no case marker or cluster over it): click it as a person would
    point = page.evaluate("""() => {
        const map = document.querySelector('#dispatch-map').getBoundingClientRect();
        for (const m of document.querySelectorAll('path.component-marker')) {
            const r = m.getBoundingClientRect(), x = r.x + r.width / 2, y = r.y + r.height / 2;
            if (x > map.left + 60 && x < map.right - 60 && y > map.top + 60 && y < map.bottom - 60
                && document.elementFromPoint(x, y) === m) { return [x, y]; }
        }
        return null; }""")
    assert point, "no component marker in view"
    page.mouse.click(*point)
    popup = page.locator(".component-popup")
    popup.wait_for()
    code = popup.locator("strong").inner_text()
    assert len(code) == 16 and code.isdigit()
    found = live_app.services.components.get(code)
    text = popup.inner_text()
    assert live_app.system.scenario.categories[found["kind"]].name_zh in text
    assert live_app.system.scenario.departments[found["maintainer_department"]].name_zh in text
    page.screenshot(path=str(artifacts / "components-dispatch-popup.png"))
    points = drawn(page, "path.component-marker")
    # the page opened again (the server's arrays are warm): navigation to the first clusters drawn
    n = len(watch.answers)
    t0 = time.perf_counter()
    tab.open("/dispatch")
    watch.wait_next(n)
    page.wait_for_selector("path.component-cluster", state="attached")
    warm_draw = time.perf_counter() - t0
    figures = {"first_layer_bytes": first_bytes, "login_to_first_draw_seconds": round(first_draw, 3),
               "open_to_first_draw_seconds": round(warm_draw, 3),
               "district_clusters": clusters, "zoom_steps": steps, "pan": pan,
               "points_drawn_at_zoom": points}
    (artifacts / "components-map.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")
    assert max(s["bytes"] for s in steps + [pan]) <= LAYER_BUDGET
    assert max(s["seconds"] for s in steps + [pan]) < 10      # no stall (generous: two shared cores)
    assert warm_draw < 15
    assert tab.problems() == []


def test_a_component_case_is_dispatched_to_its_maintainer_and_listed_on_its_page(live_app, tabs, artifacts):
    components = live_app.services.components
    lamp = next(c for c in components.in_box(116.40, 39.90, 116.43, 39.93, ("C0118",), limit=5000)[0]
                if c["maintainer_department"].startswith("street-"))          # not the routing table's "power"
    commands = live_app.services.commands
    case_id = commands.report(live_app.actor("sup"), "C0118", None, None, "路灯不亮", "phone",
                              component=lamp["code"]).case_id
    commands.file(live_app.actor("sup"), case_id)
    wait_until(lambda: (live_app.services.cases.row(case_id) or {}).get("stage") == "filed",
               message="the worker to project the case")
    tab = tabs().login("op", f"/dispatch?case={case_id}")
    page = tab.page
    page.wait_for_selector("#dispatch-form:not(.hidden)")
    component = page.locator(f"#dispatch-panel-body a.case-component[data-component='{lamp['code']}']")
    component.wait_for()                                        # the panel names the component
    maintainer = lamp["maintainer_department"]
    assert page.is_checked(f"#dispatch-department input[value='{maintainer}']")   # proposed first …
    first = page.locator(".dept-label").first
    assert first.get_attribute("data-department") == maintainer
    assert lamp["code"] in first.inner_text() and "养护单位" in first.inner_text()   # … and why
    page.screenshot(path=str(artifacts / "components-dispatch-maintainer.png"))
    page.click("#dispatch-submit")
    page.wait_for_selector(f"#dispatch-message .msg-ok:has-text('{case_id}')")
    wait_until(lambda: (live_app.services.cases.row(case_id) or {}).get("department_code") == maintainer,
               message="the dispatch to the maintainer")

    # two more cases on the same lamp over the last days: a repeat offender
    now = live_app.system.now()
    publish(live_app.system.stream, [
        event(f"DC{(now - timedelta(days=d)).astimezone(live_app.system.scenario.calendar.tz):%Y%m%d}99000{d}",
              "reported", now - timedelta(days=d), category="C0118", lon=lamp["lon"], lat=lamp["lat"],
              component=lamp["code"], description=f"第 {d} 次") for d in (2, 3)])
    wait_until(lambda: len(components.cases_of(lamp["code"])) == 3, message="the older cases to be projected")
    tab.open(f"/components/{lamp['code']}")
    page.wait_for_selector("#component-code-text")
    assert page.inner_text("#component-code-text") == lamp["code"]
    assert page.get_attribute("#component-maintainer", "data-department") == maintainer
    rows = page.locator("tr.component-case")
    rows.first.wait_for()
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.case)")) == sorted(
        c["case_id"] for c in components.cases_of(lamp["code"]))
    page.screenshot(path=str(artifacts / "components-page.png"), full_page=True)
    missing = tabs().login("op", "/components/1101010118999999").page
    missing.wait_for_selector("#component-missing")

    from datasource.services import accounts
    from tests.browser_util import PASSWORD
    accounts.add_user(live_app.system.engine, "boss", "leader", PASSWORD)
    boss = tabs().login("boss", "/regions")
    boss.page.wait_for_selector(f"#regions-offenders a.offender-code[data-component='{lamp['code']}']")
    boss.page.locator("#regions-offenders-box").screenshot(path=str(artifacts / "components-offenders.png"))
    assert tab.problems() == []


def test_intake_picks_a_component_on_the_map_and_the_report_names_it(live_app, tabs, artifacts):
    import re
    from tests.test_dispatch_browser import choose_category
    tab = tabs()
    page = tab.page
    watch = LayerWatch(page, "intake-components")
    tab.login("sup", "/intake")
    page.wait_for_selector("path.component-cluster", state="attached", timeout=FIRST_DRAW_MS)
    watch.settled("#intake-map")
    for _ in range(6):        # zoom in until single components are drawn, one step at a time
        n = len(watch.answers)
        page.click(".leaflet-control-zoom-in")
        watch.wait_next(n)
        watch.settled("#intake-map")
    page.wait_for_selector("path.component-marker", state="attached")
    point = page.evaluate("""() => {
        const map = document.querySelector('#intake-map').getBoundingClientRect();
        for (const m of document.querySelectorAll('path.component-marker')) {
            const r = m.getBoundingClientRect(), x = r.x + r.width / 2, y = r.y + r.height / 2;
            if (x > map.left + 60 && x < map.right - 60 && y > map.top + 60 && y < map.bottom - 60
                && document.elementFromPoint(x, y) === m) { return [x, y]; }
        }
        return null; }""")
    assert point, "no component marker in view"
    page.mouse.click(*point)
    page.wait_for_function("document.querySelector('#intake-position').textContent.includes('已选部件')")
    code = re.search(r"\d{16}", page.inner_text("#intake-position")).group(0)
    found = live_app.services.components.get(code)
    choose_category(page, found["kind"])
    page.fill("#intake-description", "市民来电：设施损坏")
    page.click("#intake-register")
    done = page.locator("#intake-register-message .msg-ok")
    done.wait_for()
    case_id = re.search(r"DC\d{14}", done.inner_text()).group(0)
    wait_until(lambda: (live_app.services.cases.row(case_id) or {}).get("component_code") == code,
               message="the report to name the picked component")
    page.wait_for_selector(f"#intake-panel-body a.case-component[data-component='{code}']")
    page.screenshot(path=str(artifacts / "components-intake-picked.png"))
    assert tab.problems() == []
