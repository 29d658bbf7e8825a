"""Deterministic unit grids (单元网格) and communities (社区) for Dongcheng from real roads.

The official grid and community boundaries are not public, so we derive plausible
ones from public data (see ``dashboard/scenarios/dongcheng/source/PROVENANCE.md``):

1. **Blocks.** Inside each street (街道) the road centre-lines are clipped to the
   street, snapped onto the border where they run within ``BORDER_SNAP_M`` of it,
   unioned (noded) with the street boundary and polygonized: every face is a
   road-bounded block, and together the faces tile the street exactly.
2. **Slivers.** Faces under ``SLIVER_M2`` or thinner than ``MIN_WIDTH_M`` (the strip
   between a dual carriageway, or between a road and the street edge) are merged into
   the neighbour sharing the longest boundary.
3. **Oversized cells.** Cells over ``SPLIT_ABOVE_M2`` are cut by straight lines —
   recursive bisection across the longer side of the bounding box, at the position that
   gives the wanted area ratio — into ``ceil(area / PIECE_MAX_M2)`` pieces, then any
   small leftover piece is merged as in step 2.
4. **Communities.** Each street gets communities in proportion to its area (at least
   ``MIN_COMMUNITIES_PER_STREET``), built by recursive bisection of its grid centroids,
   so a community is always a set of whole grids.
5. **Codes.** Community code = street code + 3 digits, grid code = community code +
   3 digits. Both are numbered north→south by row band, west→east within a band: the
   sort key is ``(-floor(lat / band), lon)`` of the feature's centroid, taken from the
   written (rounded) lon/lat geometry, with ``GRID_ROW_BAND_DEG`` (≈111 m) for grids and
   ``COMMUNITY_ROW_BAND_DEG`` (≈555 m) for communities.

All geometry work happens in the local metric plane of :mod:`datasource.tools.geometry`; only the
result is converted back to GCJ-02 lon/lat and rounded to 6 decimals. Rounding is made
topology-safe: neighbours first share every vertex on their common edges (so they round
identically — no gaps, no overlaps), and new vertices on a street border slide along it
to a lattice point almost exactly on the border line. The pipeline has no randomness
and processes streets in code order, so the same input gives the same output bytes on
the same shapely/GEOS build.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import shapely
from shapely.geometry import Polygon, box

from datasource.tools.geometry import (area_m2, coverage_to_lonlat, read_features, round_lonlat,
                            share_junction_vertices, to_metric, write_feature_collection)

SLIVER_M2 = 3_000.0          # smaller faces are not grids of their own
MIN_WIDTH_M = 20.0           # 2·area/perimeter below this = a strip along a road
SPLIT_ABOVE_M2 = 25_000.0    # larger cells are cut ...
PIECE_MAX_M2 = 15_000.0      # ... into pieces of at most about this size
BORDER_SNAP_M = 0.5          # road vertices this close to the street border go onto it
DEGENERATE_M2 = 0.01         # faces smaller than a 10 cm square are numerical noise
SHARED_EDGE_MIN_M = 0.001    # merge only across a shared edge, never at a mere corner
COMMUNITY_AREA_M2 = 204_000  # 41.89 km² / the 205 communities Dongcheng had
MIN_COMMUNITIES_PER_STREET = 3
GRID_ROW_BAND_DEG = 0.001
COMMUNITY_ROW_BAND_DEG = 0.005

Progress = Optional[Callable[[int, int], None]]


@dataclass
class Street:
    """A street (街道): its source lon/lat polygon and the de-overlapped metric one."""
    code: str
    name: str
    lonlat: object
    geom: object


# ---------------------------------------------------------------- loading

def load_streets(source_dir: Path) -> list[Street]:
    """Streets in code order, projected, with overlaps between them removed.

    The source polygons overlap by ~1.4 m² along two borders; each street loses what an
    earlier-coded street already covers, so their grids cannot overlap.
    """
    streets = sorted(read_features(Path(source_dir) / "streets.geojson"), key=lambda f: f[0]["code"])
    result: list[Street] = []
    for props, source in streets:
        geom = to_metric(source)
        earlier = [s.geom for s in result if s.geom.intersects(geom)]
        if earlier:
            geom = geom.difference(shapely.union_all(earlier))
            # the difference can leave needle-thin crumbs; they are not part of the street
            parts = [p for p in polygon_parts(geom) if p.area >= 1.0]
            geom = parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)
        result.append(Street(props["code"], props["name"], source, geom))
    return result


def load_roads(source_dir: Path) -> np.ndarray:
    """All road centre-lines, projected, as a numpy array of LineStrings."""
    return np.array([to_metric(g) for _, g in read_features(Path(source_dir) / "roads.geojson")])


def polygon_parts(geom) -> list[Polygon]:
    """The non-empty Polygon parts of any geometry (drops lines and points)."""
    return [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and not p.is_empty]


# ---------------------------------------------------------------- grids of one street

def road_blocks(street: Street, roads: np.ndarray, tree: shapely.STRtree) -> list[Polygon]:
    """Faces cut out of the street by the road lines; together they tile the street."""
    near = roads[tree.query(street.geom, predicate="intersects")]
    inside = shapely.intersection(near, street.geom)  # clip, so no face leaves the street
    border = shapely.boundary(street.geom)
    linework = shapely.union_all(np.append(snap_to_border(inside, border), border))
    faces = polygon_parts(shapely.polygonize(shapely.get_parts(linework)))
    # Nearly collinear road pieces enclose zero-area faces; merged into a block they
    # leave a zero-width spike that turns into a self-intersection once rounded. Faces
    # outside the street (a road chord across a notch of the border) are dropped.
    return [f for f in faces
            if f.area >= DEGENERATE_M2 and street.geom.contains_properly(f.point_on_surface())]


def snap_to_border(lines, border):
    """Put road vertices lying within ``BORDER_SNAP_M`` of the street border onto it.

    Many roads run along the border only centimetres away (both were digitised to a
    0.1 m lattice). Left alone they make hair-thin slivers that cannot survive rounding
    to 6 decimals; on the border they make none. Vertices near a border vertex take it
    exactly, the rest are projected onto the nearest border segment.
    """
    lines = shapely.snap(lines, border, BORDER_SNAP_M)

    def project(coords: np.ndarray) -> np.ndarray:
        points = shapely.points(coords)
        close = shapely.distance(points, border) < BORDER_SNAP_M
        if close.any():
            coords = coords.copy()
            along = shapely.line_locate_point(border, points[close])
            coords[close] = shapely.get_coordinates(shapely.line_interpolate_point(border, along))
        return coords

    return shapely.transform(lines, project)


def _needs_merge(area: float, perimeter: float) -> bool:
    return area < SLIVER_M2 or 2.0 * area / perimeter < MIN_WIDTH_M


def _shared_edges(cells: list[Polygon]) -> list[dict[int, float]]:
    """For each cell, ``{neighbour index: length of the shared boundary}``."""
    tree = shapely.STRtree(cells)
    left, right = tree.query(cells, predicate="dwithin", distance=SHARED_EDGE_MIN_M)
    keep = left < right
    left, right = left[keep], right[keep]
    rings = shapely.boundary(np.array(cells, dtype=object))
    lengths = shapely.length(shapely.intersection(rings[left], rings[right]))
    adjacency: list[dict[int, float]] = [{} for _ in cells]
    for i, j, length in zip(left.tolist(), right.tolist(), lengths.tolist()):
        if length >= SHARED_EDGE_MIN_M:
            adjacency[i][j] = length
            adjacency[j][i] = length
    return adjacency


def merge_small_cells(cells: list[Polygon]) -> list[Polygon]:
    """Merge slivers and thin strips, smallest first, into the longest-bordering neighbour.

    Works on a cell graph (area, perimeter, shared lengths) and unions geometries only
    once at the end, so it stays fast with hundreds of faces per street.
    """
    area = [c.area for c in cells]
    perimeter = [c.length for c in cells]
    adjacency = _shared_edges(cells)
    members = [[i] for i in range(len(cells))]
    alive = [True] * len(cells)
    heap = [(area[i], i) for i in range(len(cells)) if _needs_merge(area[i], perimeter[i])]
    heapq.heapify(heap)
    while heap:
        a, i = heapq.heappop(heap)
        if not alive[i] or a != area[i] or not adjacency[i]:
            continue  # stale entry, or an island with nobody to merge into
        j = max(adjacency[i], key=lambda k: (adjacency[i][k], -k))
        shared = adjacency[i].pop(j)
        del adjacency[j][i]
        for k, length in adjacency[i].items():
            del adjacency[k][i]
            adjacency[k][j] = adjacency[k].get(j, 0.0) + length
            adjacency[j][k] = adjacency[k][j]
        area[j] += area[i]
        perimeter[j] += perimeter[i] - 2.0 * shared
        members[j] += members[i]
        alive[i] = False
        if _needs_merge(area[j], perimeter[j]):
            heapq.heappush(heap, (area[j], j))
    merged = []
    for i in range(len(cells)):
        if alive[i]:
            merged.extend(polygon_parts(shapely.union_all([cells[m] for m in sorted(members[i])])))
    return merged


def _cut(geom, fraction: float) -> tuple[object, object]:
    """Cut ``geom`` straight across its longer bbox side so the low side holds ``fraction``."""
    minx, miny, maxx, maxy = geom.bounds
    across_x = (maxx - minx) >= (maxy - miny)
    lo, hi = (minx, maxx) if across_x else (miny, maxy)

    def low_side(t: float) -> tuple[float, float, float, float]:
        return (minx - 1, miny - 1, t, maxy + 1) if across_x else (minx - 1, miny - 1, maxx + 1, t)

    def high_side(t: float) -> tuple[float, float, float, float]:
        return (t, miny - 1, maxx + 1, maxy + 1) if across_x else (minx - 1, t, maxx + 1, maxy + 1)

    target = geom.area * fraction
    while hi - lo > 0.05:  # bisection on the cut position, to 5 cm
        mid = (lo + hi) / 2
        if shapely.clip_by_rect(geom, *low_side(mid)).area < target:
            lo = mid
        else:
            hi = mid
    t = round((lo + hi) / 2, 2)  # a round number keeps cut vertices tidy
    # exact overlay for the final cut: clip_by_rect may return invalid polygons
    return geom.intersection(box(*low_side(t))), geom.intersection(box(*high_side(t)))


def split_oversized(cell: Polygon) -> list[Polygon]:
    """Cut a cell over ``SPLIT_ABOVE_M2`` into ``ceil(area / PIECE_MAX_M2)`` similar pieces."""
    if cell.area <= SPLIT_ABOVE_M2:
        return [cell]
    return _bisect_geometry(cell, math.ceil(cell.area / PIECE_MAX_M2))


def _bisect_geometry(geom, n: int) -> list[Polygon]:
    if n <= 1:
        return polygon_parts(geom)
    n_low = n // 2
    low, high = _cut(geom, n_low / n)
    return _bisect_geometry(low, n_low) + _bisect_geometry(high, n - n_low)


def street_grids(street: Street, roads: np.ndarray, tree: shapely.STRtree) -> list[Polygon]:
    """The unit grids (metric polygons) of one street: blocks → merge → split → merge."""
    blocks = merge_small_cells(road_blocks(street, roads, tree))
    pieces = [piece for block in blocks for piece in split_oversized(block)]
    # Cuts end mid-edge of the neighbouring block; share those vertices first, or the
    # union of a leftover piece with that neighbour keeps a hair-thin slit.
    return merge_small_cells(share_junction_vertices(pieces))


# ---------------------------------------------------------------- communities and codes

def allocate_communities(street_areas: dict[str, float]) -> dict[str, int]:
    """Communities per street ∝ area, at least ``MIN_COMMUNITIES_PER_STREET`` each.

    The total is area / ``COMMUNITY_AREA_M2`` (205 for all of Dongcheng), so a subset of
    streets gets the same counts as in the full run; largest-remainder rounding.
    """
    whole = sum(street_areas.values())
    total = round(whole / COMMUNITY_AREA_M2)
    quotas = {code: total * a / whole for code, a in street_areas.items()}
    counts = {code: max(MIN_COMMUNITIES_PER_STREET, math.floor(q)) for code, q in quotas.items()}
    by_remainder = sorted(quotas, key=lambda c: (-(quotas[c] - math.floor(quotas[c])), c))
    for code in by_remainder[:max(0, total - sum(counts.values()))]:
        counts[code] += 1
    return counts


def partition_grids(points: np.ndarray, weights: np.ndarray, k: int) -> list[list[int]]:
    """Split grid indices into ``k`` groups of similar total weight by recursive bisection.

    Each step sorts the centroids along the longer side of their bounding box and cuts
    where the cumulative area reaches the wanted share, so groups are compact.
    """
    return _bisect_indices(np.arange(len(points)), points, weights, k)


def _bisect_indices(idx: np.ndarray, points: np.ndarray, weights: np.ndarray, k: int) -> list[list[int]]:
    if k <= 1:
        return [sorted(idx.tolist())]
    sub = points[idx]
    axis = 0 if np.ptp(sub[:, 0]) >= np.ptp(sub[:, 1]) else 1
    order = idx[np.lexsort((idx, sub[:, 1 - axis], sub[:, axis]))]
    k_low = k // 2
    cumulative = np.cumsum(weights[order])
    target = cumulative[-1] * k_low / k
    cut = int(np.argmin(np.abs(cumulative - target))) + 1
    cut = min(max(cut, k_low), len(order) - (k - k_low))  # every group keeps ≥ 1 grid
    return (_bisect_indices(order[:cut], points, weights, k_low)
            + _bisect_indices(order[cut:], points, weights, k - k_low))


def make_contiguous(labels: list[int], adjacency: list[dict[int, float]], areas: list[float]) -> list[int]:
    """Relabel detached pieces of a group to the neighbouring group they border most.

    Bisection by centroid can leave a group in two pieces where the street is concave.
    Every group keeps its largest edge-connected piece; the other pieces move, which
    never disconnects the group that receives them (they share an edge with it).
    """
    labels = list(labels)
    for _ in range(len(labels)):  # each sweep moves ≥ 1 piece or ends the loop
        moved = False
        for group in sorted(set(labels)):
            pieces = _components([i for i, g in enumerate(labels) if g == group], adjacency)
            pieces.sort(key=lambda piece: (-sum(areas[i] for i in piece), piece[0]))
            for piece in pieces[1:]:
                border: dict[int, float] = {}
                for i in piece:
                    for j, length in adjacency[i].items():
                        if labels[j] != group:
                            border[labels[j]] = border.get(labels[j], 0.0) + length
                if border:
                    target = max(border, key=lambda g: (border[g], -g))
                    for i in piece:
                        labels[i] = target
                    moved = True
        if not moved:
            break
    return labels


def _components(nodes: list[int], adjacency: list[dict[int, float]]) -> list[list[int]]:
    """Edge-connected components of ``nodes`` (each sorted), in order of first node."""
    inside, seen, components = set(nodes), set(), []
    for start in nodes:
        if start in seen:
            continue
        seen.add(start)
        stack, component = [start], []
        while stack:
            i = stack.pop()
            component.append(i)
            for j in adjacency[i]:
                if j in inside and j not in seen:
                    seen.add(j)
                    stack.append(j)
        components.append(sorted(component))
    return components


def reading_order_key(lonlat_geom, band_deg: float) -> tuple[int, float]:
    """Sort key north→south by row band of the centroid latitude, then west→east."""
    c = lonlat_geom.centroid
    return (-math.floor(c.y / band_deg), c.x)


def _area_int(lonlat_geom) -> int:
    return int(round(area_m2(lonlat_geom)))


def build_street_features(street: Street, grids: list[Polygon], lonlat: list, n_communities: int):
    """Community and grid features ``(properties, lon/lat geometry)`` for one street.

    ``grids`` are the metric polygons (for partitioning), ``lonlat`` the same grids as
    they will be written (rounded lon/lat), from which codes and areas are taken.
    """
    centroids = np.array([[g.centroid.x, g.centroid.y] for g in grids])
    areas = [g.area for g in grids]
    groups = partition_grids(centroids, np.array(areas), min(n_communities, len(grids)))
    labels = [0] * len(grids)
    for label, group in enumerate(groups):
        for i in group:
            labels[i] = label
    labels = make_contiguous(labels, _shared_edges(grids), areas)
    groups = [[i for i, g in enumerate(labels) if g == label] for label in range(len(groups))]
    # The written grids share their vertices exactly, so their union is clean.
    shapes = [round_lonlat(shapely.union_all([lonlat[i] for i in grp])) for grp in groups]
    order = sorted(range(len(groups)),
                   key=lambda g: (reading_order_key(shapes[g], COMMUNITY_ROW_BAND_DEG), g))
    short = street.name.removesuffix("街道")
    communities, grid_features = [], []
    for seq, g in enumerate(order, start=1):
        code = f"{street.code}{seq:03d}"
        communities.append(({"code": code, "street_code": street.code, "name": f"{short}第{seq}社区",
                             "area_m2": _area_int(shapes[g]), "grid_count": len(groups[g])}, shapes[g]))
        members = sorted(groups[g], key=lambda i: (reading_order_key(lonlat[i], GRID_ROW_BAND_DEG), i))
        for n, i in enumerate(members, start=1):
            grid_features.append(({"code": f"{code}{n:03d}", "street_code": street.code,
                                   "community_code": code, "area_m2": _area_int(lonlat[i])}, lonlat[i]))
    return communities, grid_features


# ---------------------------------------------------------------- entry point

def generate(source_dir: Path, out_dir: Path, progress: Progress = None) -> dict:
    """Derive ``communities.geojson`` and ``grids.geojson`` in ``out_dir`` from ``source_dir``.

    ``source_dir`` must hold ``streets.geojson`` and ``roads.geojson``. ``progress`` is
    called as ``progress(done, total)`` after each street. Returns a summary dict.
    """
    streets = load_streets(Path(source_dir))
    roads = load_roads(Path(source_dir))
    tree = shapely.STRtree(roads)
    grids_by_street: list[list[Polygon]] = []
    for done, street in enumerate(streets, start=1):
        grids_by_street.append(street_grids(street, roads, tree))
        if progress:
            progress(done, len(streets))

    # Share T-junction vertices across the whole district (cuts can end on a street border).
    flat = share_junction_vertices([g for grids in grids_by_street for g in grids])
    street_of = [n for n, grids in enumerate(grids_by_street) for _ in grids]
    written = coverage_to_lonlat(flat, [s.lonlat for s in streets], street_of)
    counts = allocate_communities({s.code: s.geom.area for s in streets})
    communities, grids, start = [], [], 0
    for street, street_cells in zip(streets, grids_by_street):
        end = start + len(street_cells)
        street_communities, street_grid_features = build_street_features(
            street, flat[start:end], written[start:end], counts[street.code])
        start = end
        communities += street_communities
        grids += street_grid_features

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sizes = {"communities.geojson": write_feature_collection(out_dir / "communities.geojson", communities),
             "grids.geojson": write_feature_collection(out_dir / "grids.geojson", grids)}
    return summarize(streets, communities, grids, sizes)


def summarize(streets: list[Street], communities: list, grids: list, sizes: dict) -> dict:
    """Counts and area statistics of a generated grid set."""
    areas = np.array([props["area_m2"] for props, _ in grids], dtype=float)
    per_street = {s.code: {"name": s.name,
                           "communities": sum(p["street_code"] == s.code for p, _ in communities),
                           "grids": sum(p["street_code"] == s.code for p, _ in grids)}
                  for s in streets}
    return {
        "grids": len(grids),
        "communities": len(communities),
        "area_m2": {"min": int(areas.min()), "median": int(np.median(areas)), "mean": int(areas.mean()),
                    "max": int(areas.max()), "total": int(areas.sum())},
        "multipolygon_grids": sum(g.geom_type != "Polygon" for _, g in grids),
        "multipolygon_communities": sum(g.geom_type != "Polygon" for _, g in communities),
        "bytes": sizes,
        "streets": per_street,
    }
