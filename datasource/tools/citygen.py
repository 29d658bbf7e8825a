"""Square unit grids (单元网格) and their hierarchy for a city the product has never seen.

Dongcheng's grids follow its real roads (:mod:`datasource.tools.gridgen`); a city that arrives
with only an export of its cases, a bounding box or a few region polygons gets square grids
instead, on a lattice aligned with longitude and latitude:

* **Cells.** ``cell_m`` metres square (100 m ≈ 1 ha, the "万米单元网格") at the extent's middle
  latitude.  Lattice corners are computed once from integer indices and rounded to 6 decimals,
  so neighbouring cells share their corners exactly: the cells tile without gap or overlap.
  A point belongs to the cell ``west ≤ lon < east``, ``south < lat ≤ north`` (half-open).
* **Which cells are kept** (no rectangle of empty ocean):
  - ``--bbox``: every cell of the box;
  - points (``--from FILE.csv``): every cell holding at least one point, then the gaps of one
    cell between kept cells closed and enclosed holes filled (a park surrounded by reported
    streets is city; open water outside is not) — :func:`kept_cells`;
  - polygons (``--polygons``): every cell overlapping a polygon, clipped to it (a cell crossed
    by a border becomes one grid on each side).
* **Hierarchy** like Dongcheng's four levels: district → "streets" (街道, the supplied polygons,
  or squares of ``street_communities`` × ``street_communities`` communities) → "communities"
  (社区, squares of ``community_cells`` × ``community_cells`` cells, cut by the streets) → grids.
* **Codes** in Dongcheng's formats (:mod:`dashboard.domain.codes`): street = 6-digit district
  code + 3 digits, community = street + 3, grid = community + 3, numbered north→south then
  west→east at each level.
* **Extent of points**: garbage (blank, non-numeric, out of range, exactly 0,0) is dropped;
  the core box is the ``trim``–(100 − ``trim``) % quantiles of longitude and latitude (rounded
  inwards to a data point, so a small file has its extreme points tested too); points
  farther outside it than ``margin`` × its size (at least 2 cells) are outliers — counted,
  and in no grid.  The extent is the box of the points kept.

Everything here is deterministic: the same input gives the same output bytes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import box

DECIMALS = 6
MAX_CODE = 999                     # three digits per level
MIN_PIECE_M2 = 1.0                 # clipped pieces smaller than this are numerical crumbs


class CityGenError(ValueError):
    """Input that cannot make a city (one-line message)."""


def metres_per_degree(lat: float) -> tuple[float, float]:
    """(metres per degree of longitude, of latitude) at ``lat`` on the WGS-84 ellipsoid."""
    phi = math.radians(lat)
    m_lat = 111_132.954 - 559.822 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)
    m_lon = 111_412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi) + 0.118 * math.cos(5 * phi)
    return m_lon, m_lat


# ------------------------------------------------------------------ extent of points

@dataclass(frozen=True)
class PointExtent:
    """Where the points are: the kept points, the extent and what was dropped."""

    lon: np.ndarray
    lat: np.ndarray
    bbox: tuple[float, float, float, float]   # west, south, east, north of the kept points
    garbage: int
    outliers: int


def clean_coordinates(lon, lat) -> tuple[np.ndarray, np.ndarray, int]:
    """Numeric, in range and not exactly (0, 0): the usable points and how many were not."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    ok = (np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
          & ~((lon == 0) & (lat == 0)))
    return lon[ok], lat[ok], int((~ok).sum())


def robust_extent(lon, lat, trim: float = 0.5, margin: float = 0.1, cell_m: float = 100.0) -> PointExtent:
    """The extent of the points without their outliers (see the module's rule)."""
    if not 0 <= trim < 50:
        raise CityGenError(f"trim must be 0 ≤ trim < 50 (percent), not {trim}")
    lon, lat, garbage = clean_coordinates(lon, lat)
    if len(lon) == 0:
        raise CityGenError("no usable coordinates (all blank, non-numeric, out of range or 0,0)")
    # quantiles rounded inwards: even a small file has its most extreme point at each end tested
    west, south = np.percentile(lon, trim, method="higher"), np.percentile(lat, trim, method="higher")
    east, north = np.percentile(lon, 100 - trim, method="lower"), np.percentile(lat, 100 - trim, method="lower")
    west, east = min(west, east), max(west, east)       # two or three points: the rounding crossed over
    south, north = min(south, north), max(south, north)
    m_lon, m_lat = metres_per_degree((south + north) / 2)
    pad_lon = max(margin * (east - west), 2 * cell_m / m_lon)
    pad_lat = max(margin * (north - south), 2 * cell_m / m_lat)
    inside = ((lon >= west - pad_lon) & (lon <= east + pad_lon) & (lat >= south - pad_lat) & (lat <= north + pad_lat))
    lon, lat = lon[inside], lat[inside]
    bbox = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
    return PointExtent(lon, lat, bbox, garbage, int((~inside).sum()))


# ------------------------------------------------------------------ the lattice

@dataclass(frozen=True)
class Lattice:
    """Square cells over an extent: column ``c`` spans ``xs[c]..xs[c+1]`` (west→east), row ``r``
    spans ``ys[r]..ys[r+1]`` (north→south)."""

    xs: np.ndarray
    ys: np.ndarray
    cell_m: float
    m_per_deg: tuple[float, float]

    @classmethod
    def over(cls, bbox: tuple[float, float, float, float], cell_m: float) -> "Lattice":
        west, south, east, north = bbox
        if not (west <= east and south <= north):
            raise CityGenError(f"empty extent {bbox}: need MINLON ≤ MAXLON and MINLAT ≤ MAXLAT")
        if not 10 <= cell_m <= 5000:
            raise CityGenError(f"cell size must be 10–5000 m, not {cell_m:g}")
        m_lon, m_lat = metres_per_degree((south + north) / 2)
        dlon, dlat = cell_m / m_lon, cell_m / m_lat
        scale = 10 ** DECIMALS
        # the first corner on the 6-decimal lattice, at or beyond the extent's north-west corner
        west, north = math.floor(west * scale) / scale, math.ceil(north * scale) / scale
        cols = int(math.floor((east - west) / dlon)) + 1
        rows = int(math.floor((north - south) / dlat)) + 1
        if cols * rows > 4_000_000:
            raise CityGenError(f"{cols} × {rows} cells of {cell_m:g} m is too many: use a larger --cell or a "
                               "smaller extent")
        xs = np.round(west + np.arange(cols + 2) * dlon, DECIMALS)
        ys = np.round(north - np.arange(rows + 2) * dlat, DECIMALS)
        # the last edge lies beyond the extent (one spare edge in case rounding pulled it onto it)
        xs = xs[:cols + 1] if xs[cols] > east else xs
        ys = ys[:rows + 1] if ys[rows] < south else ys
        return cls(xs, ys, float(cell_m), (m_lon, m_lat))

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.ys) - 1, len(self.xs) - 1

    def cell_of(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """(row, col) of each point (half-open cells); -1 outside the lattice."""
        rows, cols = self.shape
        col = np.searchsorted(self.xs, np.asarray(lon, dtype=float), side="right") - 1
        row = np.searchsorted(-self.ys, -np.asarray(lat, dtype=float), side="right") - 1
        outside = (col < 0) | (col >= cols) | (row < 0) | (row >= rows)
        return np.where(outside, -1, row), np.where(outside, -1, col)

    def cell_box(self, row: int, col: int):
        return box(self.xs[col], self.ys[row + 1], self.xs[col + 1], self.ys[row])

    def area_m2(self, geom) -> float:
        """Area in m² of a lon/lat geometry (the lattice's local scale; ±0.2 % across a city)."""
        return float(geom.area * self.m_per_deg[0] * self.m_per_deg[1])


def kept_cells(lattice: Lattice, lon, lat, fill: bool = True) -> np.ndarray:
    """Boolean (rows, cols): cells holding a point, with one-cell gaps closed and holes filled."""
    from scipy import ndimage
    occupied = np.zeros(lattice.shape, dtype=bool)
    row, col = lattice.cell_of(lon, lat)
    inside = row >= 0
    occupied[row[inside], col[inside]] = True
    if not fill:
        return occupied
    padded = np.pad(occupied, 1)
    closed = ndimage.binary_closing(padded, structure=np.ones((3, 3), dtype=bool))[1:-1, 1:-1]
    return ndimage.binary_fill_holes(occupied | closed)


# ------------------------------------------------------------------ the hierarchy

@dataclass
class City:
    """The generated territory: features as ``(properties, geometry)`` pairs, ready to write."""

    district_code: str
    streets: list[tuple[dict, object]] = field(default_factory=list)
    communities: list[tuple[dict, object]] = field(default_factory=list)
    grids: list[tuple[dict, object]] = field(default_factory=list)
    district: object = None


def block_name(block_row: int, block_col: int) -> str:
    """A map-index name for a square street: row letters (A … Z, AA …) and column number."""
    letters, n = "", block_row
    while True:
        letters = chr(ord("A") + n % 26) + letters
        n = n // 26 - 1
        if n < 0:
            break
    return f"{letters}{block_col + 1}"


def _check_count(what: str, n: int) -> None:
    if n > MAX_CODE:
        raise CityGenError(f"{n} {what} do not fit the 3-digit codes (at most {MAX_CODE}): use a larger --cell, "
                           "larger blocks or a smaller extent")


def _check_district_code(code: str) -> None:
    if not (isinstance(code, str) and len(code) == 6 and code.isdigit()):
        raise CityGenError(f"district code must be 6 digits, not {code!r}")


def _union(geoms):
    merged = shapely.union_all(geoms)
    return shapely.normalize(merged)


def square_city(lattice: Lattice, keep: np.ndarray, district_code: str, community_cells: int = 5,
                street_communities: int = 4) -> City:
    """The hierarchy over the kept cells of a lattice, streets and communities as squares."""
    _check_district_code(district_code)
    if not 1 <= community_cells <= 31:
        raise CityGenError(f"community_cells must be 1–31 (at most 999 grids a community), not {community_cells}")
    if not 1 <= street_communities <= 31:
        raise CityGenError(f"street_communities must be 1–31, not {street_communities}")
    rows, cols = np.nonzero(keep)            # row-major: north→south, then west→east
    if len(rows) == 0:
        raise CityGenError("no cell to keep: no point falls in the extent")
    k, s = community_cells, community_cells * street_communities
    street_keys = sorted({(r // s, c // s) for r, c in zip(rows.tolist(), cols.tolist())})
    _check_count("streets", len(street_keys))
    street_code = {key: f"{district_code}{i:03d}" for i, key in enumerate(street_keys, 1)}
    by_community: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for r, c in zip(rows.tolist(), cols.tolist()):
        by_community.setdefault((r // k, c // k), []).append((r, c))
    city = City(district_code)
    street_cells: dict[tuple[int, int], list] = {key: [] for key in street_keys}
    community_serial: dict[tuple[int, int], int] = {}
    for ckey in sorted(by_community, key=lambda key: ((key[0] * k) // s, (key[1] * k) // s, key)):
        skey = ((ckey[0] * k) // s, (ckey[1] * k) // s)
        community_serial[skey] = community_serial.get(skey, 0) + 1
        scode = street_code[skey]
        ccode = f"{scode}{community_serial[skey]:03d}"
        cells = [lattice.cell_box(r, c) for r, c in sorted(by_community[ckey])]
        for n, cell in enumerate(cells, 1):
            city.grids.append(({"code": f"{ccode}{n:03d}", "street_code": scode, "community_code": ccode,
                                "area_m2": int(round(lattice.area_m2(cell)))}, cell))
        shape_ = _union(cells)
        city.communities.append(({"code": ccode, "street_code": scode,
                                  "name": f"{block_name(*skey)}-{community_serial[skey]:02d}",
                                  "area_m2": int(round(lattice.area_m2(shape_))), "grid_count": len(cells)}, shape_))
        street_cells[skey] += cells
    for skey in street_keys:
        shape_ = _union(street_cells[skey])
        city.streets.append(({"code": street_code[skey], "name": block_name(*skey),
                              "area_m2": int(round(lattice.area_m2(shape_)))}, shape_))
    city.district = _union([g for _, g in city.streets])
    return city


def _polygonal(geom):
    """Only the polygons of a clipping result (a shared edge may come back as a line)."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else shapely.normalize(shapely.union_all(parts))


def polygon_city(lattice: Lattice, regions: list[tuple[str, object]], district_code: str,
                 community_cells: int = 5) -> City:
    """The hierarchy inside supplied region polygons ``(name, geometry)``: each region is a street;
    communities are squares of cells cut by it; grids are the cells clipped to it.  Regions that
    overlap are made disjoint in the order given (an earlier region keeps the overlap)."""
    _check_district_code(district_code)
    if not 1 <= community_cells <= 31:
        raise CityGenError(f"community_cells must be 1–31, not {community_cells}")
    disjoint, taken = [], None
    for name, geom in regions:
        geom = shapely.make_valid(geom)
        if taken is not None:
            geom = shapely.difference(geom, taken)
        geom = _polygonal(geom)
        if geom is None or lattice.area_m2(geom) < MIN_PIECE_M2:
            continue
        disjoint.append((name, geom))
        taken = geom if taken is None else shapely.union(taken, geom)
    if not disjoint:
        raise CityGenError("no usable polygon in the file")
    _check_count("regions (streets)", len(disjoint))
    m_lon, m_lat = lattice.m_per_deg
    band = 1000.0 / m_lat   # reading order by ~1 km row bands, like gridgen's
    disjoint.sort(key=lambda item: (-math.floor(item[1].representative_point().y / band),
                                    item[1].representative_point().x))
    city = City(district_code)
    k = community_cells
    for i, (name, region) in enumerate(disjoint, 1):
        scode = f"{district_code}{i:03d}"
        west, south, east, north = region.bounds
        (row0, row1), (col0, col1) = lattice.cell_of([west, east], [north, south])
        pieces: dict[tuple[int, int], list] = {}
        shapely.prepare(region)
        for r in range(max(int(row0), 0), (int(row1) if row1 >= 0 else lattice.shape[0] - 1) + 1):
            for c in range(max(int(col0), 0), (int(col1) if col1 >= 0 else lattice.shape[1] - 1) + 1):
                cell = lattice.cell_box(r, c)
                if not region.intersects(cell):
                    continue
                piece = cell if region.contains(cell) else _polygonal(shapely.intersection(cell, region))
                if piece is None or lattice.area_m2(piece) < MIN_PIECE_M2:
                    continue
                pieces.setdefault((r // k, c // k), []).append(piece)
        if not pieces:
            continue
        _check_count(f"communities in {name}", len(pieces))
        for j, ckey in enumerate(sorted(pieces), 1):
            ccode = f"{scode}{j:03d}"
            for n, piece in enumerate(pieces[ckey], 1):
                city.grids.append(({"code": f"{ccode}{n:03d}", "street_code": scode, "community_code": ccode,
                                    "area_m2": int(round(lattice.area_m2(piece)))}, piece))
            shape_ = _union(pieces[ckey])
            city.communities.append(({"code": ccode, "street_code": scode, "name": f"{name}-{j:02d}",
                                      "area_m2": int(round(lattice.area_m2(shape_))),
                                      "grid_count": len(pieces[ckey])}, shape_))
        city.streets.append(({"code": scode, "name": name, "area_m2": int(round(lattice.area_m2(region)))}, region))
    city.district = _union([g for _, g in city.streets])
    return city
