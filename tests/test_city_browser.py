"""A generated city in headless Chromium: ``citygrid city init`` over the San Francisco sample,
the real app (waitress, Redis, SQLite, the worker) on that folder with three simulated days,
and an administrator's walk through the wall, dispatch, departments, regions, people and the
briefing — each map drawn over San Francisco (not left on empty background), the titles with
the city's name and the pages' dates in its own zone, in Chinese and English.
Screenshots go to test-artifacts/city-*.png."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datasource.simulation.backfill import append_history, generate_history
from tests.browser import map_settled, wait_until
from tests.browser_util import start_live_app, tabs  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser
SAMPLE = Path(__file__).parent / "fixtures" / "sf311-sample.csv"
SF = (-122.52, 37.70, -122.35, 37.84)   # west, south, east, north around the city


@pytest.fixture
def city_dir(tmp_path) -> Path:
    from click.testing import CliRunner

    from dashboard.cli.commands import cli
    out = tmp_path / "sf"
    result = CliRunner().invoke(cli, ["city", "init", str(out), "--from", str(SAMPLE), "--timezone",
                                      "America/Los_Angeles", "--country", "US", "--subdivision", "CA",
                                      "--name", "San Francisco", "--name-zh", "旧金山"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def live_app(tmp_path, stream_key, redis_server_url, city_dir):
    """The live app (as tests/browser_util.py's) on the generated city, with three days of cases."""
    from dashboard.settings import Settings
    from datasource.system import System
    from tests.helpers import FixedClock
    settings = Settings(data_dir=tmp_path, redis_url=redis_server_url, database_url=f"sqlite:///{tmp_path / 'b.db'}",
                        stream=stream_key, secret_key="browser-test-secret", scenario_dir=city_dir)
    system = System(settings, clock=FixedClock()).start()
    live = start_live_app(system)
    generated = generate_history(system.scenario, system.locator, 3, seed=5, now=system.now(),
                                 per_day=150)
    append_history(system.stream, generated, seed=5)
    wait_until(lambda: _projected(live) >= generated.cases, timeout=180, message="every case projected")
    yield live
    live.close()
    system.close()


def _projected(live) -> int:
    from sqlalchemy import func, select

    from datasource.store import schema
    with live.system.engine.connect() as c:
        return c.execute(select(func.count()).select_from(schema.cases)).scalar()


def drawn_share(page, selector: str) -> float:
    """Share of the map's pixels that are not its background colour, once it has stopped moving.

    There are no tiles (no internet): a map opened over the wrong place (Beijing's centre, say)
    shows nothing but background, whether Leaflet draws in SVG or on a canvas."""
    map_settled(page, selector)
    # only the map's own panes count: controls and legends drawn over it are hidden meanwhile
    hide = """(sel, hidden) => { for (const child of document.querySelector(sel).children)
        if (!child.classList.contains('leaflet-map-pane')) child.style.visibility = hidden ? 'hidden' : ''; }"""
    page.evaluate(hide, [selector, True])
    image = Image.open(io.BytesIO(page.locator(selector).first.screenshot())).convert("RGB")
    page.evaluate(hide, [selector, False])
    pixels = np.asarray(image, dtype=int).reshape(-1, 3)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    background = colours[counts.argmax()]
    return float((np.abs(pixels - background).sum(axis=1) > 40).mean())


def import_one_lamp(system, path: Path) -> str:
    """One street lamp at the middle of the city's first grid, through the census import."""
    from shapely.geometry import shape

    from datasource.services.components_import import CensusImport
    first = system.scenario.grids_geojson["features"][0]
    point = shape(first["geometry"]).representative_point()
    code = first["properties"]["code"][:6] + "0118000001"
    path.write_text(f"code,name,lon,lat,maintainer_department\n{code},Lamp,{point.x:.6f},{point.y:.6f},power\n",
                    encoding="utf-8")
    summary = CensusImport(system).run(path, {}, path.with_suffix(".skipped.csv")).as_dict()
    assert summary["imported"] == 1, summary
    return code


def test_a_generated_city_runs_every_page_over_its_own_map(live_app, tabs, artifacts):
    west, south, east, north = live_app.system.locator.bbox
    assert SF[0] < west < east < SF[2] and SF[1] < south < north < SF[3]
    tab = tabs(width=1600, height=1000).login("adm", "/wall")
    page = tab.page
    page.wait_for_selector("#wall-map .wall-street-label")
    assert page.inner_text(".wall-title h1") == "旧金山城市网格化管理指挥中心"
    share = drawn_share(page, "#wall-map")
    page.screenshot(path=str(artifacts / "city-wall.png"))
    assert share > 0.02, f"the wall map shows almost nothing ({share:.1%} drawn)"

    pages = (("/dispatch", ".leaflet-container", "#dispatch-map"),
             ("/departments", "#departments-professional .ag-row", None),
             ("/regions", "#regions-table .ag-row", "#regions-map"),
             ("/inspectors", "#people-inspectors .ag-row", "#people-map"),
             ("/briefing", "#briefing-cards .briefing-card >> nth=7", None))
    for path, ready, map_selector in pages:
        tab.open(path)
        page.wait_for_selector(ready, state="attached")
        share = drawn_share(page, map_selector) if map_selector else None
        page.screenshot(path=str(artifacts / f"city{path.replace('/', '-')}.png"), full_page=True)
        assert share is None or share > 0.02, f"{path}: the map shows almost nothing ({share:.1%} drawn)"
    assert "当地时间（America/Los_Angeles）" in page.inner_text("body")
    # A component imported into the city (it has no inventory of its own) gets its page.
    code = import_one_lamp(live_app.system, artifacts / "city-lamp.csv")
    tab.open(f"/components/{code}")
    page.wait_for_selector("#component-code-text")
    assert page.inner_text("#component-code-text") == code and "电力与路灯部门" in page.inner_text("body")
    page.screenshot(path=str(artifacts / "city-component.png"), full_page=True)
    tab.open("/regions?lang=en")                 # English: the city's English name, its zone
    page.wait_for_selector("#regions-table .ag-row", state="attached")
    assert page.locator(".crumb").first.inner_text() == "San Francisco"
    assert "dates in local time (America/Los_Angeles)" in page.inner_text("body")
    assert tab.problems() == []
