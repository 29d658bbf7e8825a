"""The components map layer: 168,339 points clustered on the server, by class.

Below :data:`POINTS_FROM_ZOOM` the components inside the viewport are counted per major
class and per cell of a square grid whose cell is :data:`CELL_PX` screen pixels at that zoom
(one ``GROUP BY`` in SQL — the supercluster idea without a client library); each cluster sits
at its members' mean position.  Cells are aligned to a fixed origin, so panning only adds and
drops clusters at the edges and never moves the others.  From :data:`POINTS_FROM_ZOOM` on, the
components themselves are sent (at most :data:`MAX_POINTS`; a denser viewport stays
clustered).  The answer is plain GeoJSON, a few hundred features at any zoom: the first draw
of the whole district is about 40 KB (measured in ``tests/test_components_browser.py``).
"""
from __future__ import annotations

import math
import time
from collections import OrderedDict

import numpy as np
from sqlalchemy import and_, func, select

from dashboard.domain.components import MAJOR_CLASSES, STATUSES
from dashboard.i18n import t
from datasource.services.scoping import scoped
from datasource.store import schema

C = schema.components
CELL_PX = 64
POINTS_FROM_ZOOM = 17
MAX_POINTS = 2500
MAX_CLUSTERS = 1500
ORIGIN = (110.0, 35.0)      # cells are counted from here (west and south of any Chinese city district)
CACHE_SIZE = 256
STAMP_TTL = 5.0
CLASS_COLOURS = {"01": "#3ea6ff", "02": "#f5a623", "03": "#b37feb", "04": "#52c41a", "05": "#ff7a45",
                 "06": "#8da2c0"}


def cell_degrees(zoom: float) -> float:
    """Degrees of longitude covered by :data:`CELL_PX` pixels at ``zoom`` (web-mercator 256-px tiles)."""
    return CELL_PX * 360.0 / (256.0 * 2 ** max(0.0, min(float(zoom), 22.0)))


class ComponentLayer:
    """GeoJSON of the components layer for a viewport (cached per snapped viewport)."""

    def __init__(self, system):
        self.system = system
        self.scenario = system.scenario
        self._cache: OrderedDict = OrderedDict()
        self._loaded: tuple | None = None
        self._stamp_at: tuple | None = None

    @property
    def engine(self):
        return self.system.engine

    def features(self, west: float, south: float, east: float, north: float, zoom: float,
                 kinds: tuple[str, ...] = (), scope: str | None = None) -> dict:
        """The layer for the viewport: clusters below :data:`POINTS_FROM_ZOOM`, points from it on."""
        zoom = int(math.floor(zoom))
        cell = cell_degrees(zoom)
        # snap the box outward to whole cells: neighbouring viewports share their queries' cells
        box = (ORIGIN[0] + math.floor((west - ORIGIN[0]) / cell) * cell,
               ORIGIN[1] + math.floor((south - ORIGIN[1]) / cell) * cell,
               ORIGIN[0] + math.ceil((east - ORIGIN[0]) / cell) * cell,
               ORIGIN[1] + math.ceil((north - ORIGIN[1]) / cell) * cell)
        key = (self._stamp(), tuple(round(v, 7) for v in box), zoom, tuple(sorted(kinds)), scope)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        answer = None
        if zoom >= POINTS_FROM_ZOOM:
            where = and_(C.c.lon >= box[0], C.c.lon < box[2], C.c.lat >= box[1], C.c.lat < box[3])
            if kinds:
                where = and_(where, C.c.kind.in_(kinds))
            answer = self._points(where, scope)
        if answer is None:
            answer = self._clusters(box, kinds, cell, scope)
        self._cache[key] = answer
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return answer

    def _stamp(self) -> tuple:
        """What changes when the inventory does: its row count and latest ``updated_at`` (read at
        most every :data:`STAMP_TTL` seconds: it is a scan of the table)."""
        now = time.monotonic()
        if self._stamp_at is None or now - self._stamp_at[0] > STAMP_TTL:
            with self.engine.connect() as c:
                stamp = tuple(c.execute(select(func.count(), func.max(C.c.updated_at)).select_from(C)).one())
            self._stamp_at = (now, stamp)
        return self._stamp_at[1]

    def legend(self, lang: str) -> dict:
        """What the browser needs to label the features (sent once with the layer, as its ``hideout``):
        kind and department names in ``lang``, class names and colours, the page link's text."""
        en = lang == "en"
        return {"kinds": {c.code: (c.name_en if en else c.name_zh) for c in self.scenario.categories.values()
                          if c.kind == "component"},
                "departments": {d.code: (d.name_en if en else d.name_zh) for d in self.scenario.departments.values()},
                "classes": {cls: names[1] if en else names[0] for cls, names in MAJOR_CLASSES.items()},
                "colours": CLASS_COLOURS, "lang": lang,
                "statuses": {s: t(f"components.status.{s}", lang) for s in STATUSES},
                "texts": {k: t(f"components.{k}", lang) for k in ("code", "kind", "maintainer", "status",
                                                                  "page_link", "cluster", "layer")}}

    def _arrays(self) -> dict:
        """Position, class and place of every component as numpy arrays, reloaded when the table
        changes (its row count or latest ``updated_at``) — clustering 168,339 points in numpy
        takes milliseconds, the same ``GROUP BY`` in SQLite over a second."""
        stamp = self._stamp()
        if self._loaded is not None and self._loaded[0] == stamp:
            return self._loaded[1]
        with self.engine.connect() as c:
            rows = c.execute(select(C.c.lon, C.c.lat, C.c.kind, C.c.community_code, C.c.code)).all()
        lon = np.fromiter((r[0] for r in rows), float, len(rows))
        lat = np.fromiter((r[1] for r in rows), float, len(rows))
        arrays = {"lon": lon, "lat": lat, "kind": np.array([r[2] for r in rows], dtype="U5"),
                  "community": np.array([r[3] for r in rows], dtype="U12"),
                  "code": np.array([r[4] for r in rows], dtype="U16")}
        arrays["cls"] = np.array([int(k[1:3]) for k in arrays["kind"].tolist()], dtype=np.int64)
        self._loaded = (stamp, arrays)
        return arrays

    def _clusters(self, box, kinds, cell: float, scope) -> dict:
        a = self._arrays()
        mask = (a["lon"] >= box[0]) & (a["lon"] < box[2]) & (a["lat"] >= box[1]) & (a["lat"] < box[3])
        if kinds:
            mask &= np.isin(a["kind"], list(kinds))
        if scope:
            mask &= np.char.startswith(a["community"], scope)
        lon, lat, cls, code = a["lon"][mask], a["lat"][mask], a["cls"][mask], a["code"][mask]
        while True:
            gx = np.floor((lon - ORIGIN[0]) / cell).astype(np.int64)
            gy = np.floor((lat - ORIGIN[1]) / cell).astype(np.int64)
            keys = (cls * 1_000_000 + gx) * 1_000_000 + gy      # one integer per (class, cell)
            unique, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True,
                                                       return_counts=True)
            if len(unique) <= MAX_CLUSTERS:
                break
            cell *= 2     # an unusually large viewport: coarser cells keep the answer small
        mean_lon = np.bincount(inverse, lon, len(unique)) / counts
        mean_lat = np.bincount(inverse, lat, len(unique)) / counts
        features = []
        for i, key in enumerate(unique.tolist()):
            n = int(counts[i])
            properties = {"n": n, "g": f"{key // 10 ** 12:02d}"}
            if n == 1:
                properties["c"] = str(code[first[i]])
            features.append(_point(float(mean_lon[i]), float(mean_lat[i]), properties))
        return {"type": "FeatureCollection", "features": features, "clustered": True}

    def _points(self, where, scope) -> dict | None:
        statement = (select(C.c.code, C.c.kind, C.c.lon, C.c.lat, C.c.maintainer_department, C.c.status)
                     .where(where).order_by(C.c.code).limit(MAX_POINTS + 1))
        with self.engine.connect() as c:
            rows = c.execute(scoped(statement, C, scope)).all()
        if len(rows) > MAX_POINTS:
            return None
        features = []
        for code, kind, lon, lat, maintainer, status in rows:
            properties = {"c": code, "k": kind, "m": maintainer or ""}
            if status != "in_service":
                properties["s"] = status
            features.append(_point(lon, lat, properties))
        return {"type": "FeatureCollection", "features": features, "clustered": False}


def _point(lon: float, lat: float, properties: dict) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
            "properties": properties}
