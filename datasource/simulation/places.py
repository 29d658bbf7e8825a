"""Where simulated problems are found: near real facilities and along real roads.

A broken manhole cover lies on a road, rubbish piles up by a market, cars park illegally
at a school gate: categories with ``facility_kinds`` are placed within 30 m of a real
facility of one of those kinds, the others within 10 m of a real road (a point along a
random stretch of road, weighted by length); a scenario without roads (a generated city)
places them uniformly in its grids, weighted by area.  Candidates that fall in no unit grid are
drawn again; positions are located in bulk (one ``locate_many`` per round) because one
look-up per point would dominate a 120,000-case backfill.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate

FACILITY_JITTER_M = 30.0
ROAD_JITTER_M = 10.0
M_PER_DEG_LAT = 110_540.0
MAX_ROUNDS = 50


@dataclass(frozen=True, slots=True)
class Place:
    lon: float
    lat: float
    grid: str
    community: str
    street: str
    label: str   # what a reporter would call the place: road or facility name ("" if unnamed)


class PlaceSampler:
    """Draws located positions for categories, from a scenario's real map layers."""

    def __init__(self, scenario, locator):
        self.scenario, self.locator = scenario, locator
        self.facilities: dict[str, list[tuple[float, float, str]]] = {}
        for feature in scenario.source_geojson("facilities")["features"]:
            lon, lat = feature["geometry"]["coordinates"][:2]
            props = feature["properties"]
            self.facilities.setdefault(props.get("kind", ""), []).append((lon, lat, props.get("name") or ""))
        self.segments: list[tuple[float, float, float, float, str]] = []
        lengths: list[float] = []
        for feature in scenario.source_geojson("roads")["features"]:
            name = feature["properties"].get("name") or ""
            coords = feature["geometry"]["coordinates"]
            for (x1, y1), (x2, y2) in zip(coords, coords[1:]):
                self.segments.append((x1, y1, x2, y2, name))
                lengths.append(math.hypot((x2 - x1) * math.cos(math.radians(y1)), y2 - y1))
        self.cumulative = list(accumulate(lengths))
        # A scenario without roads (a generated city): uniform positions in the grids, by area.
        self.grid_boxes = [] if self.segments else [p.bounds for p in locator.polygons]
        self.grid_cumulative = list(accumulate(p.area for p in locator.polygons)) if self.grid_boxes else []
        self.kinds = {code: tuple(k for k in c.facility_kinds if self.facilities.get(k))
                      for code, c in scenario.categories.items()}

    def candidate(self, rng, category: str) -> tuple[float, float, str]:
        """One unlocated position (lon, lat, label) for ``category``."""
        kinds = self.kinds.get(category)
        if kinds:
            lon, lat, name = rng.choice(self.facilities[rng.choice(kinds)])
            return (*_jitter(rng, lon, lat, FACILITY_JITTER_M), name)
        if not self.segments:
            index = bisect_right(self.grid_cumulative, rng.random() * self.grid_cumulative[-1])
            west, south, east, north = self.grid_boxes[min(index, len(self.grid_boxes) - 1)]
            return (round(west + (east - west) * rng.random(), 6), round(south + (north - south) * rng.random(), 6), "")
        index = bisect_right(self.cumulative, rng.random() * self.cumulative[-1])
        x1, y1, x2, y2, name = self.segments[min(index, len(self.segments) - 1)]
        share = rng.random()
        return (*_jitter(rng, x1 + (x2 - x1) * share, y1 + (y2 - y1) * share, ROAD_JITTER_M), name)

    def sample(self, rng, categories: list[str]) -> list[Place]:
        """A located :class:`Place` for each category, in order (deterministic for ``rng``)."""
        places: list[Place | None] = [None] * len(categories)
        todo = list(range(len(categories)))
        for _ in range(MAX_ROUNDS):
            if not todo:
                return places  # type: ignore[return-value]
            candidates = [self.candidate(rng, categories[i]) for i in todo]
            found = self.locator.locate_many([(lon, lat) for lon, lat, _ in candidates])
            missed = []
            for i, (lon, lat, label), where in zip(todo, candidates, found):
                if where is None:
                    missed.append(i)
                else:
                    places[i] = Place(lon, lat, where[0], where[1], where[2], label)
            todo = missed
        raise RuntimeError(f"could not place {len(todo)} cases inside the grids after {MAX_ROUNDS} rounds")


def _jitter(rng, lon: float, lat: float, metres: float) -> tuple[float, float]:
    """A uniform random point within ``metres`` of (lon, lat), rounded to 6 decimals (~0.1 m)."""
    r = metres * math.sqrt(rng.random())
    angle = rng.random() * math.tau
    dlat = r * math.sin(angle) / M_PER_DEG_LAT
    dlon = r * math.cos(angle) / (M_PER_DEG_LAT * math.cos(math.radians(lat)))
    return round(lon + dlon, 6), round(lat + dlat, 6)
