"""The generated city (bench/citygen.py, issue 15): 16 districts, ~59,000 grids, codes unique
and consistent, the districts side by side without overlap, and the folder loads as a Scenario."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from shapely.geometry import shape

from bench import citygen
from dashboard.domain import codes
from dashboard.domain.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("city") / "beijing"
    return out, citygen.generate(out)


def _load(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_sixteen_districts_and_about_fifty_thousand_grids(city):
    out, summary = city
    assert summary["districts"] == 16
    assert summary["streets"] == 16 * 17
    assert 50_000 <= summary["grids"] <= 60_000
    districts = _load(out / "source" / "district.geojson")["features"]
    assert sorted(f["properties"]["code"] for f in districts) == sorted(c for c, _, _ in citygen.DISTRICTS)
    assert len({f["properties"]["name"] for f in districts}) == 16


def test_codes_unique_and_each_starts_with_its_parent(city):
    out, summary = city
    grids = [f["properties"] for f in _load(out / "grids.geojson")["features"]]
    assert len(grids) == summary["grids"]
    assert len({g["code"] for g in grids}) == len(grids)
    districts = {c for c, _, _ in citygen.DISTRICTS}
    streets = {s["code"] for s in _load(out / "streets.json")}
    communities = {f["properties"]["code"] for f in _load(out / "communities.geojson")["features"]}
    assert len(communities) == summary["communities"]
    for g in grids:
        assert codes.is_grid_code(g["code"]) and g["code"][:6] in districts
        assert codes.street_of(g["code"]) == g["street_code"] and g["street_code"] in streets
        assert codes.community_of(g["code"]) == g["community_code"] and g["community_code"] in communities
    per_district = {d: sum(g["code"].startswith(d) for g in grids) for d in districts}
    assert len(set(per_district.values())) == 1      # every district a full copy
    inspectors = _load(out / "inspectors.json")
    assert len({i["id"] for i in inspectors}) == len(inspectors) == summary["inspectors"]
    grid_codes = {g["code"] for g in grids}
    for inspector in inspectors:
        assert inspector["street_code"][:6] == inspector["id"][4:10]
        assert all(g in grid_codes and codes.community_of(g) == inspector["community_code"] for g in inspector["grids"])


def test_districts_lie_side_by_side_without_overlap(city):
    out, _ = city
    districts = [shape(f["geometry"]) for f in _load(out / "source" / "district.geojson")["features"]]
    for i, a in enumerate(districts):
        for b in districts[i + 1:]:
            assert not a.intersects(b)
    # each district's grids lie inside its own outline (shifted with it)
    grids = _load(out / "grids.geojson")["features"]
    outline = {f["properties"]["code"]: shape(f["geometry"]).buffer(1e-4)
               for f in _load(out / "source" / "district.geojson")["features"]}
    for feature in grids[::997]:
        assert outline[feature["properties"]["code"][:6]].contains(shape(feature["geometry"]).representative_point())


def test_the_folder_loads_as_a_scenario(city):
    out, summary = city
    scenario = Scenario(out)
    assert len(scenario.streets) == summary["streets"]
    assert len(scenario.grids_geojson["features"]) == summary["grids"]
    street = next(code for code in scenario.streets if code.startswith("110119"))
    assert scenario.department_for("E0201", street) == f"street-{street}"      # a street office per district
    assert scenario.department_for("E0102", street) == "sanitation"            # city-wide professional department
    assert set(scenario.routing.values()) - {"street"} <= set(scenario.departments)
    assert scenario.departments["sanitation"].name_zh.startswith("市")
    assert "延庆" in scenario.departments[f"street-{street}"].name_zh


def test_the_command_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "something").write_text("x")
    result = subprocess.run([sys.executable, "-m", "bench.citygen", str(tmp_path)], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "not empty" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["something"]
