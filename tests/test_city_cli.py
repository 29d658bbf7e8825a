"""``citygrid city init`` over the command line: the San Francisco sample's extent becomes a
scenario folder that loads as the system loads it (US holidays, Pacific time, grids that hold
the sample's points, the district's own name), the product starts and runs on it (backfill,
worker, the API over HTTP), and every mistake is one line and writes nothing."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from dashboard.cli.commands import cli
from dashboard.domain.codes import is_grid_code
from datasource.store.holiday_source import load_scenario

SAMPLE = Path(__file__).parent / "fixtures" / "sf311-sample.csv"
SF_ARGS = ("--timezone", "America/Los_Angeles", "--country", "US", "--subdivision", "CA", "--name", "San Francisco",
           "--name-zh", "旧金山")


def city(*args: str):
    return CliRunner().invoke(cli, ["city", "init", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def sf(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("city") / "sf"
    result = city(str(out), "--from", str(SAMPLE), *SF_ARGS)
    assert result.exit_code == 0, result.output
    assert "10000" in result.output and str(out) in result.output
    return out


def test_the_sample_becomes_a_scenario_that_loads(sf):
    scenario = load_scenario(sf)
    assert scenario.calendar.timezone == "America/Los_Angeles"
    assert scenario.calendar.periods[0][0].isoformat() == "09:00:00"
    assert not scenario.calendar.is_working_day(date(2026, 7, 3))      # Independence Day, observed on the Friday
    assert not scenario.calendar.is_working_day(date(2026, 11, 26))    # Thanksgiving
    assert scenario.calendar.is_working_day(date(2026, 10, 1))         # China's National Day is a working day here
    assert scenario.district_name("en") == "San Francisco" and scenario.district_name("zh") == "旧金山"
    assert set(scenario.streets) == {f["properties"]["code"] for f in scenario.source_geojson("streets")["features"]}
    assert scenario.source_geojson("roads")["features"] == []
    assert all(f"street-{code}" in scenario.departments for code in scenario.streets)
    grids = scenario.grids_geojson["features"]
    assert grids and all(is_grid_code(f["properties"]["code"]) for f in grids)
    assert len(scenario.inspectors) >= 2 * len(scenario.communities)
    meta = json.loads((sf / "city.json").read_text())
    assert meta["points_read"] == 10_000 and meta["points_used"] + meta["garbage"] + meta["outliers"] == 10_000


def test_every_usable_point_of_the_sample_is_in_a_grid_and_the_map_is_san_francisco(sf):
    from datasource.follower.locator import GridLocator
    frame = pd.read_csv(SAMPLE, usecols=["latitude", "longitude"]).dropna()
    locator = GridLocator(load_scenario(sf))
    found = locator.locate_many(list(zip(frame.longitude, frame.latitude)))
    meta = json.loads((sf / "city.json").read_text())
    assert sum(f is not None for f in found) == meta["points_used"]
    west, south, east, north = locator.bbox
    assert -122.52 < west < east < -122.35 and 37.70 < south < north < 37.84   # SF, not the ocean or Beijing
    assert east - west > 0.1 and north - south > 0.08                          # the city, not a corner of it
    sizes = sum(p.stat().st_size for p in sf.rglob("*") if p.is_file())
    assert sizes < 5_000_000


def test_the_product_runs_on_the_generated_city(sf, tmp_path, redis_server_url, stream_key):
    """Backfill through the stream, the worker, then the app's own API answers from it."""
    from dashboard.settings import Settings
    from dashboard.web.factory import create_app, start
    from datasource.simulation.backfill import backfill
    from datasource.system import System
    settings = Settings(data_dir=tmp_path, redis_url=redis_server_url, database_url=f"sqlite:///{tmp_path / 'c.db'}",
                        stream=stream_key, scenario_dir=sf, secret_key="city-test")
    system = System(settings).start()
    try:
        figures = backfill(system, 1, seed=3)
        assert figures["cases"] > 100 and figures["dead_letters"] == 0
        app = start(create_app(settings, system))
        from datasource.services import accounts
        accounts.add_user(system.engine, "boss", "leader", "correct-horse-9", None)
        token = accounts.create_token(system.engine, "boss")   # an API token (citygrid tokens create)
        client = app.server.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        departments = client.get("/api/v1/departments?lang=en", headers=headers)
        assert departments.status_code == 200, departments.get_data(as_text=True)[:300]
        body = departments.get_data(as_text=True)
        assert "Sanitation" in body and "area office" in body and "Dongcheng" not in body
        grids = {f["properties"]["code"] for f in system.scenario.grids_geojson["features"]}
        with system.engine.connect() as c:
            located = {row[0] for row in c.exec_driver_sql("SELECT DISTINCT grid_code FROM cases")}
        assert located and located <= grids
        assert client.get("/geo/roads.geojson").json["features"] == []
        assert len(client.get("/geo/grids.geojson").json["features"]) == len(grids)
    finally:
        system.close()


@pytest.mark.parametrize("args, message", [
    ((), "exactly one extent"),
    (("--bbox", "1,2,3"), "MINLON,MINLAT,MAXLON,MAXLAT"),
    (("--bbox", "-122.3,37.7,-122.5,37.8"), "MINLON,MINLAT,MAXLON,MAXLAT"),
    (("--bbox", "-122.5,37.7,-122.4,37.8", "--timezone", "Mars/Olympus"), "IANA time zone"),
    (("--bbox", "-122.5,37.7,-122.4,37.8", "--country", "XX"), "knows no country"),
    (("--bbox", "-122.5,37.7,-122.4,37.8", "--work-hours", "17:00-09:00"), "HH:MM-HH:MM"),
    (("--bbox", "-122.5,37.7,-122.4,37.8", "--district-code", "12"), "6 digits"),
    (("--from", str(SAMPLE), "--lat", "lat"), "--lat and --lon"),
])
def test_a_mistake_is_one_line_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "city"
    base = {"--timezone": "America/Los_Angeles", "--country": "US"}
    given = list(args)
    for option, value in base.items():
        if option not in given:
            given += [option, value]
    result = city(str(out), *given)
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


def test_an_existing_folder_is_not_overwritten_without_force(tmp_path):
    out = tmp_path / "city"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    args = ("--bbox", "-122.45,37.76,-122.43,37.78", "--timezone", "UTC", "--country", "GB")
    result = city(str(out), *args)
    assert result.exit_code == 1 and "--force" in result.output
    assert city(str(out), *args, "--force").exit_code == 0
    assert (out / "keep.txt").read_text() == "mine" and load_scenario(out).streets


def test_a_box_in_china_in_wgs84_is_stored_in_gcj02(tmp_path):
    """The stored datum is GCJ-02: a WGS-84 box in Beijing moves by the published shift
    (several hundred metres), a GCJ-02 box does not."""
    box = "116.38,39.90,116.40,39.92"
    common = ("--bbox", box, "--timezone", "Asia/Shanghai", "--country", "CN", "--no-inspectors")
    assert city(str(tmp_path / "w"), *common, "--crs", "WGS84").exit_code == 0
    assert city(str(tmp_path / "g"), *common, "--crs", "GCJ02").exit_code == 0
    w = json.loads((tmp_path / "w" / "city.json").read_text())["extent"]
    g = json.loads((tmp_path / "g" / "city.json").read_text())["extent"]
    assert g == [116.38, 39.9, 116.4, 39.92]
    shift = np.subtract(w, g)
    assert 0.004 < shift[0] < 0.008 and 0.0005 < shift[1] < 0.003      # ≈ +570 m east, +130 m north
    assert load_scenario(tmp_path / "w").inspectors == []


def test_supplied_polygons_become_the_streets(tmp_path):
    """Two neighbourhoods as GeoJSON (WGS-84, a name property): each is a street with its name,
    its grids clipped to it, and its own office among the departments."""
    def feature(name, ring):
        return {"type": "Feature", "properties": {"nhood": name}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
    west = [[-122.45, 37.75], [-122.43, 37.75], [-122.43, 37.765], [-122.45, 37.765], [-122.45, 37.75]]
    east = [[-122.43, 37.75], [-122.415, 37.752], [-122.418, 37.765], [-122.43, 37.765], [-122.43, 37.75]]
    path = tmp_path / "hoods.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        feature("Noe Valley", west), feature("Mission", east), {"type": "Feature", "properties": {}, "geometry": None}]}))
    out = tmp_path / "city"
    result = city(str(out), "--polygons", str(path), "--name-property", "nhood", "--timezone", "America/Los_Angeles",
                  "--country", "US")
    assert result.exit_code == 0, result.output
    scenario = load_scenario(out)
    assert sorted(scenario.streets.values()) == ["Mission", "Noe Valley"]
    assert {d.name_en for d in scenario.departments.values() if d.kind == "street"} == {"Mission area office",
                                                                                       "Noe Valley area office"}
    from shapely.geometry import shape
    from shapely.ops import unary_union
    grids = unary_union([shape(f["geometry"]) for f in scenario.grids_geojson["features"]])
    hoods = unary_union([shape({"type": "Polygon", "coordinates": [r]}) for r in (west, east)])
    assert grids.symmetric_difference(hoods).area < 1e-6 * hoods.area     # the polygons, tiled
