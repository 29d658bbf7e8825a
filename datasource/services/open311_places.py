"""Where an Open311 request lies: WGS-84 in, the system's GCJ-02 inside, a grid for every case.

* :meth:`Places.place` converts a client's WGS-84 position (the specification's datum) to
  GCJ-02 (:mod:`dashboard.domain.crs`) and finds its unit grid.  A point **outside every grid** is
  accepted: the case is placed on the nearest point of the nearest grid — every case of the
  product lies in a grid, which every page, figure and rebuild relies on — and the report keeps
  the position as sent with the distance, so the supervision centre sees it and decides (file
  or reject), and the Open311 answer says so (``service_notice``) and gives the position back.
* :meth:`Places.by_address` places a request sent with ``address_string`` only: the longest
  name of a real facility (``source/facilities.geojson``), a community or a street the text
  contains; None when it names none of them (the door answers 400: send ``lat`` and ``long``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

from shapely.geometry import Point
from shapely.ops import nearest_points

from dashboard.domain.crs import gcj02_to_wgs84, wgs84_to_gcj02

#: shortest facility name matched inside an address (shorter ones match by accident)
MIN_NAME = 3


@dataclass(frozen=True)
class Placed:
    """A case position (GCJ-02) and, when the point lay in no grid, how far off it was."""

    lon: float
    lat: float
    outside_m: int | None = None      # metres from the nearest grid, None when inside one
    sent: tuple[float, float] | None = None   # the GCJ-02 point as sent, when moved


def metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine; good to well under 1 % at these scales)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371008.8 * math.asin(min(1.0, math.sqrt(h)))


class Places:
    """Positions and addresses of Open311 requests on one System's grids."""

    def __init__(self, system):
        self.system = system
        self.scenario = system.scenario

    @property
    def locator(self):
        return self.system.locator

    def place(self, lon_wgs84: float, lat_wgs84: float) -> Placed:
        """A WGS-84 position as the case's GCJ-02 position, snapped into the nearest grid when outside."""
        lon, lat = wgs84_to_gcj02(lon_wgs84, lat_wgs84)
        return self.inside(lon, lat)

    def inside(self, lon: float, lat: float) -> Placed:
        """A GCJ-02 point in a grid as it is, else the nearest point of the nearest grid."""
        if self.locator.locate(lon, lat) is not None:
            return Placed(lon, lat)
        point = Point(lon, lat)
        index = int(self.locator.tree.nearest(point))
        polygon = self.locator.polygons[index]
        edge = nearest_points(polygon, point)[0]
        spot = edge if self.locator.locate(edge.x, edge.y) is not None else polygon.representative_point()
        return Placed(float(spot.x), float(spot.y), int(round(metres(lon, lat, spot.x, spot.y))), (lon, lat))

    # ------------------------------------------------------------------ addresses
    @cached_property
    def _names(self) -> list[tuple[str, float, float]]:
        """(name, lon, lat) of facilities, communities and streets, longest name first."""
        names: dict[str, tuple[float, float]] = {}
        try:
            facilities = self.scenario.source_geojson("facilities")["features"]
        except Exception:  # noqa: BLE001 - a scenario without the layer places by areas only
            facilities = []
        for feature in facilities:
            name = str(feature["properties"].get("name") or "")
            if len(name) >= MIN_NAME and feature["geometry"]["type"] == "Point":
                x, y = feature["geometry"]["coordinates"][:2]
                if self.locator.locate(x, y) is not None:
                    names.setdefault(name, (float(x), float(y)))
        for code, name in list(self.scenario.communities.items()) + list(self.scenario.streets.items()):
            spot = self._area_point(code)
            if name and spot is not None:
                names.setdefault(name, spot)
        return sorted(((n, x, y) for n, (x, y) in names.items()), key=lambda item: -len(item[0]))

    def _area_point(self, code: str) -> tuple[float, float] | None:
        """A point inside the community or street ``code`` (inside its first grid)."""
        areas = self.locator.communities if len(code) == 12 else self.locator.streets
        for index, area in enumerate(areas):
            if area == code:
                spot = self.locator.polygons[index].representative_point()
                return float(spot.x), float(spot.y)
        return None

    def by_address(self, address: str) -> tuple[str, Placed] | None:
        """(the name found, its position) for an address naming a known place, else None."""
        for name, lon, lat in self._names:
            if name in address:
                return name, Placed(lon, lat)
        return None


def to_wgs84(lon: float | None, lat: float | None) -> tuple[float | None, float | None]:
    """A stored GCJ-02 position as WGS-84 for the answer (rounded to ~1 cm)."""
    if lon is None or lat is None or not (math.isfinite(lon) and math.isfinite(lat)):
        return None, None
    x, y = gcj02_to_wgs84(lon, lat)
    return round(x, 7), round(y, 7)


__all__ = ["Places", "Placed", "metres", "to_wgs84"]
