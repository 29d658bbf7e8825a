"""From ``citygrid city init``'s request to a written scenario folder: read the input (a box,
the points of a CSV export or region polygons), convert it to the stored GCJ-02, generate the
territory (:mod:`datasource.tools.citygen`) and write the files (:mod:`datasource.tools.cityfiles`).

The caller adds what other layers own (the grid inspectors, the check that the folder loads).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape

from dashboard.domain.crs import out_of_china, wgs84_to_gcj02
from datasource.tools import cityfiles
from datasource.tools.citygen import CityGenError, Lattice, kept_cells, polygon_city, robust_extent, square_city

RULES = {
    "bbox": "every cell of the box",
    "points": "cells holding at least one point{fill}; points outside the robust extent ({trim} %–{top} % quantiles "
              "widened by 10 %) are outliers and in no grid",
    "polygons": "cells overlapping a supplied polygon, clipped to it",
}


@dataclass
class CityRequest:
    directory: Path
    bbox: tuple[float, float, float, float] | None
    points_file: Path | None
    lat_col: str
    lon_col: str
    polygons: Path | None
    name_property: str
    crs: str                      # "WGS84" or "GCJ02" (of the input)
    cell_m: float
    community_cells: int
    street_communities: int
    district_code: str
    name_en: str
    name_zh: str
    timezone: str
    country: str
    subdivision: str | None
    work_hours: tuple[str, str]
    trim: float = 0.5
    fill: bool = True
    inspectors: bool = True
    command: str = "citygrid city init"


def to_gcj02(lon: np.ndarray, lat: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Input positions in the stored datum (WGS-84 is shifted inside mainland China only)."""
    if crs == "GCJ02" or len(lon) == 0:
        return lon, lat
    inside = ~np.array([out_of_china(x, y) for x, y in zip(lon.tolist(), lat.tolist())], dtype=bool)
    if not inside.any():
        return lon, lat
    lon, lat = lon.copy(), lat.copy()
    for i in np.nonzero(inside)[0]:
        lon[i], lat[i] = wgs84_to_gcj02(float(lon[i]), float(lat[i]))
    return lon, lat


def read_points(path: Path, lat_col: str, lon_col: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Longitude and latitude columns of a CSV (quoted newlines allowed); NaN where not a number."""
    import pandas as pd
    try:
        frame = pd.read_csv(path, usecols=[lat_col, lon_col], dtype=str, keep_default_na=False,
                            encoding="utf-8-sig", on_bad_lines="skip")
    except ValueError as exc:   # a missing column names itself in pandas' message
        raise CityGenError(f"{path}: {exc} (choose the columns with --lat and --lon)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CityGenError(f"{path}: cannot read it as a UTF-8 CSV ({exc})") from None
    lon = pd.to_numeric(frame[lon_col].str.strip(), errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(frame[lat_col].str.strip(), errors="coerce").to_numpy(dtype=float)
    return lon, lat, len(frame)


def read_polygons(path: Path, name_property: str, crs: str) -> list[tuple[str, object]]:
    """``(name, geometry)`` of each polygon feature, in GCJ-02."""
    try:
        features = json.loads(Path(path).read_text(encoding="utf-8"))["features"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CityGenError(f"{path}: not a GeoJSON FeatureCollection ({exc})") from None
    out = []
    for n, feature in enumerate(features, 1):
        try:
            geom = shape(feature["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
            continue
        name = (feature.get("properties") or {}).get(name_property)
        name = str(name).strip() if name not in (None, "") else f"R{n}"
        if crs == "WGS84":
            geom = shapely.transform(geom, lambda c: np.column_stack(to_gcj02(c[:, 0], c[:, 1], crs)))
        out.append((name, geom))
    if not out:
        raise CityGenError(f"{path}: no Polygon or MultiPolygon feature")
    return out


def make_city(request: CityRequest) -> dict:
    """Generate and write the folder; the summary figures (streets, communities, grids, points …)."""
    extra: dict = {}
    if request.polygons:
        regions = read_polygons(request.polygons, request.name_property, request.crs)
        bounds = shapely.total_bounds([g for _, g in regions])
        lattice = Lattice.over(tuple(float(v) for v in bounds), request.cell_m)
        territory = polygon_city(lattice, regions, request.district_code, request.community_cells)
        rule, extent = RULES["polygons"], tuple(float(v) for v in bounds)
    else:
        if request.points_file:
            lon, lat, rows = read_points(request.points_file, request.lat_col, request.lon_col)
            points = robust_extent(lon, lat, trim=request.trim, cell_m=request.cell_m)
            glon, glat = to_gcj02(points.lon, points.lat, request.crs)
            extent = (float(glon.min()), float(glat.min()), float(glon.max()), float(glat.max()))
            lattice = Lattice.over(extent, request.cell_m)
            keep = kept_cells(lattice, glon, glat, fill=request.fill)
            rule = RULES["points"].format(trim=request.trim, top=100 - request.trim,
                                          fill=", one-cell gaps closed and enclosed holes filled" if request.fill else "")
            extra = {"points_read": rows, "points_used": len(points.lon), "garbage": points.garbage,
                     "outliers": points.outliers}
        else:
            west, south, east, north = request.bbox
            corners = to_gcj02(np.array([west, east]), np.array([south, north]), request.crs)
            extent = (float(corners[0][0]), float(corners[1][0]), float(corners[0][1]), float(corners[1][1]))
            lattice = Lattice.over(extent, request.cell_m)
            keep = np.ones(lattice.shape, dtype=bool)
            rule = RULES["bbox"]
        territory = square_city(lattice, keep, request.district_code, request.community_cells,
                                request.street_communities)
    meta = {"command": request.command, "input_crs": request.crs, "extent": [round(v, 6) for v in extent],
            "cell_m": request.cell_m, "community_cells": request.community_cells,
            "street_communities": None if request.polygons else request.street_communities, "rule": rule, **extra}
    calendar = cityfiles.calendar(request.timezone, request.country, request.subdivision, request.work_hours)
    summary = cityfiles.write_scenario(request.directory, territory, name_zh=request.name_zh,
                                       name_en=request.name_en, calendar_config=calendar, meta=meta)
    return {**summary, **extra, "area_km2": round(sum(p["area_m2"] for p, _ in territory.streets) / 1e6, 2)}
