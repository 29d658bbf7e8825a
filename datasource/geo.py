"""Small geometry helpers: a local metric projection for Dongcheng and GeoJSON I/O.

The district is ~7 km across, so a local equirectangular plane centred on
(116.4 E, 39.9 N) is accurate to well under 0.1 % for areas and lengths — good enough
for unit grids, and it avoids a pyproj dependency. GCJ-02 is treated like WGS-84 here:
its offset is a near-constant shift at this scale and does not change areas.

All coordinates written to disk are lon/lat rounded to ``COORD_DECIMALS`` decimals
(about 0.1 m), the precision of the source data.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import mapping, shape

ORIGIN_LON = 116.4
ORIGIN_LAT = 39.9
M_PER_DEG_LON = math.cos(math.radians(ORIGIN_LAT)) * 111_320.0
M_PER_DEG_LAT = 110_540.0
COORD_DECIMALS = 6
LATTICE = 10 ** COORD_DECIMALS   # coordinates are integers in these units once rounded
LATTICE_SEARCH = 25              # lattice steps (≤ 2.8 m) a border vertex may slide along


def _lonlat_to_xy(coords: np.ndarray) -> np.ndarray:
    return np.column_stack(((coords[:, 0] - ORIGIN_LON) * M_PER_DEG_LON,
                            (coords[:, 1] - ORIGIN_LAT) * M_PER_DEG_LAT))


def _xy_to_lonlat(coords: np.ndarray) -> np.ndarray:
    return np.column_stack((coords[:, 0] / M_PER_DEG_LON + ORIGIN_LON,
                            coords[:, 1] / M_PER_DEG_LAT + ORIGIN_LAT))


def to_metric(geom):
    """Project a lon/lat geometry (or array of geometries) to the local plane in metres."""
    return shapely.transform(geom, _lonlat_to_xy)


def to_lonlat(geom):
    """Inverse of :func:`to_metric`: metres back to lon/lat degrees."""
    return shapely.transform(geom, _xy_to_lonlat)


def area_m2(lonlat_geom) -> float:
    """Area in square metres of a lon/lat geometry."""
    return float(to_metric(lonlat_geom).area)


def round_plain(geom):
    """Round lon/lat coordinates to ``COORD_DECIMALS`` decimals and drop repeated points."""
    rounded = shapely.transform(geom, lambda c: np.round(c, COORD_DECIMALS))
    return shapely.remove_repeated_points(rounded)


def round_lonlat(geom):
    """Round lon/lat coordinates to ``COORD_DECIMALS`` decimals, keeping the polygon valid.

    Plain rounding keeps shared vertices of neighbouring polygons identical (so a
    coverage stays gap-free); only if rounding collapses something into an invalid
    ring do we fall back to GEOS ``set_precision``, which snaps and repairs.
    """
    rounded = round_plain(geom)
    if not rounded.is_valid:
        rounded = shapely.set_precision(geom, 10.0 ** -COORD_DECIMALS)
        rounded = shapely.transform(rounded, lambda c: np.round(c, COORD_DECIMALS))
    return rounded


def lattice_moves(vertices: np.ndarray, edges_lonlat) -> dict[tuple[float, float], tuple[float, float]]:
    """Where to move off-lattice vertices lying on source edges so rounding keeps the edge.

    ``vertices`` are lon/lat points of derived polygons; ``edges_lonlat`` are source
    geometries whose vertices are already on the 6-decimal lattice (street boundaries).
    A derived vertex in the middle of a source edge (a road or cut meeting the street
    border) would be rounded up to ~7 cm off that edge, which adds a thin wedge of
    several m² along a long edge. Instead we slide it along the edge, at most
    ``LATTICE_SEARCH`` lattice steps, to the lattice point closest to the edge line —
    typically a millimetre off — so the union of the derived polygons keeps the source
    outline. Returns ``{(lon, lat): (new_lon, new_lat)}``.
    """
    vertices = np.asarray(vertices, dtype=float)
    units = vertices * LATTICE
    off_lattice = np.abs(units - np.round(units)).max(axis=1) > 1e-3
    segments = []
    for ring in shapely.get_parts(shapely.boundary(edges_lonlat)):
        ring_units = np.round(shapely.get_coordinates(ring) * LATTICE)
        segments += [(a, b) for a, b in zip(ring_units[:-1], ring_units[1:]) if (a != b).any()]
    scale = np.array([M_PER_DEG_LON, M_PER_DEG_LAT]) / LATTICE  # metres per lattice step
    tree = shapely.STRtree(shapely.linestrings([[a * scale, b * scale] for a, b in segments]))
    points, originals = units[off_lattice], vertices[off_lattice]
    hits = tree.query_nearest(shapely.points(points * scale), max_distance=0.001, all_matches=False)
    steps = np.arange(-LATTICE_SEARCH, LATTICE_SEARCH + 1, dtype=float)
    moves = {}
    for p_index, s_index in zip(*hits):
        p = points[p_index]
        a, b = segments[s_index]
        candidates = _lattice_points_along(p, a, b, steps)
        d = (b - a) * scale
        v = (candidates - a) * scale
        along = v @ d / (d @ d)
        across = np.abs(v[:, 0] * d[1] - v[:, 1] * d[0]) / np.hypot(*d)
        shift = np.hypot(*((candidates - p) * scale).T)
        inside = (along > 1e-9) & (along < 1 - 1e-9)  # stay strictly inside the edge
        if not inside.any():
            continue
        best = np.lexsort((shift, across, ~inside))[0]
        lon, lat = originals[p_index].tolist()
        moves[(lon, lat)] = tuple((candidates[best] / LATTICE).tolist())
    return moves


def _lattice_points_along(p: np.ndarray, a: np.ndarray, b: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Lattice points nearest to line ``ab``, one per lattice step along its main axis near ``p``."""
    major = 0 if abs(b[0] - a[0]) >= abs(b[1] - a[1]) else 1
    minor = 1 - major
    slope = (b[minor] - a[minor]) / (b[major] - a[major])
    candidates = np.empty((len(steps), 2))
    candidates[:, major] = np.round(p[major]) + steps
    candidates[:, minor] = np.round(a[minor] + (candidates[:, major] - a[major]) * slope)
    return candidates


def move_vertices(geom, moves: dict[tuple[float, float], tuple[float, float]]):
    """Replace the vertices listed in ``moves`` (exact float match) by their targets."""
    if not moves:
        return geom

    def replace(coords: np.ndarray) -> np.ndarray:
        out = coords.copy()
        for i, (x, y) in enumerate(coords.tolist()):
            target = moves.get((x, y))
            if target is not None:
                out[i] = target
        return out

    return shapely.transform(geom, replace)


def read_features(path: Path) -> list[tuple[dict, object]]:
    """Read a GeoJSON FeatureCollection as a list of ``(properties, geometry)`` pairs."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return [(f.get("properties") or {}, shape(f["geometry"])) for f in data["features"]]


def write_feature_collection(path: Path, features: list[tuple[dict, object]]) -> int:
    """Write ``(properties, geometry)`` pairs as GeoJSON, byte-for-byte reproducibly.

    One feature per line keeps diffs readable; properties keep their insertion order.
    Returns the number of bytes written.
    """
    lines = []
    for props, geom in features:
        feature = {"type": "Feature", "properties": props, "geometry": mapping(geom)}
        lines.append(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
    text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"
    data = text.encode("utf-8")
    Path(path).write_bytes(data)
    return len(data)
