"""Map geometry for the work pages: the simplified district and street outlines, the map's
centre and bounds, and which cases lie inside a drawn selection (shapely)."""
from __future__ import annotations

from functools import cached_property

import shapely
from shapely.geometry import Point, shape


class MapGeometry:
    """Geometry of one scenario, computed once per process."""

    def __init__(self, system):
        self.system = system
        self.scenario = system.scenario

    @staticmethod
    def select_inside(features: list[dict], rows: list[dict]) -> list[str]:
        """Case ids of ``rows`` whose position lies inside any drawn polygon/rectangle."""
        shapes = []
        for feature in features or []:
            geometry = (feature or {}).get("geometry") or {}
            if geometry.get("type") in ("Polygon", "MultiPolygon"):
                try:
                    shapes.append(shape(geometry))
                except (ValueError, TypeError, KeyError):
                    continue
        if not shapes:
            return []
        area = shapely.union_all(shapes)
        return [r["case_id"] for r in rows if area.covers(Point(r["lon"], r["lat"]))]

    @cached_property
    def base_layers(self) -> dict:
        """District outline and street polygons, simplified for the browser (GCJ-02)."""
        def light(collection, tolerance=0.00004):
            features = []
            for f in collection["features"]:
                geom = shapely.set_precision(shape(f["geometry"]).simplify(tolerance), 0.00001)
                props = {k: v for k, v in f["properties"].items() if k in ("code", "name")}
                features.append({"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)})
            return {"type": "FeatureCollection", "features": features}
        return {"district": light(self.scenario.source_geojson("district")),
                "streets": light(self.scenario.source_geojson("streets"))}

    @property
    def center(self) -> tuple[float, float]:
        west, south, east, north = self.system.locator.bbox
        return (south + north) / 2, (west + east) / 2

    @property
    def bounds(self) -> list[list[float]]:
        west, south, east, north = self.system.locator.bbox
        return [[south, west], [north, east]]
