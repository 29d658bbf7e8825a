"""``citygrid``: the command line.  Every command builds the same :class:`System` as the
web app and the tests; user mistakes end in one line on stderr, never a traceback."""
from __future__ import annotations

import functools
import logging
import signal
import sys
import threading
from pathlib import Path

import click
from tqdm import tqdm

from dashboard.domain.permissions import ROLES
from dashboard.settings import Settings


def _fail_cleanly(func):
    """Turn the errors a user can fix into a one-line message and exit status 1."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from datasource.store.database import DatabaseUnavailable
        from datasource.redis.server import RedisUnavailable
        from datasource.system import StartupError
        from dashboard.domain.scenario import ScenarioError
        import redis
        try:
            return func(*args, **kwargs)
        except (StartupError, DatabaseUnavailable, RedisUnavailable, ScenarioError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
        except redis.ConnectionError as exc:
            raise click.ClickException(f"lost the connection to Redis: {exc}") from None
    return wrapper


def _system(ctx, redis=True, database=True):
    from datasource.system import System
    return System(ctx.obj).start(redis=redis, database=database)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Folder of the embedded Redis and SQLite files [env CITYGRID_DATA_DIR, default ./var].")
@click.option("--database-url", default=None, help="SQLAlchemy URL [env CITYGRID_DATABASE_URL].")
@click.option("--redis-url", default=None, help="Redis URL [env CITYGRID_REDIS_URL; default embedded].")
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
@click.pass_context
def cli(ctx, data_dir, database_url, redis_url, verbose):
    """CityGrid Command Centre (城市网格化管理指挥中心)."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        ctx.obj = Settings.from_env(data_dir=data_dir, database_url=database_url, redis_url=redis_url)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@cli.command()
@click.option("--drain", is_flag=True, help="Process everything available, then exit.")
@click.option("--batch-size", default=2000, show_default=True, help="Entries per transaction.")
@click.option("--consumer", default=None, help="Consumer name in the group [default HOST-worker].")
@click.pass_context
@_fail_cleanly
def worker(ctx, drain, batch_size, consumer):
    """Project the event stream into the reporting database."""
    system = _system(ctx)
    w = system.worker(batch_size=batch_size, consumer=consumer)
    if drain:
        with tqdm(total=w.lag() or None, unit="ev", desc="drain", disable=not sys.stderr.isatty()) as bar:
            stats = w.drain(progress=bar.update)
        click.echo(f"applied {stats.applied}, duplicates {stats.duplicates}, dead letters {stats.dead}")
        return
    _run_until_stopped(w, f"worker {w.consumer} on {system.settings.stream} → {system.engine.url.render_as_string()}",
                       lambda: f"stopped: applied {w.stats.applied}, dead letters {w.stats.dead}")


@cli.command()
@click.option("--drain", is_flag=True, help="Process what the inbox holds, then exit.")
@click.option("--batch-size", default=500, show_default=True, help="Inbox entries per step.")
@click.option("--consumer", default=None, help="Consumer name in the gateway's group [default HOST-gateway].")
@click.pass_context
@_fail_cleanly
def gateway(ctx, drain, batch_size, consumer):
    """Admit other systems' events: read STREAM:inbox, validate each entry with the domain's
    rules, append the accepted ones through the checked path (once per event_id) and record
    refused ones with the reason in STREAM:inbox:rejected."""
    from datasource.services.inbox import Gateway
    system = _system(ctx, database=True)
    g = Gateway(system, consumer=consumer, batch_size=batch_size)
    if drain:
        stats = g.drain()
        click.echo(f"accepted {stats.accepted}, duplicates {stats.duplicates}, refused {stats.refused}")
        return
    _run_until_stopped(g, f"gateway {g.consumer}: {g.inbox} → {system.settings.stream}",
                       lambda: f"stopped: accepted {g.stats.accepted}, duplicates {g.stats.duplicates}, "
                               f"refused {g.stats.refused}")


@cli.command()
@click.option("--database-url", "target", required=True, help="URL of an EMPTY database to rebuild into.")
@click.pass_context
@_fail_cleanly
def rebuild(ctx, target):
    """Replay the whole stream into an empty database (same result as incremental)."""
    from datasource.store.database import make_engine
    from datasource.follower.rebuild import RebuildError, rebuild as run_rebuild
    system = _system(ctx, database=False)
    total = system.stream.length()
    try:
        with tqdm(total=total, unit="ev", desc="rebuild") as bar:
            figures = run_rebuild(system, make_engine(target), progress=bar.update)
    except RebuildError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(" ".join(f"{k}={v}" for k, v in figures.items()))


@cli.command()
@click.option("--days", default=90, show_default=True, type=click.IntRange(1, 730), help="Days of history.")
@click.option("--seed", default=1, show_default=True, help="Random seed.")
@click.pass_context
@_fail_cleanly
def backfill(ctx, days, seed):
    """Generate history through the event stream and project it."""
    from datasource.simulation.backfill import backfill as run_backfill
    system = _system(ctx)
    with tqdm(unit="ev", desc=f"backfill {days} d") as bar:
        figures = run_backfill(system, days, seed=seed, progress=bar.update)
    click.echo(_figures(figures))


@cli.command()
@click.option("--rate", default=5.0, show_default=True, type=click.FloatRange(0.01, 10000), help="Events per second.")
@click.option("--duration", default=0.0, show_default=True, help="Seconds (0 = until Ctrl-C).")
@click.option("--seed", default=None, type=int, help="Random seed.")
@click.pass_context
@_fail_cleanly
def simulate(ctx, rate, duration, seed):
    """Publish live, realistic case traffic for the scenario."""
    from datasource.simulation.traffic import simulate as run_simulate
    system = _system(ctx)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        figures = run_simulate(system, rate, duration or None, seed=seed, stop=stop)
    except KeyboardInterrupt:
        stop.set()
        return
    click.echo(_figures(figures))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8050, show_default=True, type=click.IntRange(1, 65535))
@click.option("--debug", is_flag=True)
@click.pass_context
@_fail_cleanly
def serve(ctx, host, port, debug):
    """Run the web server (pages and API)."""
    from dashboard.web.factory import create_app, start
    app = start(create_app(ctx.obj))
    click.echo(f"CityGrid Command Centre on http://{host}:{port}/")
    app.run(host=host, port=port, debug=debug)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8050, show_default=True, type=click.IntRange(1, 65535))
@click.option("--days", default=14, show_default=True, type=click.IntRange(0, 730), help="History to backfill on a fresh data folder.")
@click.option("--rate", default=3.0, show_default=True, help="Simulated events per second.")
@click.pass_context
@_fail_cleanly
def demo(ctx, host, port, days, rate):
    """Everything at once: embedded Redis, backfill, worker, simulator and web server."""
    from dashboard.cli.demo import run_demo
    run_demo(ctx.obj, host=host, port=port, days=days, rate=rate)


@cli.command()
@click.option("--source", type=click.Path(path_type=Path, exists=True), default=None,
              help="Folder with district/streets/roads geojson [default: the scenario's source/].")
@click.pass_context
@_fail_cleanly
def grids(ctx, source):
    """Generate communities and unit grids from the real road network (deterministic),
    then the grid inspectors who cover them."""
    from datasource.tools.gridgen import generate
    out = Path(ctx.obj.scenario_dir)
    with tqdm(total=None, unit="street", desc="grids") as bar:
        def progress(done, total):
            bar.total = total
            bar.n = done
            bar.refresh()
        summary = generate(source or out / "source", out, progress=progress)
    from datasource.simulation.inspectors import write_inspectors
    summary["inspectors"] = write_inspectors(out)
    click.echo(_figures(summary))


@cli.command()
@click.option("--date", "day", default="yesterday", show_default=True,
              help="YYYY-MM-DD, 'yesterday' or 'today' (the scenario's time zone, Asia/Shanghai).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the PDF to this file.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None, help="Language [default CITYGRID_LANG].")
@click.option("--force", is_flag=True, help="Make it again even if it is archived.")
@click.option("--scope", default=None, help="A sub-centre's briefing: its street (9 digits) or community "
                                            "(12 digits) code [default: the whole district].")
@click.pass_context
@_fail_cleanly
def briefing(ctx, day, out, lang, force, scope):
    """The leaders' daily briefing as an A4 PDF, archived under DATA_DIR/briefings.

    Safe from cron: idempotent, one line out; exit 0 done, 1 error, 2 bad option,
    3 no case data for the date."""
    from dashboard.cli.briefing import run
    click.echo(run(ctx.obj, day, out, lang, force, scope))


@cli.group()
def users():
    """Manage users (hashed passwords in the reporting database)."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--password", default=None, help="At least 8 characters; prompted for when omitted (not for wall).")
@click.option("--department", default=None, help="Department code, for role department.")
@click.option("--scope", default=None, help="Sub-centre: a street (9 digits) or community (12 digits) code; "
                                            "omitted = the whole district.")
@click.pass_context
@_fail_cleanly
def users_add(ctx, name, role, password, department, scope):
    """Create user NAME with ROLE."""
    from datasource.services import accounts
    system = _system(ctx, redis=False)
    if password is None and role != "wall":
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    user = accounts.add_user(system.engine, name, role, password, department, system.scenario.departments,
                             scope=scope, streets=system.scenario.streets, communities=system.scenario.communities)
    click.echo(f"user {user.name} ({user.role}{', scope ' + user.scope if user.scope else ''}) created")


@users.command("list")
@click.pass_context
@_fail_cleanly
def users_list(ctx):
    """List users."""
    from datasource.services import accounts
    for user in accounts.list_users(_system(ctx, redis=False).engine):
        click.echo(f"{user['name']:<20} {user['role']:<12} {user['department_code'] or '':<24} {user['scope'] or ''}")


@cli.group()
def tokens():
    """API and wall display tokens."""


@tokens.command("create")
@click.argument("name")
@click.pass_context
@_fail_cleanly
def tokens_create(ctx, name):
    """Print a new token for user NAME (Authorization: Bearer TOKEN; for a wall user, /wall?token=TOKEN)."""
    from datasource.services import accounts
    click.echo(accounts.create_token(_system(ctx, redis=False).engine, name))


def _run_until_stopped(loop, started: str, summary) -> None:
    """Run a follower loop (worker, gateway) until SIGTERM or Ctrl-C, saying what it did."""
    signal.signal(signal.SIGTERM, lambda *_: loop.stop())
    click.echo(started)
    try:
        loop.run()
    except KeyboardInterrupt:
        pass
    click.echo(summary())


def _figures(figures: dict) -> str:
    return "\n".join(f"{k}: {v}" for k, v in figures.items())


def main():  # console-script entry point
    cli(prog_name="citygrid")


if __name__ == "__main__":
    main()
