"""The application factory: ``create_app(settings)`` builds the Flask server, the Dash app,
log-in, the API and every page from one :class:`System`.  It only configures: nothing
connects at import time."""
from __future__ import annotations

import secrets
from pathlib import Path

import dash
from flask import Flask
from flask_compress import Compress

from datasource.system import System
from .settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def _secret_key(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(settings: Settings | None = None, system: System | None = None) -> dash.Dash:
    """Build the whole web app; ``app.server`` is the WSGI application."""
    from callbacks import register_all
    from layouts.shell import layout
    from . import api, auth, static_geo
    from .services import Services

    settings = settings or Settings.from_env()
    system = (system or System(settings)).start()
    server = Flask("citygrid")
    server.config.update(SECRET_KEY=_secret_key(settings), SESSION_COOKIE_HTTPONLY=True,
                         SESSION_COOKIE_SAMESITE="Lax", MAX_CONTENT_LENGTH=256 * 1024,
                         COMPRESS_MIMETYPES=["text/html", "text/css", "application/json", "application/javascript",
                                             "application/geo+json", "text/javascript"],
                         COMPRESS_MIN_SIZE=500)
    server.extensions["citygrid"] = system
    Compress(server)
    services = Services(system)
    server.extensions["citygrid.services"] = services
    auth.init_app(server, system)
    static_geo.init_app(server, system)  # the wall's cached map layers
    api.init_app(server, services)
    app = dash.Dash("citygrid", server=server, assets_folder=str(ROOT / "assets"), title="城市网格化管理指挥中心",
                    suppress_callback_exceptions=True, update_title=None, compress=False)
    app.layout = layout
    register_all(app, services)
    return app
