"""The application factory and the start-up step.

``create_app(settings)`` builds the Flask server, the Dash app, log-in, the API and every
page from one :class:`~datasource.system.System`.  It only builds: nothing connects, nothing
is written, no thread starts.  :func:`start` is the separate start-up step — check the
scenario, reach Redis, run the migrations, settle the secret key, warm the map layers —
that ``citygrid serve``, ``citygrid demo``, ``app.py`` and the tests call; it fails with a
one-line :class:`~datasource.system.StartupError`.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

import dash
from flask import Flask
from flask_compress import Compress

from dashboard.settings import Settings
from datasource.system import System

ROOT = Path(__file__).resolve().parent.parent.parent
COMPRESS_TYPES = ["text/html", "text/css", "application/json", "application/javascript", "application/geo+json",
                  "text/javascript"]


def create_app(settings: Settings | None = None, system: System | None = None) -> dash.Dash:
    """Build the whole web app (``app.server`` is the WSGI application); call :func:`start`
    before serving it."""
    from callbacks import register_all
    from dashboard.web import api, api_evidence, api_regions, auth, briefing, geo, security
    from dashboard.web.services import Services
    from layouts.shell import layout

    settings = settings or (system.settings if system else Settings.from_env())
    system = system or System(settings)
    server = Flask("citygrid")
    server.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", MAX_CONTENT_LENGTH=256 * 1024,
                         COMPRESS_MIMETYPES=COMPRESS_TYPES, COMPRESS_MIN_SIZE=500)
    if settings.secret_key:
        server.config["SECRET_KEY"] = settings.secret_key
    server.extensions["citygrid"] = system
    Compress(server)
    layers = geo.init_app(server, settings)
    services = Services(system, layers)
    server.extensions["citygrid.services"] = services
    security.init_app(server, system)   # origin check, limits, headers (issue 12)
    from dashboard.web import outage   # Redis or the database down: a 503 that says so (issue 15)
    outage.init_app(server)
    auth.init_app(server, system)
    api.init_app(server, services)
    from dashboard.web import api_reports  # the evaluation's API and exports (issue 9)
    api_reports.init_app(server)
    api_regions.init_app(server, services)
    from dashboard.web import api_components  # city components (issue 16)
    api_components.init_app(server)
    api_evidence.init_app(server)   # evidence photos and return visits (issue 11)
    from dashboard.web import open311; open311.init_app(server)   # Open311 GeoReport v2 (issue 14)
    briefing.init_app(server)
    from dashboard.web import wall_push  # the wall's server-sent events (issue 13)
    wall_push.init_app(server, services)
    app = dash.Dash("citygrid", server=server, assets_folder=str(ROOT / "assets"), title="城市网格化管理指挥中心",
                    suppress_callback_exceptions=True, update_title=None, compress=False)
    app.layout = layout
    register_all(app, services)
    security.finish(app)                 # the CSP needs Dash's inline scripts, the limit its views
    from dashboard.web import not_found  # unknown paths: a real 404 (Dash's catch-all would say 200)
    not_found.init_app(server, settings)
    return app


def start(app: dash.Dash) -> dash.Dash:
    """Start what :func:`create_app` built: the system (Redis, migrations, reference data),
    the session secret and the map layers' warm-up.  Idempotent."""
    import threading

    from dashboard.web.geo import assets

    server = app.server
    system: System = server.extensions["citygrid"]
    system.start()
    if not server.config.get("SECRET_KEY"):
        server.config["SECRET_KEY"] = prepare_secret(system.settings)
    threading.Thread(target=assets(server).encoded, name="geo-warmup", daemon=True).start()
    return app


def prepare_secret(settings: Settings) -> str:
    """The secret from the settings, else one generated once into ``DATA_DIR/secret_key``.

    Several processes may start at once (``citygrid serve --processes``): the file is
    written under another name and linked into place, so exactly one secret wins and every
    process reads that one."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        draft.write_text(secrets.token_hex(32))
        draft.chmod(0o600)
        try:
            os.link(draft, path)       # fails if another process was first: its secret stays
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()
