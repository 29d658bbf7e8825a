"""A static map as SVG text, drawn offline from the scenario's GeoJSON: the district, its
streets with their names, and chosen unit grids highlighted — the briefing's map of
unusual places, the same file on the page (an ``<img>``) and in the PDF.

Longitude/latitude are projected equirectangularly at the district's mean latitude
(distortion well under 1 % across a district), simplified to half a pixel and written
with one decimal.  Every text (street names, marker numbers) is XML-escaped.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from xml.sax.saxutils import escape

import shapely
from shapely.geometry import shape

PALETTE = ("#eef2f7", "#e4ebf3")   # street fills, alternating
FLAGGED, CLUSTER, STREET_FLAG = "#d7263d", "#f5a623", "#d7263d"


@dataclass(frozen=True)
class Frame:
    west: float
    north: float
    kx: float
    ky: float
    width: int
    height: int

    def xy(self, coords):
        return [((lon - self.west) * self.kx, (self.north - lat) * self.ky) for lon, lat in coords]


class SvgMap:
    """The district base (streets and labels) projected once; :meth:`draw` adds highlights."""

    def __init__(self, streets_geojson: dict, grids_geojson: dict, width: int = 440, margin: int = 8):
        self.streets = [(f["properties"]["code"], f["properties"].get("name", ""), shape(f["geometry"]))
                        for f in streets_geojson["features"]]
        west, south, east, north = shapely.union_all([g for _, _, g in self.streets]).bounds
        kx = (width - 2 * margin) / (east - west)
        ky = kx / math.cos(math.radians((north + south) / 2))
        height = int((north - south) * ky + 2 * margin)
        self.frame = Frame(west - margin / kx, north + margin / ky, kx, ky, width, height)
        self.grids = {f["properties"]["code"]: shape(f["geometry"]) for f in grids_geojson["features"]}
        self._base = self._draw_base()

    def _path(self, geom) -> str:
        projected = shapely.transform(geom, lambda c: _project(c, self.frame))
        projected = shapely.simplify(projected, 0.5, preserve_topology=True)
        parts = []
        for polygon in getattr(projected, "geoms", [projected]):
            for ring in [polygon.exterior, *polygon.interiors]:
                points = list(ring.coords)
                if len(points) < 3:
                    continue
                parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in points[:-1]) + "Z")
        return "".join(parts)

    def _draw_base(self) -> str:
        out = []
        for i, (code, _name, geom) in enumerate(self.streets):
            out.append(f'<path d="{self._path(geom)}" fill="{PALETTE[i % 2]}" stroke="#8a9bb3" stroke-width="0.8" '
                       f'data-street="{escape(code)}"/>')
        return "".join(out)

    def _labels(self, names: dict[str, str]) -> str:
        out = []
        for code, name, geom in self.streets:
            x, y = self.frame.xy([geom.representative_point().coords[0]])[0]
            out.append(f'<text x="{x:.1f}" y="{y:.1f}" class="lbl">{escape(names.get(code, name))}</text>')
        return "".join(out)

    def draw(self, flagged=(), cluster=(), streets=(), markers: list[tuple[str, str]] = (),
             names: dict[str, str] | None = None, legend: list[tuple[str, str]] = ()) -> str:
        """SVG text: cluster grids (orange), flagged grids (red), flagged streets (red
        outline), numbered ``markers`` [(grid or street code, label)] and a ``legend``
        [(colour, text)]; street names from ``names`` (default: the GeoJSON's)."""
        f = self.frame
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {f.width} {f.height + 28}" '
                 f'width="{f.width}" height="{f.height + 28}" font-family="Noto Sans CJK SC, Noto Sans SC, sans-serif">',
                 "<style>.lbl{font-size:8.5px;fill:#51627a;text-anchor:middle}"
                 ".num{font-size:10px;font-weight:700;fill:#fff;text-anchor:middle}"
                 ".leg{font-size:11px;fill:#333}</style>",
                 f'<rect width="{f.width}" height="{f.height + 28}" fill="#ffffff"/>', self._base]
        for code in sorted(set(cluster) - set(flagged)):
            if code in self.grids:
                parts.append(f'<path d="{self._path(self.grids[code])}" fill="{CLUSTER}" fill-opacity="0.75" '
                             f'stroke="{CLUSTER}" stroke-width="0.6" data-grid="{escape(code)}" class="cluster"/>')
        for code in sorted(flagged):
            if code in self.grids:
                parts.append(f'<path d="{self._path(self.grids[code])}" fill="{FLAGGED}" stroke="#7a0010" '
                             f'stroke-width="0.8" data-grid="{escape(code)}" class="flagged"/>')
        by_code = {code: geom for code, _name, geom in self.streets}
        for code in sorted(streets):
            if code in by_code:
                parts.append(f'<path d="{self._path(by_code[code])}" fill="none" stroke="{STREET_FLAG}" '
                             f'stroke-width="2.5" stroke-dasharray="6 3" data-street-flag="{escape(code)}"/>')
        parts.append(self._labels(names or {}))
        for code, label in markers:
            geom = self.grids.get(code) or by_code.get(code)
            if geom is None:
                continue
            x, y = f.xy([geom.representative_point().coords[0]])[0]
            parts.append(f'<circle cx="{x:.1f}" cy="{y - 11:.1f}" r="7" fill="#1f2d45" stroke="#fff" stroke-width="1"/>'
                         f'<text x="{x:.1f}" y="{y - 7.5:.1f}" class="num">{escape(label)}</text>')
        x = 10
        for colour, text in legend:
            parts.append(f'<rect x="{x}" y="{f.height + 8}" width="14" height="12" fill="{colour}"/>'
                         f'<text x="{x + 19}" y="{f.height + 18}" class="leg">{escape(text)}</text>')
            x += 30 + 12 * len(text)
        parts.append("</svg>")
        return "".join(parts)


def _project(coords, frame: Frame):
    out = coords.copy()
    out[:, 0] = (coords[:, 0] - frame.west) * frame.kx
    out[:, 1] = (frame.north - coords[:, 1]) * frame.ky
    return out
