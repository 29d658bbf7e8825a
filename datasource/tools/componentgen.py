"""Deterministic city-component inventory (城市部件) for Dongcheng, from real data where it exists.

Dongcheng's census counts 168,339 components; the census itself is not public.  What is
public (``dashboard/scenarios/dongcheng/source/``) becomes components of its kind **at its real
position** (``origin`` = ``facility`` or ``green_space``):

* bus stops (公交站点) → 公交站亭 bus shelters (C0203); car parks of every type → 停车场 (C0201);
  outdoor activity sites (室外活动场所) → 健身设施 fitness equipment (C0126); hutong sanitation
  sites → 公共厕所 public toilets (C0301); the 112 green spaces → 绿地 (C0405) at a point inside;
* schools, clinics, elderly-care and street cultural centres get a 宣传栏 notice board (C0501) at
  their gate (the board is assumed, the place is real).

Everything else is **generated** (``origin`` = ``generated``) with a fixed seed per kind: manhole
covers, lamps, poles, bins, trees, signs, rails … along the real road centre-lines (a point at a
random place of a length-weighted segment, offset 2–12 m to either side, as kerbs and pavements
are), heritage trees along hutongs and in green spaces, construction sites anywhere in a grid.
Counts per kind follow :data:`PLAN` (roughly the class mix of a Beijing census) scaled so the
total is :data:`TARGET_TOTAL`.  Positions are rounded to 6 decimals *before* they are located, so
the grid a component names is the grid its stored position lies in.  Serials number each kind
north→south, west→east.  Maintainers come from the scenario's departments: the routing table's
department, except a fixed share of community-level kinds (bins, benches, fitness equipment,
hutong toilets …) maintained by the street office.

Output: ``components.csv.gz`` (gzip with a zero timestamp: identical bytes every run).
"""
from __future__ import annotations

import csv
import gzip
import io
import math
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape

from dashboard.domain.components import make_code
from dashboard.domain.scenario import Scenario
from datasource.tools.geometry import M_PER_DEG_LAT, M_PER_DEG_LON

TARGET_TOTAL = 168_339
FILE_NAME = "components.csv.gz"
COLUMNS = ("code", "kind", "name", "lon", "lat", "grid_code", "owner_department", "title_department",
           "maintainer_department", "status", "installed_on", "origin")
SEED = 20040101                      # Dongcheng's grid model started in 2004
GENERATED_AT = "2026-11-01T00:00:00+08:00"

#: kind → (generated count before scaling, placement, offset metres from the road centre-line)
PLAN: dict[str, tuple[int, str, tuple[float, float]]] = {
    "C0101": (14_000, "road", (1.5, 6)), "C0102": (16_000, "road", (1.5, 6)),
    "C0103": (12_000, "main", (2, 8)), "C0104": (18_000, "main", (4, 9)),
    "C0105": (9_000, "main", (2, 8)), "C0117": (8_000, "road", (4, 10)),
    "C0118": (17_000, "road", (4, 10)), "C0121": (150, "main", (6, 12)),
    "C0123": (300, "main", (6, 12)), "C0126": (1_200, "grid", (0, 0)),
    "C0206": (40, "ring", (0, 1)), "C0211": (2_400, "main", (5, 10)),
    "C0212": (6_000, "main", (0.5, 3)), "C0214": (3_500, "road", (4, 10)),
    "C0301": (800, "hutong", (3, 8)), "C0305": (9_000, "road", (4, 10)),
    "C0307": (12_000, "main", (8, 14)), "C0401": (1_000, "hutong", (2, 6)),
    "C0402": (35_000, "main", (4, 9)), "C0405": (500, "grid", (0, 0)),
    "C0407": (2_500, "green", (0, 0)), "C0501": (1_200, "grid", (0, 0)),
    "C0602": (60, "grid", (0, 0)),
}
#: real facilities (kind, type or "*") → component kind
FACILITY_KINDS = {("traffic", "公交站点"): "C0203", ("parking", "*"): "C0201", ("sports", "室外活动场所"): "C0126",
                  ("sanitation", "*"): "C0301", ("education", "*"): "C0501", ("medical", "*"): "C0501",
                  ("sports", "街道文化服务中心"): "C0501"}
#: share of a kind maintained by the street office (community-level facilities)
STREET_MAINTAINED = {"C0305": 0.3, "C0407": 0.5, "C0126": 0.6, "C0301": 0.4, "C0118": 0.15, "C0402": 0.2,
                     "C0201": 0.3, "C0405": 0.3}
STATUS_SHARES = (("in_service", 0.97), ("damaged", 0.025), ("removed", 0.005))
ROUND = 6


class Locator:
    """Grid of each point (lowest code on a shared edge, as the worker's locator)."""

    def __init__(self, grids_geojson: dict):
        features = grids_geojson["features"]
        self.codes = np.array([f["properties"]["code"] for f in features])
        self.polygons = np.array([shape(f["geometry"]) for f in features], dtype=object)
        self.tree = shapely.STRtree(self.polygons)

    def locate(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Grid code per point, "" outside every grid."""
        found = np.full(len(lon), "", dtype=object)
        if not len(lon):
            return found
        point_idx, grid_idx = self.tree.query(shapely.points(lon, lat), predicate="intersects")
        codes = self.codes
        for p, g in zip(point_idx.tolist(), grid_idx.tolist()):
            if not found[p] or codes[g] < found[p]:      # on a shared edge: lowest code wins
                found[p] = codes[g]
        return found


class Roads:
    """Road segments in a local metric plane, with cumulative lengths for weighted draws."""

    def __init__(self, roads_geojson: dict, keep=lambda name: True):
        a, b, names = [], [], []
        for feature in roads_geojson["features"]:
            name = feature["properties"].get("name") or ""
            if not keep(name):
                continue
            coords = feature["geometry"]["coordinates"]
            for p, q in zip(coords, coords[1:]):
                a.append(p[:2])
                b.append(q[:2])
                names.append(name)
        self.a, self.b, self.names = np.array(a, float), np.array(b, float), np.array(names, dtype=object)
        dx = (self.b[:, 0] - self.a[:, 0]) * M_PER_DEG_LON
        dy = (self.b[:, 1] - self.a[:, 1]) * M_PER_DEG_LAT
        self.length = np.hypot(dx, dy)
        self.unit = np.stack([dx, dy], axis=1) / np.maximum(self.length, 1e-9)[:, None]
        self.cumulative = np.cumsum(self.length)

    def sample(self, rng: np.random.Generator, n: int, offset: tuple[float, float]):
        """``n`` points (lon, lat, road name) beside the roads."""
        idx = np.minimum(np.searchsorted(self.cumulative, rng.random(n) * self.cumulative[-1]), len(self.a) - 1)
        share = rng.random(n)
        side = np.where(rng.random(n) < 0.5, -1.0, 1.0) * rng.uniform(offset[0], offset[1], n)
        lon = self.a[idx, 0] + (self.b[idx, 0] - self.a[idx, 0]) * share - self.unit[idx, 1] * side / M_PER_DEG_LON
        lat = self.a[idx, 1] + (self.b[idx, 1] - self.a[idx, 1]) * share + self.unit[idx, 0] * side / M_PER_DEG_LAT
        return lon, lat, self.names[idx]


def _is_hutong(name: str) -> bool:
    return name.endswith(("胡同", "条", "巷"))


def _is_main(name: str) -> bool:
    return bool(name) and not _is_hutong(name)


def _is_ring(name: str) -> bool:
    return name.endswith(("环路", "大街"))


def _scaled_plan(real_count: int) -> dict[str, int]:
    """Generated count per kind so that real + generated = :data:`TARGET_TOTAL`."""
    wanted = TARGET_TOTAL - real_count
    planned = sum(n for n, _, _ in PLAN.values())
    counts = {kind: int(round(n * wanted / planned)) for kind, (n, _, _) in PLAN.items()}
    counts["C0402"] += wanted - sum(counts.values())       # street trees absorb the rounding
    return counts


def real_components(scenario: Scenario) -> list[dict]:
    """Components at real positions: facilities of component kinds, and the green spaces."""
    found = []
    for feature in scenario.source_geojson("facilities")["features"]:
        props = feature["properties"]
        kind = FACILITY_KINDS.get((props.get("kind"), props.get("type"))) or FACILITY_KINDS.get((props.get("kind"), "*"))
        if kind is None:
            continue
        lon, lat = feature["geometry"]["coordinates"][:2]
        name = props.get("name") or ""
        if kind == "C0501":
            name = f"{name}宣传栏" if name else ""
        found.append({"kind": kind, "lon": lon, "lat": lat, "name": name, "origin": "facility"})
    for feature in scenario.source_geojson("green_spaces")["features"]:
        point = shape(feature["geometry"]).representative_point()
        found.append({"kind": "C0405", "lon": point.x, "lat": point.y,
                      "name": (feature["properties"] or {}).get("name") or "", "origin": "green_space"})
    return found


def _draw(kind: str, n: int, placement: str, offset, rng, roads: dict, locator: Locator, bounds, greens):
    """``n`` located generated points of ``kind``: (lon, lat, grid, label) lists."""
    lons, lats, grids, labels = [], [], [], []
    remaining = n
    for _ in range(60):
        if remaining <= 0:
            break
        m = int(remaining * 1.3) + 16
        if placement in ("road", "main", "hutong", "ring"):
            lon, lat, label = roads[placement].sample(rng, m, offset)
        elif placement == "green":
            polygon = greens[rng.integers(0, len(greens), m)]
            lo = np.array([p.bounds for p in polygon])
            lon = lo[:, 0] + rng.random(m) * (lo[:, 2] - lo[:, 0])
            lat = lo[:, 1] + rng.random(m) * (lo[:, 3] - lo[:, 1])
            inside = shapely.contains_xy(polygon, lon, lat)   # elementwise
            lon, lat, label = lon[inside], lat[inside], np.full(int(inside.sum()), "", dtype=object)
        else:
            west, south, east, north = bounds
            lon, lat = west + rng.random(m) * (east - west), south + rng.random(m) * (north - south)
            label = np.full(m, "", dtype=object)
        lon, lat = np.round(lon, ROUND), np.round(lat, ROUND)
        grid = locator.locate(lon, lat)
        keep = np.flatnonzero(grid != "")[:remaining]
        lons += lon[keep].tolist()
        lats += lat[keep].tolist()
        grids += grid[keep].tolist()
        labels += label[keep].tolist()
        remaining -= len(keep)
    if remaining > 0:
        raise RuntimeError(f"could not place {remaining} components of {kind} inside the grids")
    return lons, lats, grids, labels


def generate(scenario: Scenario, out_dir: Path | None = None) -> dict:
    """Build the inventory; write ``components.csv.gz`` to ``out_dir`` (if given); the summary."""
    locator = Locator(scenario.grids_geojson)
    roads_geojson = scenario.source_geojson("roads")
    roads = {"road": Roads(roads_geojson), "main": Roads(roads_geojson, _is_main),
             "hutong": Roads(roads_geojson, _is_hutong), "ring": Roads(roads_geojson, _is_ring)}
    greens = np.array([shape(f["geometry"]) for f in scenario.source_geojson("green_spaces")["features"]], dtype=object)
    bounds = shapely.total_bounds(locator.polygons)
    rows: list[dict] = []
    real = real_components(scenario)
    lon = np.round(np.array([r["lon"] for r in real]), ROUND)
    lat = np.round(np.array([r["lat"] for r in real]), ROUND)
    grid = locator.locate(lon, lat)
    skipped_real = 0
    for r, x, y, g in zip(real, lon.tolist(), lat.tolist(), grid.tolist()):
        if not g:
            skipped_real += 1      # a facility just outside the district's grids
            continue
        rows.append({**r, "lon": x, "lat": y, "grid_code": g})
    for kind, n in _scaled_plan(len(rows)).items():
        _, placement, offset = PLAN[kind]
        rng = np.random.default_rng([SEED, int(kind[1:])])
        xs, ys, gs, labels = _draw(kind, n, placement, offset, rng, roads, locator, bounds, greens)
        name_zh = scenario.categories[kind].name_zh
        rows += [{"kind": kind, "lon": x, "lat": y, "grid_code": g, "name": f"{label}{name_zh}" if label else "",
                  "origin": "generated"} for x, y, g, label in zip(xs, ys, gs, labels)]
    _number_and_assign(rows, scenario)
    summary = summarize(rows, skipped_real)
    if out_dir is not None:
        summary["bytes"] = write(rows, Path(out_dir) / FILE_NAME)
    return summary


def _number_and_assign(rows: list[dict], scenario: Scenario) -> None:
    """Serials in reading order per kind; departments, status and install date (seeded per kind)."""
    rows.sort(key=lambda r: (r["kind"], -math.floor(r["lat"] / 0.001), r["lon"], r["lat"]))
    serial, kind = 0, None
    rng = None
    first_day = date(1990, 1, 1)
    span = (date(2025, 12, 31) - first_day).days
    for r in rows:
        if r["kind"] != kind:
            kind, serial = r["kind"], 0
            rng = np.random.default_rng([SEED, int(kind[1:]), 1])
        serial += 1
        r["code"] = make_code(kind, serial)
        street_office = f"street-{r['grid_code'][:9]}"
        owner = scenario.department_for(kind, r["grid_code"][:9])
        draws = rng.random(3)
        maintainer = street_office if draws[0] < STREET_MAINTAINED.get(kind, 0.0) else owner
        r["owner_department"], r["maintainer_department"] = owner, maintainer
        r["title_department"] = maintainer if maintainer == street_office else owner
        cumulative = 0.0
        for status, share in STATUS_SHARES:
            cumulative += share
            if draws[1] < cumulative:
                break
        r["status"] = status
        r["installed_on"] = (first_day + timedelta(days=int(draws[2] * span))).isoformat()


def write(rows: list[dict], path: Path) -> int:
    """The rows as gzip'd CSV with a fixed header and a zero gzip timestamp; bytes written."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow([r["code"], r["kind"], r["name"], f"{r['lon']:.6f}", f"{r['lat']:.6f}", r["grid_code"],
                         r["owner_department"], r["title_department"], r["maintainer_department"], r["status"],
                         r["installed_on"], r["origin"]])
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(text.getvalue().encode("utf-8"))
    Path(path).write_bytes(buffer.getvalue())
    return len(buffer.getvalue())


def read(path: Path) -> list[dict]:
    """The committed inventory as dicts (lon/lat as floats, empty name as "")."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["lon"], r["lat"] = float(r["lon"]), float(r["lat"])
    return rows


def summarize(rows: list[dict], skipped_real: int) -> dict:
    by_kind: dict[str, int] = {}
    by_origin: dict[str, int] = {}
    for r in rows:
        by_kind[r["kind"]] = by_kind.get(r["kind"], 0) + 1
        by_origin[r["origin"]] = by_origin.get(r["origin"], 0) + 1
    by_class: dict[str, int] = {}
    for kind, n in by_kind.items():
        by_class[kind[1:3]] = by_class.get(kind[1:3], 0) + n
    return {"components": len(rows), "by_origin": by_origin, "by_class": dict(sorted(by_class.items())),
            "by_kind": dict(sorted(by_kind.items())), "real_outside_grids": skipped_real}


class ComponentIndex:
    """The committed inventory for the simulator: the nearest component of a kind to a point,
    and a component's maintainer (a k-d tree per kind in a local metric plane)."""

    def __init__(self, path: Path):
        from scipy.spatial import cKDTree
        by_kind: dict[str, list[int]] = {}
        rows = read(path)
        self.codes = [r["code"] for r in rows]
        self.maintainer = {r["code"]: r["maintainer_department"] for r in rows}
        xy = np.array([(r["lon"] * M_PER_DEG_LON, r["lat"] * M_PER_DEG_LAT) for r in rows])
        for i, r in enumerate(rows):
            by_kind.setdefault(r["kind"], []).append(i)
        self.trees = {kind: (cKDTree(xy[idx]), np.array(idx)) for kind, idx in by_kind.items()}

    def nearest(self, kind: str, lon: float, lat: float, within_m: float = 80.0) -> str | None:
        """The code of the component of ``kind`` nearest to (lon, lat), if one lies within ``within_m``."""
        found = self.trees.get(kind)
        if found is None:
            return None
        tree, idx = found
        distance, i = tree.query((lon * M_PER_DEG_LON, lat * M_PER_DEG_LAT))
        return self.codes[idx[i]] if distance <= within_m else None


_INDEXES: dict[Path, ComponentIndex] = {}


def component_index(scenario: Scenario) -> ComponentIndex | None:
    """The scenario's inventory index (built once per process), or None without an inventory."""
    path = Path(scenario.root) / FILE_NAME
    if not path.exists():
        return None
    if path not in _INDEXES:
        _INDEXES[path] = ComponentIndex(path)
    return _INDEXES[path]
