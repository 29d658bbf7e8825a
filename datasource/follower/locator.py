"""Which unit grid a position lies in: an STR-tree over the scenario's grid polygons.

Bulk look-ups are vectorised (shapely 2), so locating a batch of 5,000 reported cases
costs one call, not 5,000.
"""
from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import shape

from dashboard.domain.scenario import Scenario


class GridLocator:
    def __init__(self, scenario: Scenario):
        features = scenario.grids_geojson["features"]
        self.codes = [f["properties"]["code"] for f in features]
        self.communities = [f["properties"]["community_code"] for f in features]
        self.streets = [f["properties"]["street_code"] for f in features]
        self.polygons = np.array([shape(f["geometry"]) for f in features], dtype=object)
        self.tree = shapely.STRtree(self.polygons)
        self.bbox = tuple(float(v) for v in shapely.total_bounds(self.polygons))  # west, south, east, north

    def locate_many(self, points: list[tuple[float, float]]) -> list[tuple[str, str, str] | None]:
        """(grid, community, street) for each (lon, lat), or None outside every grid."""
        if not points:
            return []
        geoms = shapely.points(np.asarray(points, dtype=float))
        point_idx, grid_idx = self.tree.query(geoms, predicate="intersects")
        found: list = [None] * len(points)
        for p, g in zip(point_idx.tolist(), grid_idx.tolist()):
            if found[p] is None or self.codes[g] < found[p][0]:  # on a shared edge: lowest code wins
                found[p] = (self.codes[g], self.communities[g], self.streets[g])
        return found

    def locate(self, lon: float, lat: float) -> tuple[str, str, str] | None:
        return self.locate_many([(lon, lat)])[0]
