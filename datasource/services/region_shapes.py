"""Polygons of the drill-down map: the streets of the district, the communities of one
street, the unit grids of one community — simplified, rounded to ~1 m, in the display
CRS (converted like the wall's layers when WGS-84 tiles are configured) — and the boxes
a map zooms to.  Built from the scenario files once per process and level."""
from __future__ import annotations

import threading
from functools import cached_property

import numpy as np
import shapely
from shapely.geometry import mapping, shape

from dashboard.domain.crs import converter
from datasource.tools.geometry import to_lonlat, to_metric
from datasource.tools.map_layers import DATA_CRS

DECIMALS = 5
SIMPLIFY_M = {"street": 3.0, "community": 1.5, "grid": 0.0}


class RegionShapes:
    def __init__(self, system):
        self.scenario = system.scenario
        settings = system.settings
        self.crs = settings.tile_crs if settings.tile_url else DATA_CRS
        self._convert = converter(DATA_CRS, self.crs)
        self._cache: dict[tuple, dict] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ source geometry
    @cached_property
    def _geometry(self) -> dict[str, dict[str, tuple[dict, object]]]:
        """level → code → (properties, shapely geometry in GCJ-02)."""
        streets = {f["properties"]["code"]: ({"code": f["properties"]["code"], "name": f["properties"]["name"],
                                              "parent": None}, shape(f["geometry"]))
                   for f in self.scenario.source_geojson("streets")["features"]}
        communities = {f["properties"]["code"]: ({"code": f["properties"]["code"], "name": f["properties"]["name"],
                                                  "parent": f["properties"]["street_code"]}, shape(f["geometry"]))
                       for f in self.scenario.communities_geojson["features"]}
        grids = {f["properties"]["code"]: ({"code": f["properties"]["code"], "name": f["properties"]["code"],
                                            "parent": f["properties"]["community_code"]}, shape(f["geometry"]))
                 for f in self.scenario.grids_geojson["features"]}
        return {"street": streets, "community": communities, "grid": grids}

    def _display(self, geom, level: str):
        metres = SIMPLIFY_M[level]
        if metres:
            geom = to_lonlat(shapely.simplify(to_metric(geom), metres, preserve_topology=True))
        if self._convert is not None:
            convert = self._convert
            geom = shapely.transform(geom, lambda c: np.array([convert(x, y) for x, y in c.tolist()]).reshape(-1, 2))
        return shapely.transform(geom, lambda c: np.round(c, DECIMALS))

    # ------------------------------------------------------------------ answers
    def features(self, level: str, parent: str | None = None) -> dict:
        """GeoJSON FeatureCollection of the regions of ``level`` (inside ``parent``);
        properties ``code`` and ``name``."""
        key = (level, parent)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        out = []
        for code, (props, geom) in self._geometry[level].items():
            if parent and props["parent"] != parent:
                continue
            out.append({"type": "Feature", "properties": {"code": code, "name": props["name"]},
                        "geometry": mapping(self._display(geom, level))})
        collection = {"type": "FeatureCollection", "features": out}
        with self._lock:
            if len(self._cache) > 512:
                self._cache.clear()
            self._cache[key] = collection
        return collection

    def bounds(self, level: str | None = None, codes=()) -> list[list[float]]:
        """[[south, west], [north, east]] around the regions ``codes`` of ``level`` (the whole
        district when none are given), in the display CRS."""
        if level is None or not codes:
            geoms = [g for _, g in self._geometry["street"].values()]
        else:
            geoms = [self._geometry[level][c][1] for c in codes if c in self._geometry[level]]
        if not geoms:
            return self.bounds()
        west, south, east, north = shapely.total_bounds(np.array(geoms, dtype=object)).tolist()
        if self._convert is not None:
            west, south = self._convert(west, south)
            east, north = self._convert(east, north)
        return [[round(south, DECIMALS), round(west, DECIMALS)], [round(north, DECIMALS), round(east, DECIMALS)]]
