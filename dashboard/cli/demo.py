"""``citygrid demo`` / ``make demo``: the whole product on the embedded default.

Starts the embedded Redis, prepares the SQLite database, backfills history on a fresh
data folder, seeds one user per role, then runs the worker and the simulator in
background threads (with the inbox gateway for other systems) and the web server (waitress) in the foreground.
"""
from __future__ import annotations

import json
import logging
import secrets
import signal
import threading
import time
from pathlib import Path

import click

from datasource.redis.server import stop_embedded
from datasource.services import accounts
from datasource.system import System
from dashboard.settings import Settings

log = logging.getLogger("citygrid.demo")
DEMO_USERS = (("wall", "wall", None), ("operator", "operator", None), ("supervision", "supervision", None),
              ("sanitation", "department", "sanitation"), ("supervisor", "supervisor", None),
              ("leader", "leader", None), ("admin", "admin", None))


def seed_users(system: System) -> dict:
    """One user per role with a random password, kept in DATA_DIR/demo-credentials.json."""
    path = Path(system.settings.data_dir) / "demo-credentials.json"
    if path.exists():
        return json.loads(path.read_text())
    credentials = {"users": [], "wall_token": None}
    for name, role, department in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        if accounts.find_user(system.engine, name) is None:
            accounts.add_user(system.engine, name, role, password, department)
        credentials["users"].append({"name": name, "role": role, "password": password})
    credentials["wall_token"] = accounts.create_token(system.engine, "wall")
    path.write_text(json.dumps(credentials, indent=1))
    path.chmod(0o600)
    return credentials


def run_demo(settings: Settings, host: str, port: int, days: int, rate: float, load: float = 1.0) -> None:
    from dashboard.web.wall_push import serve
    from datasource.simulation.backfill import backfill
    from datasource.simulation.traffic import simulate
    from datasource.services.inbox import Gateway
    from dashboard.web.factory import create_app, start

    click.echo(f"data folder: {Path(settings.data_dir).resolve()}")
    system = System(settings).start()
    click.echo(f"Redis: {system.redis_url}\ndatabase: {system.engine.url.render_as_string()}")
    if days and system.stream.length() == 0:
        click.echo(f"backfilling {days} days of history through the stream …")
        started = time.perf_counter()
        figures = backfill(system, days)
        click.echo(f"  {figures.get('cases')} cases, {figures.get('events')} events in "
                   f"{time.perf_counter() - started:.1f} s")
    credentials = seed_users(system)
    stop = threading.Event()
    worker = system.worker()
    threading.Thread(target=worker.run, name="worker", daemon=True).start()
    gateway = Gateway(System(settings).start())  # other systems' door: STREAM:inbox → checked appends
    threading.Thread(target=gateway.run, name="gateway", daemon=True).start()
    threading.Thread(target=lambda: simulate(System(settings).start(), rate, None, stop=stop, load=load),
                     name="simulator", daemon=True).start()
    app = start(create_app(settings, system))
    base = f"http://{host}:{port}"
    click.echo("\nusers (name / role / password):")
    for user in credentials["users"]:
        click.echo(f"  {user['name']:<12} {user['role']:<12} {user['password']}")
    click.echo(f"\nwall display: {base}/wall?token={credentials['wall_token']}&kiosk=1")
    click.echo(f"CityGrid Command Centre on {base}/   (Ctrl-C to stop)")
    signal.signal(signal.SIGTERM, _stop_like_ctrl_c)   # so that the clean-up below runs on SIGTERM too
    try:
        serve(app, host, port, threads=16, wall_streams=64)   # waitress, sized for the walls' streams
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        worker.stop()
        gateway.stop()
        if not settings.redis_url:   # the embedded server of this data folder: its AOF keeps the data
            stop_embedded(settings.data_dir)
        click.echo("stopped: worker, gateway, simulator" + ("" if settings.redis_url else ", embedded Redis"))


def _stop_like_ctrl_c(*_) -> None:
    raise KeyboardInterrupt
