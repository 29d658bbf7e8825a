"""Issue 13 in a real headless Chromium: the pushed wall, its alarms, playlists, street walls.

- an urgent burst water main takes over the wall (banner, map pin, timeline) until an operator
  acknowledges it — audited — and a second alarm waits in the queue meanwhile;
- a playlist rotates its views with their own durations (district → one street, cut on the
  server → the department board);
- the wall reconnects by itself after the web server restarts and resumes the live data;
- a street sub-centre's user sees its street only (markers, ticker, title);
- screenshots at 1920×1080 and 3840×2160: full department names, no street label under a cluster.
Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import pytest

from datasource.services import accounts, audit
from datasource.services.command_types import Actor
from tests.browser import LiveServer, wait_until
from tests.helpers import event, publish
from tests.test_wall_browser import (VIEW_LOG, Wall, assert_clean, no_scrollbars, ticker, views, wait_for_map,
                                     wait_for_views)

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-9"
SUPERVISION = Actor("intake", "supervision")
STREET = "110101001"


@pytest.fixture
def wall(tmp_path, stream_key, redis_server_url):
    from dashboard.settings import Settings
    settings = Settings(data_dir=tmp_path, redis_url=redis_server_url, stream=stream_key, tick_ms=500,
                        database_url=f"sqlite:///{tmp_path / 'wall.db'}", secret_key="wall13-secret")
    with Wall(settings) as running:
        running.seed()
        # Work for every department, so that the board has both groups and more rows than fit at 1080p.
        now = running.system.now()
        from datetime import timedelta
        from tests.helpers import loop_events
        codes = list(running.system.scenario.departments)
        publish(running.system.stream, [e for k, code in enumerate(codes) for e in loop_events(
            running.case(600 + k), now - timedelta(minutes=90 - k), department=code, stages=3 + k % 2,
            lon=running.places[k % len(running.places)][0], lat=running.places[k % len(running.places)][1])])
        # Case numbers the command service gives start above the seeded ones.
        running.system.stream.client.set(f"{running.system.stream.prefix}seq:{running.today}", 5000)
        running.wait_projected()
        engine, streets = running.system.engine, running.system.scenario.streets
        accounts.add_user(engine, "op", "operator", PASSWORD)
        accounts.add_user(engine, "east", "supervisor", PASSWORD, scope=STREET, streets=streets)
        yield running


def login(page, wall, name: str, then: str) -> None:
    page.goto(f"{wall.server.url}/login?next=/wall")
    page.fill("#login-name", name)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{wall.server.url}/wall*")
    page.goto(f"{wall.server.url}{then}")


def alarm(wall, category: str = "E0402", text: str = "自来水管爆裂，路面大量积水", place: int = 5) -> str:
    """An urgent report through the command service (as the intake page makes it); its case id."""
    lon, lat = wall.places[place]
    return commands(wall).report(SUPERVISION, category, lon, lat, text, "phone", "urgent").case_id


def commands(wall):
    return wall.flask.extensions["citygrid.services"].commands


def street_of_markers(page) -> set:
    return set(page.evaluate("Array.from(window.citygridWall.markers.values()).map(m => m[7])"))


def test_alarm_takes_over_until_acknowledged(wall, browser_page, artifacts):
    page = browser_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    login(page, wall, "op", "/wall?kiosk=1")
    wait_for_map(page)
    panel = page.locator("#wall-alarm-panel")
    assert panel.is_hidden()
    # An ordinary urgent case (not an alarm category) takes nothing over.
    lon, lat = wall.places[2]
    publish(wall.system.stream, [event(wall.case(8000), "reported", wall.system.now(), category="E0102", lon=lon,
                                       lat=lat, description="普通案件", source="phone", urgency="urgent")])
    wait_until(lambda: wall.case(8000) in ticker(page), timeout=30, message="the ordinary case in the ticker")
    assert panel.is_hidden()

    first = alarm(wall)
    panel.wait_for(state="visible", timeout=30_000)
    text = panel.inner_text()
    assert "突发警情" in text and "自来水管破裂" in text and first in text and "自来水管爆裂" in text
    assert page.locator(f'.wall-alarm-pin[data-case="{first}"]').count() == 1
    wait_until(lambda: page.evaluate("window.citygridWall.map.getZoom()") >= 15.9, timeout=20,
               message="the map flies to the alarm")
    second = alarm(wall, category="E0401", text="路面塌陷约两平方米", place=9)
    wait_until(lambda: "另有 1 起警情排队" in panel.inner_text(), timeout=30, message="the second alarm queued")
    # The elapsed time runs live.
    before = page.inner_text(".wall-alarm-elapsed")
    wait_until(lambda: page.inner_text(".wall-alarm-elapsed") != before, timeout=30, message="the alarm clock")
    page.screenshot(path=str(artifacts / "wall13-alarm-1920x1080.png"))

    page.click("#wall-alarm-ack")
    wait_until(lambda: first in page.inner_text("#wall-alarm-msg") and "已确认" in page.inner_text("#wall-alarm-msg"),
               timeout=20, message="the acknowledgement")
    wait_until(lambda: second in panel.inner_text(), timeout=30, message="the queued alarm comes up")
    assert page.locator(f'.wall-alarm-pin[data-case="{second}"]').count() == 1
    rows = audit.query(wall.system.engine, action="acknowledge")
    assert [(r["case_id"], r["user_name"], r["outcome"]) for r in rows] == [(first, "op", "ok")]
    # Dispatching the second ends its alarm too: the wall is the wall again.
    commands(wall).file(SUPERVISION, second)
    commands(wall).dispatch(Actor("op", "operator"), second, "roads")
    panel.wait_for(state="hidden", timeout=30_000)
    assert page.locator(".wall-alarm-pin").count() == 0
    assert_clean(page)


def test_a_wall_display_sees_the_alarm_without_the_button(wall, browser_page):
    page = browser_page
    page.goto(wall.url())
    wait_for_map(page)
    case = alarm(wall)
    page.locator("#wall-alarm-panel").wait_for(state="visible", timeout=30_000)
    assert case in page.inner_text("#wall-alarm-panel")
    assert page.locator("#wall-alarm-ack").is_hidden()   # a display acknowledges nothing


def test_playlist_rotates_views_with_their_durations(wall, browser_page):
    page = browser_page
    page.add_init_script(VIEW_LOG)
    page.goto(wall.url(f"&playlist=district:10,street-{STREET}:10,departments:10"))
    wait_for_map(page)
    street_name = wall.system.scenario.streets[STREET]
    street_index = list(wall.system.scenario.streets).index(STREET)
    # district → the street → the departments → district → the street again, 10 s each
    shown = wait_for_views(page, ["全区", street_name, "部门绩效", "全区", street_name])
    for before, after in zip(shown, shown[1:]):
        assert after["at"] - before["at"] >= 8_000, (before, after)           # each view stood (about) its 10 s
    assert len(shown[1]["streets"]) > 1                 # the district view had the whole district's markers
    # the street view's data were the street's only (the stream was reopened with its scope)
    assert set(shown[2]["streets"]) <= {street_index}
    assert shown[2]["departments"]                      # the departments view drew the board layout
    assert len(shown[4]["streets"]) > 1                 # and the district's again, back in the district view
    assert "view-departments" not in page.get_attribute("#wall-root", "class")
    # An alarm holds the rotation while it stands.
    alarm(wall)
    page.locator("#wall-alarm-panel").wait_for(state="visible", timeout=30_000)
    held, count = page.inner_text("#wall-view"), len(views(page))
    # past the held view's end (the wall's own clock) by more than a rotation check: it must not move
    page.wait_for_function("() => Date.now() > window.citygridWall.viewUntil + 2500", timeout=30_000)
    assert page.inner_text("#wall-view") == held and len(views(page)) == count
    assert_clean(page)


def serve_on(app, port: int) -> LiveServer:
    """``app`` served by waitress on ``port`` (the port a wall had)."""
    import threading

    from waitress.server import create_server
    server = LiveServer.__new__(LiveServer)
    server.port, server.url = port, f"http://127.0.0.1:{port}"
    server.server = create_server(app, host="127.0.0.1", port=port, threads=16, ident="citygrid-test")
    server.thread = threading.Thread(target=server.server.run, name=f"waitress-{port}", daemon=True)
    return server.__enter__()


def test_wall_reconnects_after_the_server_restarts(wall, browser_page):
    from dashboard.web.factory import create_app, start
    page = browser_page
    page.goto(wall.url())
    wait_for_map(page)
    wait_until(lambda: page.inner_text("#wall-fresh").startswith("数据更新于"), message="fresh data")
    connects = page.evaluate("window.citygridWall.connects")
    # The web server process goes away: its streams end, its sockets close, nothing listens.
    wall.flask.extensions["citygrid.wall_hub"].stop()
    socket_map = dict(wall.server.server._map)
    wall.server.__exit__(None, None, None)
    for channel in socket_map.values():
        channel.close()
    page.locator("#wall-banner").wait_for(state="visible", timeout=30_000)
    assert "连接中断" in page.inner_text("#wall-banner")
    case = wall.case(8301)                                   # events keep coming meanwhile
    lon, lat = wall.places[4]
    publish(wall.system.stream, [event(case, "reported", wall.system.now(), category="E0102", lon=lon, lat=lat,
                                       description="重启期间上报", source="inspector")])
    # A new server process (a new app: new versions) on the same port; same secret, same session.
    wall.flask = start(create_app(wall.system.settings, wall.system)).server
    wall.server = serve_on(wall.flask, wall.server.port)
    wait_until(lambda: case in ticker(page), timeout=40, message="the event sent during the restart")
    page.locator("#wall-banner").wait_for(state="hidden", timeout=30_000)
    assert page.evaluate("window.citygridWall.connects") > connects
    assert page.evaluate(f"window.citygridWall.markers.has('{case}')")


def test_street_wall_shows_only_its_street(wall, browser_page, artifacts):
    page = browser_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    login(page, wall, "east", "/wall?kiosk=1")
    wait_for_map(page)
    scenario = wall.system.scenario
    street_index = list(scenario.streets).index(STREET)
    assert scenario.streets[STREET] in page.inner_text(".wall-title")
    assert street_of_markers(page) == {street_index}
    # Events elsewhere never reach this wall; one in the street does.
    elsewhere, here = wall.case(8401), wall.case(8402)
    inside = [p for p in wall.places if wall.system.locator.locate(*p)[2] == STREET]
    outside = [p for p in wall.places if wall.system.locator.locate(*p)[2] != STREET]
    assert inside and outside
    publish(wall.system.stream, [
        event(elsewhere, "reported", wall.system.now(), category="E0102", lon=outside[0][0], lat=outside[0][1],
              description="别处", source="inspector"),
        event(here, "reported", wall.system.now(), category="E0102", lon=inside[0][0], lat=inside[0][1],
              description="本街道", source="inspector")])
    wait_until(lambda: here in ticker(page), timeout=30, message="the street's case")
    assert elsewhere not in ticker(page)
    assert page.evaluate(f"window.citygridWall.markers.has('{elsewhere}')") is False
    assert street_of_markers(page) == {street_index}
    page.screenshot(path=str(artifacts / "wall13-street-1920x1080.png"))
    assert_clean(page)


def label_under_cluster(page) -> int:
    return page.evaluate("""() => { const rs = s => Array.from(document.querySelectorAll(s)).map(e => e.getBoundingClientRect());
        const cl = rs('.wall .wall-cluster'), lb = Array.from(document.querySelectorAll('.wall .wall-street-label span'))
            .filter(e => getComputedStyle(e).visibility !== 'hidden').map(e => e.getBoundingClientRect());
        return lb.filter(a => cl.some(b => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom)).length; }""")


def board_cut(page) -> list:
    """Department names the board shows cut (ellipsis): none may be."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('#wall-board .dept'))
        .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)""")


def test_readable_at_1080p_and_more_at_4k(wall, browser_page, artifacts):
    page = browser_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(wall.url())
    wait_for_map(page)
    wait_until(lambda: page.locator("#wall-board .wall-board-row").count() > 0, message="the board")
    cards = page.locator(".wall-stage-name").all_inner_texts()
    assert cards == ["待立案", "待派遣", "处置中", "待核查", "待结案", "今日结案"]
    sizes = page.evaluate("""() => Array.from(document.querySelectorAll('#wall-board .wall-board-row span, .wall-board-group'))
        .map(e => parseFloat(getComputedStyle(e).fontSize))""")
    assert sizes and min(sizes) >= 24
    assert board_cut(page) == []
    wait_until(lambda: page.evaluate("document.querySelectorAll('.wall .wall-street-label span').length") > 10,
               message="street labels")
    page.evaluate("window.citygridWall.live.declutter()")
    assert label_under_cluster(page) == 0
    rows_1080 = page.locator("#wall-board a.wall-board-row").count()
    assert page.locator(".wall-streets-panel").is_hidden()
    assert no_scrollbars(page)
    page.screenshot(path=str(artifacts / "wall13-1920x1080.png"))

    page.set_viewport_size({"width": 3840, "height": 2160})
    wait_for_map(page)
    publish(wall.system.stream, [event(wall.case(2), "dispatched", wall.system.now(), department="sanitation")])
    wait_until(lambda: page.locator("#wall-board a.wall-board-row").count() > rows_1080, timeout=30,
               message="more board rows at 4K")
    assert page.locator(".wall-streets-panel").is_visible()
    wait_until(lambda: page.locator(".wall-street-row").count() == 17, timeout=30, message="the street breakdown")
    page.evaluate("window.citygridWall.live.declutter()")
    page.screenshot(path=str(artifacts / "wall13-3840x2160.png"))
    assert label_under_cluster(page) == 0 and board_cut(page) == []
    assert no_scrollbars(page)
    assert_clean(page)
