"""The wall in a real headless Chromium, against the real app, Redis, SQLite and worker.

What only a browser shows: the map draws the grids and the case clusters, published events
reach the stage strip and the ticker by themselves, the page fits 1920×1080 and 3840×2160
without scrollbars, user-typed text stays text, and the freshness banner appears when Redis
dies and goes away when it is back.  Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import threading
from datetime import timedelta, timezone

import pytest

from dashboard.domain.lifecycle import OPEN_STAGE_NAMES
from dashboard.i18n import t
from dashboard.settings import Settings
from datasource.services import accounts
from tests.browser import LiveServer, RedisProcess, wait_until
from tests.helpers import FixedClock, event, loop_events, publish

pytestmark = pytest.mark.browser
TZ = timezone(timedelta(hours=8))
XSS = '<img src=x onerror="window.__xss=1;alert(1)"><script>window.__xss=2</script>'


class Wall:
    """A running wall: system, worker thread, app served by waitress, and a display token."""

    def __init__(self, settings: Settings):
        from dashboard.web.factory import create_app, start
        from datasource.system import System
        self.system = System(settings, clock=FixedClock()).start()   # the tests' fixed "now"
        self.today = self.system.now().astimezone(TZ).strftime("%Y%m%d")
        accounts.add_user(self.system.engine, "wall1", "wall")
        self.token = accounts.create_token(self.system.engine, "wall1")
        self.worker = self.system.worker(consumer="wall-test")
        self.thread = threading.Thread(target=self.worker.run, kwargs={"block_ms": 200}, daemon=True)
        self.flask = start(create_app(settings, self.system)).server
        self.server = LiveServer(self.flask)
        points = [p.representative_point() for p in self.system.locator.polygons]
        self.places = [(round(p.x, 6), round(p.y, 6)) for p in points[::max(1, len(points) // 150)]]

    def case(self, n: int) -> str:
        return f"DC{self.today}{n:06d}"

    def seed(self, cases: int = 90) -> None:
        """Cases in every stage (1–6 events each), spread over the district, some overdue."""
        now = self.system.now()
        events = []
        for i in range(cases):
            lon, lat = self.places[i % len(self.places)]
            start = now - timedelta(minutes=240 - 2 * i)
            events += loop_events(self.case(i + 1), start, stages=1 + i % 6, lon=lon, lat=lat)
        publish(self.system.stream, events)
        self.wait_projected()

    def wait_projected(self) -> None:
        """Until everything published is projected (undelivered + pending = 0): a test reading the
        wall's counts as its starting point must not read them half-way through the seed."""
        wait_until(lambda: self.worker.lag() == 0, message="the worker to project what was published")

    def url(self, extra: str = "") -> str:
        return f"{self.server.url}/wall?token={self.token}&kiosk=1{extra}"

    def __enter__(self) -> "Wall":
        self.thread.start()
        self.server.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.flask.extensions["citygrid.wall_hub"].stop()   # end the pushed streams before the server
        self.server.__exit__(*exc)
        self.worker.stop()
        self.thread.join(timeout=10)
        self.system.close()


@pytest.fixture
def wall(tmp_path, stream_key, redis_server_url):
    settings = Settings(data_dir=tmp_path, redis_url=redis_server_url, stream=stream_key, tick_ms=500,
                        database_url=f"sqlite:///{tmp_path / 'wall.db'}")
    with Wall(settings) as running:
        running.seed()
        yield running


# ---- what the page shows ---------------------------------------------------------------------
def slot(page, kind: str, n: int) -> str:
    """Text of a stage-strip or side slot (pattern-matched ids)."""
    return page.evaluate("""([kind, n]) => { for (const e of document.querySelectorAll('[id*="' + kind + '"]')) {
        const id = JSON.parse(e.id); if (id.type === kind && id.slot === n) return e.textContent; } return null; }""",
                         [kind, n])


def ticker(page) -> str:
    return page.inner_text("#wall-ticker")


def wait_for_map(page, timeout: float = 60_000) -> None:
    """Grids drawn (every polygon registered, canvas in the grid pane) and case clusters or markers."""
    page.wait_for_function("""() => { const W = window.citygridWall;
        return W && Object.keys(W.layers).length > 1000 && W.markers.size > 0
            && document.querySelector('.leaflet-wall-grids-pane canvas')
            && document.querySelectorAll('.wall-cluster, .leaflet-marker-pane .leaflet-interactive, .leaflet-overlay-pane canvas').length > 0; }""",
                           timeout=timeout)


#: Kept by the page from its first moment: each view the wall shows (its label), when it came, the
#: streets of the markers the wall held at that moment — the data of the view that just ended — and
#: whether the page took the departments layout while it stood (``page.add_init_script(VIEW_LOG)``).
#: A rotation test reads what happened instead of racing a 10-second rotation that starts with the
#: page, before the map is drawn (on a loaded machine the map alone can take longer than a view).
VIEW_LOG = """window.__views = [];
new MutationObserver(() => {
    const el = document.getElementById('wall-view'), root = document.getElementById('wall-root');
    const W = window.citygridWall, log = window.__views, text = el && el.textContent;
    if (text && !(log.length && log[log.length - 1].view === text)) {
        const streets = W && W.markers ? [...new Set([...W.markers.values()].map(m => m[7]))] : [];
        log.push({view: text, at: Date.now(), streets: streets, departments: false});
    }
    if (log.length && root && root.classList.contains('view-departments')) log[log.length - 1].departments = true;
}).observe(document, {subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['class']});"""


def views(page) -> list[dict]:
    """What :data:`VIEW_LOG` recorded so far."""
    return page.evaluate("window.__views")


def wait_for_views(page, wanted: list[str], timeout: float = 120) -> list[dict]:
    """Wait until the wall has shown the views labelled ``wanted``, in that order and no other
    (failing at once on a wrong one); their :data:`VIEW_LOG` entries."""
    def shown():
        log = views(page)[:len(wanted)]
        seen = [v["view"] for v in log]
        assert seen == wanted[:len(seen)], seen
        return log if seen == wanted else None
    return wait_until(shown, timeout=timeout, message=f"the views {wanted} in turn")


def no_scrollbars(page) -> bool:
    return page.evaluate("""() => document.scrollingElement.scrollHeight <= innerHeight
                                  && document.scrollingElement.scrollWidth <= innerWidth""")


def assert_clean(page) -> None:
    assert page.watch.problems() == []
    assert page.watch.dash_errors(page) == []


# ---- tests -------------------------------------------------------------------------------------
def test_wall_draws_the_map_and_follows_published_events(wall, browser_page, artifacts):
    page = browser_page
    page.goto(wall.url())
    wait_for_map(page)
    grids = len(wall.system.scenario.grids_geojson["features"])
    assert page.evaluate("Object.keys(window.citygridWall.layers).length") == grids
    assert page.locator(".wall-cluster").count() > 0
    wait_until(lambda: slot(page, "wall-stage", 0) not in (None, "—"), message="stage numbers")
    reported, filed, dispatched = (int(slot(page, "wall-stage", k)) for k in (0, 3, 6))

    # A new report: it pulses on the map, enters the ticker and the 发现 count.
    new_case = wall.case(5001)
    lon, lat = wall.places[7]
    publish(wall.system.stream, [event(new_case, "reported", wall.system.now(), category="E0102", lon=lon,
                                       lat=lat, description="路边有暴露垃圾", source="inspector")])
    wait_until(lambda: new_case in ticker(page), timeout=30, message="the new case in the ticker")
    wait_until(lambda: slot(page, "wall-stage", 0) == str(reported + 1), timeout=30, message="发现 +1")
    assert page.locator(f'.wall-pulse[data-case="{new_case}"]').count() == 1
    assert "路边有暴露垃圾" in page.inner_text(".wall-callout")

    # Dispatch of a filed case (seed case 2 stopped at 立案): 立案 −1, 派遣 +1, ticker says 派遣.
    filed_case = wall.case(2)
    publish(wall.system.stream, [event(filed_case, "dispatched", wall.system.now(), department="sanitation")])
    wait_until(lambda: slot(page, "wall-stage", 3) == str(filed - 1) and slot(page, "wall-stage", 6) == str(dispatched + 1),
               timeout=30, message="立案 −1 and 派遣 +1")
    first_row = page.locator("#wall-ticker .wall-tick-row").first
    wait_until(lambda: filed_case in first_row.inner_text() and "派遣" in first_row.inner_text(), timeout=30,
               message="the dispatch at the top of the ticker")
    # the freshness line is drawn by the wall's one-second clock, after the data it speaks of
    wait_until(lambda: page.inner_text("#wall-fresh").startswith("数据更新于"), message="fresh data")
    assert page.locator("#wall-banner").is_hidden()

    page.screenshot(path=str(artifacts / "wall-1920x1080.png"))
    assert no_scrollbars(page)
    width = page.evaluate("window.citygridWall.map.getSize().x")
    page.set_viewport_size({"width": 3840, "height": 2160})
    wait_for_map(page)
    # Leaflet has taken the new size and redrawn the grid canvas at it, before the screenshot.
    page.wait_for_function("""(before) => { const m = window.citygridWall.map, c = document.querySelector(
        '.leaflet-wall-grids-pane canvas'), x = m.getSize().x; return x > before && c && c.width >= x; }""", arg=width)
    page.screenshot(path=str(artifacts / "wall-3840x2160.png"))
    assert no_scrollbars(page)
    assert_clean(page)


def test_user_text_is_shown_as_text_never_run(wall, browser_page, artifacts):
    page = browser_page
    page.goto(wall.url())
    wait_for_map(page)
    case = wall.case(6001)
    lon, lat = wall.places[3]
    publish(wall.system.stream, [event(case, "reported", wall.system.now(), category="E0102", lon=lon, lat=lat,
                                       description=XSS, source="app")])
    wait_until(lambda: case in ticker(page), timeout=30, message="the case in the ticker")
    # The description is visible literally in the ticker and in the map's callout …
    wait_until(lambda: "<img src=x" in page.inner_text(".wall-callout"), timeout=30, message="the callout")
    assert "<img src=x" in ticker(page)
    # … and in the hover tooltip a marker gets (built by the same code the map uses).
    tooltip = page.evaluate("""(text) => { let content = null;
        window.dashExtensions.wall.markerEach({properties: {id: 'X', s: 0, c: 'E0102', t: text}},
                                              {bindTooltip: (c) => { content = c; }});
        return [content instanceof HTMLElement, content.textContent, content.querySelectorAll('img, script').length]; }""",
                            XSS[:40])
    scenario = wall.system.scenario  # the tooltip: id, "stage · category", then the text, all as text nodes
    expected = f"X{t('stage.' + OPEN_STAGE_NAMES[0], 'zh')} · {scenario.categories['E0102'].name_zh}{XSS[:40]}"
    assert tooltip == [True, expected, 0]
    # Give an injected <img onerror> time to fire — proven by the page applying two more
    # ticks after it drew the text — then check that nothing ran.
    drawn = page.evaluate("window.citygridWall.received")
    page.wait_for_function("(t) => window.citygridWall.received > t", arg=drawn)
    page.wait_for_function("(t) => window.citygridWall.received > t",
                           arg=page.evaluate("window.citygridWall.received"))
    assert page.evaluate("window.__xss") is None
    assert page.locator('img[src="x"]').count() == 0 and page.locator("#wall-ticker script").count() == 0
    page.locator(".wall-map").screenshot(path=str(artifacts / "wall-xss-callout.png"))
    assert_clean(page)


def test_english_and_rotation(wall, browser_page):
    page = browser_page
    page.add_init_script(VIEW_LOG)
    page.goto(wall.url("&lang=en&rotate=10"))
    wait_for_map(page)
    assert "Command Centre" in page.inner_text(".wall-title")
    # The whole district first; after 10 s the map flies to the first street, and its name is shown.
    first_street = next(iter(wall.system.scenario.streets.values()))
    wait_for_views(page, ["Whole district", first_street], timeout=40)
    assert_clean(page)


def test_banner_when_redis_dies_and_gone_when_it_returns(tmp_path, browser_page, artifacts):
    # Redis with its append-only file, as a city must run it (docs/drills.md): a restart keeps the
    # stream.  (One that comes back empty has lost the stream: the wall stays stale and says so —
    # bench/drills/redis_restart.py and tests/test_outage.py.)
    (tmp_path / "aof").mkdir()
    with RedisProcess(aof_dir=tmp_path / "aof") as redis_process:
        settings = Settings(data_dir=tmp_path, redis_url=redis_process.url, tick_ms=500, stream="citygrid:events",
                            database_url=f"sqlite:///{tmp_path / 'wall.db'}")
        with Wall(settings) as wall:
            wall.seed(30)
            page = browser_page
            page.goto(wall.url())
            wait_for_map(page)
            wait_until(lambda: page.inner_text("#wall-fresh").startswith("数据更新于"), message="fresh data")
            assert page.locator("#wall-banner").is_hidden()

            redis_process.kill()
            banner = page.locator("#wall-banner")
            banner.wait_for(state="visible", timeout=30_000)
            assert "Redis" in banner.inner_text() and "不是实时" in banner.inner_text()
            assert "bad" in page.get_attribute("#wall-fresh", "class")
            page.screenshot(path=str(artifacts / "wall-redis-down.png"))

            redis_process.start()  # same port, its data back: the worker and the wall reconnect by themselves
            banner.wait_for(state="hidden", timeout=60_000)
            # New events flow again after the restart.
            case = wall.case(7001)
            lon, lat = wall.places[1]
            publish(wall.system.stream, [event(case, "reported", wall.system.now(), category="E0102",
                                               lon=lon, lat=lat, description="恢复后上报", source="inspector")])
            wait_until(lambda: case in ticker(page), timeout=40, message="events after the restart")
            # The failed ticks while Redis was down are not page errors; the page stayed clean.
            assert_clean(page)
