"""``citygrid``: the command line.  Every command builds the same :class:`System` as the
web app and the tests; user mistakes end in one line on stderr, never a traceback."""
from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path

import click
from tqdm import tqdm

from dashboard.cli.errors import fail_cleanly as _fail_cleanly
from dashboard.settings import Settings


def _system(ctx, redis=True, database=True):
    from datasource.system import System
    return System(ctx.obj).start(redis=redis, database=database)


BAD_DAY_LOAD = 2.0   # ``demo --bad-day``: twice the reports the simulated centre keeps up with
GLOBAL_VALUE_OPTIONS = ("--data-dir", "--database-url", "--redis-url")
GLOBAL_FLAGS = ("-v", "--verbose")


class GlobalOptionsGroup(click.Group):
    """A group whose own options may also come after the subcommand (``citygrid demo
    --data-dir X``, as the README writes it), unless the subcommand has an option of the
    same name (``rebuild --database-url`` is its target)."""

    def parse_args(self, ctx, args):
        return super().parse_args(ctx, self.hoist(ctx, list(args)))

    def hoist(self, ctx, args: list[str]) -> list[str]:
        """``args`` with the group's options found after the subcommand moved before it."""
        i = 0
        while i < len(args) and args[i].startswith("-"):   # the group's own options, as usual
            i += 2 if args[i] in GLOBAL_VALUE_OPTIONS else 1
        if i >= len(args):
            return args
        command = self.get_command(ctx, args[i])
        if command is None:
            return args
        own = {name for param in command.params for name in getattr(param, "opts", ())}
        front, rest, j = args[:i], [args[i]], i + 1
        while j < len(args):
            token = args[j]
            name = token.split("=", 1)[0]
            if token == "--":
                rest += args[j:]
                break
            if name in GLOBAL_VALUE_OPTIONS and name not in own:
                takes_next = "=" not in token and j + 1 < len(args)
                front += args[j:j + 2] if takes_next else [token]
                j += 2 if takes_next else 1
                continue
            if token in GLOBAL_FLAGS and token not in own:
                front.append(token)
            else:
                rest.append(token)
            j += 1
        return front + rest


@click.group(cls=GlobalOptionsGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
@click.option("--load", default=1.0, show_default=True, type=click.FloatRange(0.1, 20),
              help="Reports per what the centre keeps up with: 1 a steady day, 1.5–2 a bad day.")
@click.pass_context
@_fail_cleanly
def simulate(ctx, rate, duration, seed, load):
    """Publish live, realistic case traffic for the scenario."""
    from datasource.simulation.traffic import simulate as run_simulate
    system = _system(ctx)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        figures = run_simulate(system, rate, duration or None, seed=seed, stop=stop, load=load)
    except KeyboardInterrupt:
        stop.set()
        return
    click.echo(_figures(figures))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8050, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=16, show_default=True, type=click.IntRange(1, 512),
              help="Threads for pages, API and callbacks.")
@click.option("--wall-streams", default=64, show_default=True, type=click.IntRange(0, 1024),
              help="Wall displays that may be open at once (each holds one more thread).")
@click.option("--debug", is_flag=True, help="Werkzeug's development server with the debugger instead of waitress.")
@click.option("--processes", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Web processes sharing the address (each with --threads and --wall-streams); see docs/processes.md.")
@click.pass_context
@_fail_cleanly
def serve(ctx, host, port, threads, wall_streams, debug, processes):
    """Run the web server (pages, API and the walls' live streams) on waitress."""
    from dashboard.web.factory import create_app, start
    from dashboard.web.wall_push import serve as serve_app
    if processes > 1:
        if debug:
            raise click.UsageError("--debug runs one process; leave out --processes")
        from dashboard.web.processes import ServeError, serve_processes
        try:
            serve_processes(ctx.obj, host, port, processes, threads=threads, wall_streams=wall_streams,
                            echo=click.echo)
        except ServeError as exc:
            raise click.ClickException(str(exc)) from None
        return
    app = start(create_app(ctx.obj))
    click.echo(f"CityGrid Command Centre on http://{host}:{port}/")
    if debug:
        app.run(host=host, port=port, debug=True, threaded=True)
    else:
        serve_app(app, host, port, threads=threads, wall_streams=wall_streams)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8050, show_default=True, type=click.IntRange(1, 65535))
@click.option("--days", default=14, show_default=True, type=click.IntRange(0, 730), help="History to backfill on a fresh data folder.")
@click.option("--rate", default=3.0, show_default=True, help="Simulated events per second.")
@click.option("--bad-day", is_flag=True, help="Reports come twice as fast as the centre keeps up with: backlogs grow.")
@click.pass_context
@_fail_cleanly
def demo(ctx, host, port, days, rate, bad_day):
    """Everything at once: embedded Redis, backfill, worker, simulator and web server."""
    from dashboard.cli.demo import run_demo
    run_demo(ctx.obj, host=host, port=port, days=days, rate=rate, load=BAD_DAY_LOAD if bad_day else 1.0)


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


from dashboard.cli.components import components as _components  # noqa: E402 - issue 16
cli.add_command(_components)
from dashboard.cli.importer import import_cases as _import_cases  # noqa: E402 - issue 14: citygrid import
cli.add_command(_import_cases)
from dashboard.cli.city import city as _city  # noqa: E402 - issue 14 part 3
cli.add_command(_city)


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


def _accounts() -> None:
    """``citygrid users …`` and ``citygrid tokens …`` live in :mod:`dashboard.cli.accounts`."""
    from dashboard.cli.accounts import tokens, users
    cli.add_command(users)
    cli.add_command(tokens)


_accounts()


def main():  # console-script entry point
    cli(prog_name="citygrid")


if __name__ == "__main__":
    main()
