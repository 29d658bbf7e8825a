"""``/geo/<layer>.geojson``: the wall's static map layers, served once and cached.

The geometry never travels with a tick.  Each layer (see :data:`datasource.tools.map_layers.LAYERS`)
is built once per process, gzip-compressed once at the highest level, and served with a
strong ``ETag`` and ``Cache-Control: public, max-age=…``: a wall downloads the ~190 KB of
compressed unit grids once, and afterwards at most revalidates (``304 Not Modified``).

Why pre-compressed rather than left to flask-compress (which the factory enables for every
other response): flask-compress would gzip the 1.5 MB grid layer again for every wall that
loads it (~40 ms of CPU each on a small server).  A response that already carries
``Content-Encoding`` is passed through by flask-compress untouched.  The data is the
public map of the district (no case data), so it is served without log-in.
"""
from __future__ import annotations

import gzip
import hashlib
import threading
from dataclasses import dataclass

from flask import Blueprint, Response, abort, current_app, request

from datasource.tools.map_layers import DATA_CRS, LAYERS, StaticLayers, build

MAX_AGE = 24 * 3600
MIMETYPE = "application/geo+json"
EXTENSION_KEY = "citygrid.geo"

blueprint = Blueprint("citygrid_geo", __name__)


@dataclass(frozen=True)
class Encoded:
    raw: bytes
    gz: bytes
    etag: str


class GeoAssets:
    """The layers of one app, built on first use (or by the warm-up thread) under a lock."""

    def __init__(self, settings):
        self.scenario_dir = str(settings.scenario_dir)
        self.crs = settings.tile_crs if settings.tile_url else DATA_CRS
        self._lock = threading.Lock()
        self._encoded: dict[str, Encoded] | None = None

    @property
    def layers(self) -> StaticLayers:
        return build(self.scenario_dir, self.crs)

    def encoded(self) -> dict[str, Encoded]:
        if self._encoded is None:
            with self._lock:
                if self._encoded is None:
                    out = {}
                    for name, data in self.layers.layers.items():
                        digest = hashlib.sha256(data).hexdigest()[:20]
                        out[name] = Encoded(data, gzip.compress(data, compresslevel=9, mtime=0), digest)
                    self._encoded = out
        return self._encoded

    def urls(self) -> dict[str, str]:
        """Layer name → URL with the content hash, so a new scenario release busts caches."""
        return {name: f"/geo/{name}.geojson?v={e.etag[:8]}" for name, e in self.encoded().items()}


def assets(app=None) -> GeoAssets:
    return (app or current_app).extensions[EXTENSION_KEY]


def _accepts_gzip() -> bool:
    return "gzip" in request.headers.get("Accept-Encoding", "").lower()


@blueprint.route("/geo/<name>.geojson")
def layer(name: str):
    """One layer, gzip-compressed when the client accepts it, with a strong ETag per encoding;
    ``If-None-Match`` is answered 304 by Werkzeug's conditional-response handling."""
    if name not in LAYERS:
        abort(404)
    item = assets().encoded()[name]
    gz = _accepts_gzip()
    response = Response(item.gz if gz else item.raw, mimetype=MIMETYPE)
    if gz:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    response.set_etag(item.etag + ("-gz" if gz else ""))
    return response.make_conditional(request)


def init_app(server, settings) -> GeoAssets:
    """Register the routes; the layers are built on first use (:func:`dashboard.web.factory.start`
    warms them in the background)."""
    geo = GeoAssets(settings)
    server.extensions[EXTENSION_KEY] = geo
    server.register_blueprint(blueprint)
    return geo
