"""GCJ-02 ↔ WGS-84 conversion (pure; standard library only).

The system keeps one coordinate system inside: GCJ-02, the "Mars" datum that Chinese map
providers (AMap/Gaode, Tencent) and all the scenario data use.  OpenStreetMap and GPS use
WGS-84; in Beijing the two differ by several hundred metres.  When a wall is given tiles in
WGS-84 (``CITYGRID_TILE_CRS=WGS-84``) our vectors and markers are converted *for display
only*, at the edge, with :func:`gcj02_to_wgs84`.

The forward transform (:func:`wgs84_to_gcj02`) is the published public algorithm (a
Krasovsky-ellipsoid offset built from sines of the position); it has no closed-form
inverse, so :func:`gcj02_to_wgs84` inverts it by fixed-point iteration, which converges to
well under a millimetre in a few rounds.  Outside mainland China the datum is not shifted.
"""
from __future__ import annotations

import math

_A = 6378245.0                      # Krasovsky 1940 semi-major axis used by GCJ-02
_EE = 0.00669342162296594323        # its first eccentricity squared


def out_of_china(lon: float, lat: float) -> bool:
    """True where GCJ-02 applies no offset (a coarse bounding box of mainland China)."""
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def _offset(lon: float, lat: float) -> tuple[float, float]:
    """The GCJ-02 shift (degrees) at a WGS-84 position."""
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """WGS-84 (GPS, OpenStreetMap) → GCJ-02 (AMap, our data)."""
    if out_of_china(lon, lat):
        return lon, lat
    dlon, dlat = _offset(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float, rounds: int = 8, tolerance: float = 1e-10) -> tuple[float, float]:
    """GCJ-02 → WGS-84 by iterating the forward transform.

    The shift varies slowly with position, so each round cuts the error by ~1,000×:
    three rounds reach ~1e-10° (10 µm); ``tolerance`` stops as soon as a round moves less."""
    if out_of_china(lon, lat):
        return lon, lat
    wlon, wlat = lon, lat
    for _ in range(rounds):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        dlon, dlat = glon - lon, glat - lat
        wlon, wlat = wlon - dlon, wlat - dlat
        if abs(dlon) < tolerance and abs(dlat) < tolerance:
            break
    return wlon, wlat


def converter(data_crs: str, display_crs: str):
    """A (lon, lat) → (lon, lat) function from ``data_crs`` to ``display_crs``, or None if equal."""
    if data_crs == display_crs:
        return None
    if (data_crs, display_crs) == ("GCJ-02", "WGS-84"):
        return gcj02_to_wgs84
    if (data_crs, display_crs) == ("WGS-84", "GCJ-02"):
        return wgs84_to_gcj02
    raise ValueError(f"cannot convert {data_crs} to {display_crs} (GCJ-02 and WGS-84 only)")
