"""A minimal city scenario folder for the importer's tests: the bundled scenario's
configuration (categories, departments, routing, time limits, calendar with another time
zone) over a square grid covering a bounding box.  ``citygrid city init`` (issue 14 part 3)
makes real ones; this keeps the tests independent of it."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from dashboard.domain.scenario import DEFAULT_SCENARIO

STREET, COMMUNITY = "999001001", "999001001001"


def make_city(root: Path, bbox: tuple[float, float, float, float], timezone: str, cells: int = 6) -> Path:
    """A scenario folder at ``root`` whose ``cells`` × ``cells`` unit grids cover ``bbox``
    (west, south, east, north, GCJ-02) in one street and one community."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("categories.json", "departments.json", "routing.json", "time_limits.json"):
        shutil.copy(DEFAULT_SCENARIO / name, root / name)
    calendar = json.loads((DEFAULT_SCENARIO / "calendar.json").read_text(encoding="utf-8"))
    calendar["timezone"] = timezone
    (root / "calendar.json").write_text(json.dumps(calendar), encoding="utf-8")
    (root / "inspectors.json").write_text("[]", encoding="utf-8")
    (root / "streets.json").write_text(json.dumps([{"code": STREET, "name": "Test street"}]), encoding="utf-8")
    west, south, east, north = bbox
    box = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    (root / "communities.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": COMMUNITY, "street_code": STREET, "name": "Test community",
                                           "area_m2": 1}, "geometry": {"type": "Polygon", "coordinates": [box]}}]}))
    source = root / "source"   # the map layers the web app draws: the box as district and street
    source.mkdir(exist_ok=True)
    for name, props in (("district", {}), ("streets", {"code": STREET, "name": "Test street"})):
        (source / f"{name}.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [box]}}]}))
    for name in ("roads", "green_spaces"):
        (source / f"{name}.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    dx, dy = (east - west) / cells, (north - south) / cells
    features = []
    for row in range(cells):
        for col in range(cells):
            x, y = west + col * dx, north - (row + 1) * dy
            ring = [[x, y], [x + dx, y], [x + dx, y + dy], [x, y + dy], [x, y]]
            features.append({"type": "Feature", "properties": {
                "code": f"{COMMUNITY}{row * cells + col + 1:03d}", "street_code": STREET,
                "community_code": COMMUNITY, "area_m2": 1}, "geometry": {"type": "Polygon", "coordinates": [ring]}})
    (root / "grids.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return root
