"""The wall's static map layers, built once per process from the scenario files.

Every layer the wall draws that does not change while it runs (district outline, the 17
streets and their labels, main roads, green spaces and the ~3,000 unit grids) is prepared
here as compact GeoJSON: coordinates rounded to 5 decimals (about 1 m, finer than a pixel
at any wall zoom), lines and outlines simplified, properties cut to what the wall reads.
:mod:`dashboard.web.geo` serves the bytes with ETag and long caching, so a wall fetches
the geometry once; each tick then sends only per-grid numbers keyed by the grid's *index*
in :func:`grid_codes`, which both sides derive from the same scenario file.

When tiles in WGS-84 are configured, every coordinate is converted here for display
(the data stays GCJ-02 everywhere else); see :mod:`dashboard.domain.crs`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from shapely.geometry import mapping, shape

from dashboard.domain.crs import converter
from dashboard.domain.scenario import Scenario
from datasource.tools.geometry import to_lonlat, to_metric

DATA_CRS = "GCJ-02"
DECIMALS = 5
#: Names of roads drawn as "main roads": ring roads, avenues (大街) and roads (路).
MAIN_ROAD_SUFFIXES = ("环路", "大街", "路", "长安街")
LAYERS = ("district", "streets", "labels", "roads", "green", "grids")


def grid_codes(scenario: Scenario) -> list[str]:
    """Unit grid codes in the order of the scenario file: index i ↔ feature i of grids.geojson."""
    return [f["properties"]["code"] for f in scenario.grids_geojson["features"]]


def _simplify(geom, metres: float):
    """Simplify in the local metric plane (tolerance in metres), back to lon/lat."""
    if metres <= 0:
        return geom
    return to_lonlat(shapely.simplify(to_metric(geom), metres, preserve_topology=True))


def _display(geom, convert):
    """Convert to the display CRS (if needed) and round to ``DECIMALS``."""
    if convert is not None:
        geom = shapely.transform(geom, lambda c: _convert_array(c, convert))
    geom = shapely.transform(geom, lambda c: np.round(c, DECIMALS))
    return shapely.remove_repeated_points(geom)


def _convert_array(coords: np.ndarray, convert) -> np.ndarray:
    """Apply a per-point converter to an (n, 2) array, once per distinct vertex
    (neighbouring grids share most of their vertices)."""
    unique, inverse = np.unique(coords, axis=0, return_inverse=True)
    converted = np.array([convert(x, y) for x, y in unique.tolist()]).reshape(-1, 2)
    return converted[inverse.reshape(-1)]


def _collection(features: list[tuple[dict, object]]) -> bytes:
    out = [{"type": "Feature", "properties": props, "geometry": mapping(geom)} for props, geom in features]
    return json.dumps({"type": "FeatureCollection", "features": out}, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def _main_roads(scenario: Scenario):
    """Named main roads merged per name into as few lines as possible."""
    by_name: dict[str, list] = {}
    for feature in scenario.source_geojson("roads")["features"]:
        name = (feature["properties"] or {}).get("name") or ""
        if name.endswith(MAIN_ROAD_SUFFIXES):
            by_name.setdefault(name, []).append(shape(feature["geometry"]))
    merged = []
    for name, lines in sorted(by_name.items()):
        merged.append(({"n": name}, shapely.line_merge(shapely.union_all(lines))))
    return merged


@dataclass(frozen=True)
class StaticLayers:
    """The serialised layers (name → GeoJSON bytes) and the view boxes the wall flies to."""

    layers: dict[str, bytes]
    district_bounds: list[list[float]]          # [[south, west], [north, east]] in display CRS
    street_bounds: dict[str, list[list[float]]]  # street code → same
    crs: str


def _bounds(geom) -> list[list[float]]:
    west, south, east, north = (round(v, DECIMALS) for v in geom.bounds)
    return [[south, west], [north, east]]


@lru_cache(maxsize=4)
def build(scenario_dir: str, display_crs: str = DATA_CRS) -> StaticLayers:
    """Build every static layer for ``display_crs`` (cached per scenario and CRS)."""
    scenario = Scenario(scenario_dir)
    convert = converter(DATA_CRS, display_crs)
    layers: dict[str, bytes] = {}

    district = [(dict(f["properties"]), shape(f["geometry"])) for f in scenario.source_geojson("district")["features"]]
    layers["district"] = _collection([({}, _display(_simplify(g, 2), convert)) for _, g in district])

    streets = []
    labels = []
    street_bounds = {}
    for feature in scenario.source_geojson("streets")["features"]:
        props, geom = feature["properties"], shape(feature["geometry"])
        shown = _display(_simplify(geom, 2), convert)
        streets.append(({"c": props["code"], "n": props["name"]}, shown))
        # A label point guaranteed inside the polygon (centroids of concave streets are not).
        labels.append(({"c": props["code"], "n": props["name"]}, _display(geom.point_on_surface(), convert)))
        street_bounds[props["code"]] = _bounds(shown)
    layers["streets"] = _collection(streets)
    layers["labels"] = _collection(labels)

    layers["roads"] = _collection([(p, _display(_simplify(g, 4), convert)) for p, g in _main_roads(scenario)])
    layers["green"] = _collection([({}, _display(_simplify(shape(f["geometry"]), 2), convert))
                                   for f in scenario.source_geojson("green_spaces")["features"]])
    # Grids keep their exact shared edges (no simplification: neighbours would drift apart);
    # the only property is the index the live ticks refer to.
    layers["grids"] = _collection([({"i": i}, _display(shape(f["geometry"]), convert))
                                   for i, f in enumerate(scenario.grids_geojson["features"])])
    whole = shapely.union_all([g for _, g in district])
    return StaticLayers(layers, _bounds(_display(whole, convert)), street_bounds, display_crs)
