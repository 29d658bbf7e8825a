"""The generator of a new city's grids (``datasource/tools/citygen.py``), by properties: the
cells tile the extent without overlap, every kept data point lies in exactly one grid, the
codes are unique and in Dongcheng's formats, one point in the ocean does not blow the extent,
supplied polygons are tiled exactly; and the zone offsets the reports add in SQL (for zones
with daylight-saving time) agree with Python's zone rules."""
from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings, strategies as st
from shapely.geometry import Point, box

from dashboard.domain.codes import community_of, is_community_code, is_grid_code, is_street_code, street_of
from datasource.services.zone_sql import offset_sql, transitions
from datasource.tools.citygen import (CityGenError, Lattice, block_name, kept_cells, metres_per_degree, polygon_city,
                                      robust_extent, square_city)

DISTRICT = "990100"
SETTINGS = dict(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_tiles(grids: list, area: float | None = None) -> None:
    """No two grids overlap (their areas add up to their union's) and neighbours share edges."""
    geoms = [g for _, g in grids]
    union = shapely.union_all(geoms)
    total = sum(g.area for g in geoms)
    assert total == pytest.approx(union.area, rel=1e-9)
    if area is not None:
        assert union.area == pytest.approx(area, rel=1e-9)
    assert bool(shapely.coverage_is_valid(np.array(geoms, dtype=object)))


def assert_codes(city) -> None:
    grids = [p for p, _ in city.grids]
    codes = [p["code"] for p in grids]
    assert len(set(codes)) == len(codes)
    assert all(is_grid_code(c) and c.startswith(DISTRICT) for c in codes)
    assert all(community_of(p["code"]) == p["community_code"] and street_of(p["code"]) == p["street_code"]
               for p in grids)
    communities = {p["code"]: p for p, _ in city.communities}
    streets = {p["code"] for p, _ in city.streets}
    assert all(is_community_code(c) for c in communities) and all(is_street_code(s) for s in streets)
    assert {p["community_code"] for p in grids} == set(communities)
    assert {p["street_code"] for p in communities.values()} == streets
    assert all(p["grid_count"] == sum(1 for g in grids if g["community_code"] == code)
               for code, p in communities.items())
    # numbered from 001 without gaps at each level
    for level, width in ((codes, 15), (list(communities), 12), (sorted(streets), 9)):
        parents: dict[str, list[int]] = {}
        for code in level:
            parents.setdefault(code[:width - 3], []).append(int(code[-3:]))
        assert all(sorted(n) == list(range(1, len(n) + 1)) for n in parents.values())


def square_order(city) -> None:
    """Inside a community, grid numbers run north→south, then west→east."""
    by_community: dict[str, list] = {}
    for props, geom in city.grids:
        by_community.setdefault(props["community_code"], []).append((props["code"], geom.bounds))
    for items in by_community.values():
        keys = [(-round(b[3], 6), round(b[0], 6)) for _, b in sorted(items)]
        assert keys == sorted(keys)


extents = st.tuples(st.floats(-179, 170), st.floats(-60, 60), st.floats(0.002, 0.03), st.floats(0.002, 0.03))
cells = st.sampled_from([100.0, 137.5, 250.0])


@settings(**SETTINGS)
@given(extent=extents, cell=cells, k=st.integers(1, 6), m=st.integers(1, 4))
def test_cells_of_a_box_tile_it_without_overlap(extent, cell, k, m):
    west, south, dx, dy = extent
    bbox = (west, south, west + dx, south + dy)
    lattice = Lattice.over(bbox, cell)
    city = square_city(lattice, np.ones(lattice.shape, dtype=bool), DISTRICT, k, m)
    assert_tiles(city.grids)
    union = shapely.union_all([g for _, g in city.grids])
    assert union.covers(box(*bbox))                        # the whole extent is tiled …
    assert lattice.xs[-2] <= bbox[2] and lattice.ys[-2] >= bbox[1]   # … by no more columns/rows than needed
    side_lon = (lattice.xs[1] - lattice.xs[0]) * lattice.m_per_deg[0]
    assert side_lon == pytest.approx(cell, rel=1e-3)       # squares of the asked size
    assert_codes(city)
    square_order(city)
    assert shapely.union_all([g for _, g in city.streets]).equals(union)
    assert city.district.area == pytest.approx(union.area, rel=1e-9)


@st.composite
def clustered_points(draw):
    """A few clusters of points a few hundred metres wide somewhere on Earth."""
    lon0, lat0 = draw(st.floats(-170, 170)), draw(st.floats(-55, 55))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    centres = rng.uniform([-0.015, -0.015], [0.015, 0.015], size=(draw(st.integers(1, 4)), 2))
    points = np.concatenate([c + rng.normal(0, draw(st.floats(0.0005, 0.004)), size=(draw(st.integers(5, 80)), 2))
                             for c in centres])
    return lon0 + points[:, 0], lat0 + points[:, 1]


@settings(**SETTINGS)
@given(points=clustered_points(), cell=cells, fill=st.booleans())
def test_every_kept_point_lies_in_exactly_one_grid(points, cell, fill):
    lon, lat = points
    extent = robust_extent(lon, lat, cell_m=cell)
    lattice = Lattice.over(extent.bbox, cell)
    city = square_city(lattice, kept_cells(lattice, extent.lon, extent.lat, fill=fill), DISTRICT)
    assert_tiles(city.grids)
    assert_codes(city)
    geoms = np.array([g for _, g in city.grids], dtype=object)
    tree = shapely.STRtree(geoms)
    pts = shapely.points(np.column_stack([extent.lon, extent.lat]))
    covering = np.bincount(tree.query(pts, predicate="covered_by")[0], minlength=len(pts))
    inside = np.bincount(tree.query(pts, predicate="within")[0], minlength=len(pts))
    assert (covering >= 1).all()            # no kept point is left outside every grid
    assert (inside <= 1).all()              # and none is inside two
    # the half-open rule picks a grid that covers the point (edges go to one side only)
    row, col = lattice.cell_of(extent.lon, extent.lat)
    assert all(lattice.cell_box(r, c).covers(Point(x, y)) for r, c, x, y in
               zip(row.tolist(), col.tolist(), extent.lon.tolist(), extent.lat.tolist()))
    if not fill:   # only cells with points
        occupied = {(r, c) for r, c in zip(row.tolist(), col.tolist())}
        assert len(city.grids) == len(occupied)


@settings(**SETTINGS)
@given(points=clustered_points(), outlier=st.tuples(st.floats(-180, 180), st.floats(-90, 90)))
def test_one_point_in_the_ocean_does_not_blow_the_extent(points, outlier):
    lon, lat = points
    lon = np.concatenate([np.repeat(lon, 3), [outlier[0]]])   # ≥ 15 points: the outlier is < 1 %
    lat = np.concatenate([np.repeat(lat, 3), [outlier[1]]])
    clean = robust_extent(lon[:-1], lat[:-1])
    with_outlier = robust_extent(lon, lat)
    west, south, east, north = with_outlier.bbox
    # the extent never reaches beyond the clean points' own box by more than the rule's margin —
    # a tenth of the box, at least two cells (a point 150 m from the others is no ocean) — so no
    # continent for one bad point
    cw, cs, ce, cn = lon[:-1].min(), lat[:-1].min(), lon[:-1].max(), lat[:-1].max()
    m_lon, m_lat = metres_per_degree((cs + cn) / 2)
    pad_lon, pad_lat = max(0.1 * (ce - cw), 200 / m_lon) * 1.001, max(0.1 * (cn - cs), 200 / m_lat) * 1.001
    assert cw - pad_lon <= west <= east <= ce + pad_lon and cs - pad_lat <= south <= north <= cn + pad_lat
    w, s, e, n = clean.bbox
    near = (w - 0.1 * (e - w) <= outlier[0] <= e + 0.1 * (e - w)) and (s - 0.1 * (n - s) <= outlier[1] <= n + 0.1 * (n - s))
    if not near:
        assert with_outlier.outliers + with_outlier.garbage >= 1


def test_garbage_coordinates_are_counted_not_used():
    lon = [-122.41, "x", None, 0, 200, -122.42, float("nan")]
    lat = [37.77, 37.7, 37.7, 0, 37.7, 37.78, 37.7]
    extent = robust_extent(np.array([float(v) if isinstance(v, (int, float)) and v is not None else np.nan
                                     for v in lon]), np.array(lat, dtype=float))
    assert extent.garbage == 5 and len(extent.lon) == 2
    with pytest.raises(CityGenError, match="no usable coordinates"):
        robust_extent(np.array([np.nan]), np.array([np.nan]))


def test_supplied_polygons_are_tiled_exactly_and_become_the_streets():
    west = box(-122.45, 37.75, -122.4315, 37.7712)
    east = shapely.Polygon([(-122.4315, 37.75), (-122.41, 37.752), (-122.412, 37.7712), (-122.4315, 37.7712)])
    overlapping = box(-122.44, 37.76, -122.42, 37.765)          # overlaps both: an earlier one keeps it
    regions = [("West", west), ("East", east), ("Overlap", overlapping)]
    lattice = Lattice.over(shapely.total_bounds([west, east]).tolist(), 100)
    city = polygon_city(lattice, regions, DISTRICT, community_cells=4)
    assert [p["name"] for p, _ in city.streets] == ["West", "East"]     # the overlap had nothing left
    assert_codes(city)
    assert_tiles(city.grids, area=shapely.union(west, east).area)
    for props, geom in city.grids:     # every grid inside its own street
        street = next(g for p, g in city.streets if p["code"] == props["street_code"])
        assert street.buffer(1e-9).covers(geom)


def test_block_names_read_like_a_map_index():
    assert [block_name(0, 0), block_name(1, 2), block_name(25, 9), block_name(26, 0)] == ["A1", "B3", "Z10", "AA1"]


def test_too_many_streets_for_three_digit_codes_is_a_clear_error():
    lattice = Lattice.over((0.5, 0.5, 2.0, 2.0), 500)
    with pytest.raises(CityGenError, match="3-digit codes"):
        square_city(lattice, np.ones(lattice.shape, dtype=bool), DISTRICT, 2, 1)


# --------------------------------------------------------------- zones with daylight-saving time

@settings(max_examples=100, deadline=None)
@given(at=st.integers(int(datetime(2000, 1, 1, tzinfo=timezone.utc).timestamp()),
                      int(datetime(2060, 12, 31, tzinfo=timezone.utc).timestamp())),
       zone=st.sampled_from(["America/Los_Angeles", "Europe/London", "Australia/Sydney", "Asia/Shanghai"]))
def test_the_offset_sql_gives_python_s_local_date(at, zone):
    tz = ZoneInfo(zone)
    instant = datetime.fromtimestamp(at, timezone.utc)
    text = instant.strftime("%Y-%m-%d %H:%M:%S")
    epoch = f"((julianday('{text}') - 2440587.5) * 86400.0)"
    offset, day = sqlite3.connect(":memory:").execute(
        f"SELECT {offset_sql(tz, epoch)}, date('{text}', printf('%+d seconds', {offset_sql(tz, epoch)}))").fetchone()
    assert offset == int(instant.astimezone(tz).utcoffset().total_seconds())
    assert day == instant.astimezone(tz).date().isoformat()


def test_a_zone_without_daylight_saving_keeps_its_constant():
    assert transitions(ZoneInfo("Asia/Shanghai")) == ((946684800, 28800),)
    assert offset_sql(ZoneInfo("Asia/Shanghai"), "anything") == "28800"
    assert len(transitions(ZoneInfo("America/Los_Angeles"))) > 100
