"""``citygrid components …``: the city-component inventory from the command line.

``citygrid components import FILE --mapping code=部件编码,lon=经度,…`` imports a census (部件普查)
export — CSV (UTF-8, with or without BOM) or GeoJSON — and prints what became of every row:
imported, replaced (``--replace``), skipped per reason; skipped rows are written with their
reason to ``--skipped`` (default ``FILE.skipped.csv``).  ``citygrid components load`` fills an
empty table from the scenario's committed inventory (what start-up does unless
``CITYGRID_COMPONENTS_AUTOLOAD=false``); ``citygrid components stats`` counts per kind.
Exit status: 0 done (even with skipped rows: they are accounted for), 1 the file, mapping or
database cannot be used at all.
"""
from __future__ import annotations

import json
from pathlib import Path

import click


def _system(ctx):
    from datasource.system import StartupError, System
    try:
        return System(ctx.obj).start(redis=False)
    except StartupError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def components():
    """City components (城市部件): import a census, load the scenario's inventory, count."""


@components.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--mapping", default=None,
              help="field=column pairs, comma-separated (or a JSON object / .json file). Fields: code, kind, name, "
                   "lon, lat, owner_department, title_department, maintainer_department, status, installed_on; "
                   "an unmapped field is read from a column of its own name.")
@click.option("--skipped", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Where to write the skipped rows with their reason [default FILE.skipped.csv].")
@click.option("--replace", is_flag=True, help="Update components already in the inventory instead of skipping them.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def import_(ctx, file, mapping, skipped, replace, as_json):
    """Import a census export FILE (CSV or GeoJSON); every row is accounted for."""
    from datasource.services.components_import import CensusError, CensusImport, parse_mapping
    try:
        fields = parse_mapping(mapping)
        system = _system(ctx)
        try:
            summary = CensusImport(system).run(file, fields, skipped, replace=replace)
        finally:
            system.close()
    except CensusError as exc:
        raise click.ClickException(str(exc)) from None
    result = summary.as_dict()
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    click.echo(f"rows {result['rows']}: imported {result['imported']}, replaced {result['replaced']}, "
               f"skipped {result['skipped']}")
    for reason, n in result["skipped_by_reason"].items():
        click.echo(f"  skipped {reason}: {n}")
    if result["skipped_file"]:
        click.echo(f"skipped rows → {result['skipped_file']}")


@components.command("load")
@click.pass_context
def load(ctx):
    """Fill an empty components table from the scenario's inventory (components.csv.gz)."""
    from datasource.services.components import load_inventory
    system = _system(ctx)
    try:
        result = load_inventory(system.engine, system.scenario)
    finally:
        system.close()
    click.echo(f"loaded {result['components']} components" if result.get("loaded") else
               "components already loaded (or no inventory file): nothing to do")


@components.command("stats")
@click.pass_context
def stats(ctx):
    """Components per kind."""
    from datasource.services.components import ComponentQueries
    system = _system(ctx)
    try:
        counts = ComponentQueries(system).counts()
    finally:
        system.close()
    for kind, n in sorted(counts.items()):
        click.echo(f"{kind} {system.scenario.categories[kind].name_zh if kind in system.scenario.categories else '?'}"
                   f" {n}")
    click.echo(f"total {sum(counts.values())}")
