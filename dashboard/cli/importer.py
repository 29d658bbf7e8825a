"""``citygrid import FILE --mapping MAPPING``: a city's old cases from a service-request export.

CSV (``--format csv``, the default) or an Open311 GeoReport v2 request list in JSON or XML
(``--format open311``; the mapping defaults to the shipped ``open311``).  ``--mapping`` is a
TOML file or the name of a shipped one (``sf311``, ``nyc311``, ``boston311``, ``open311``).
The rows become events on the stream through the checked append; the command then drains
the stream into the database (``--no-drain``: leave that to a running ``citygrid worker``)
and prints what became of every row.  Exit status 0 when the file was read (skipped rows are
accounted for, not errors), 1 when the file, the mapping or the services cannot be used.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from tqdm import tqdm

from dashboard.cli.errors import fail_cleanly
from dashboard.i18n import t


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--mapping", "mapping_spec", default=None,
              help="Mapping: a TOML file or a shipped name (sf311, nyc311, boston311, open311).")
@click.option("--format", "kind", type=click.Choice(["csv", "open311"]), default="csv", show_default=True,
              help="csv, or open311 (a GeoReport v2 request list, JSON or XML).")
@click.option("--skipped", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Where to write the skipped rows with their reason [default FILE.skipped.csv].")
@click.option("--no-drain", is_flag=True, help="Only append to the stream; a running worker projects it.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None, help="Language [default CITYGRID_LANG].")
@click.pass_context
@fail_cleanly
def import_cases(ctx, file, mapping_spec, kind, skipped, no_drain, as_json, lang):
    """Import a service-request export FILE; every row is imported or skipped with a reason."""
    from datasource.importer.mapping import MappingError, load
    from datasource.importer.reference import ReferenceRefused
    from datasource.importer.run import Importer, ImportRefused, drain
    from datasource.importer.sources import SourceError
    from datasource.system import System
    lang = lang or ctx.obj.lang
    if mapping_spec is None and kind != "open311":
        raise click.ClickException("--mapping is required for a CSV file (a TOML file or sf311, nyc311, boston311)")
    try:
        mapping = load(mapping_spec or "open311")
        system = System(ctx.obj).start()
        try:
            bar = tqdm(total=file.stat().st_size if file.is_file() else None, unit="B", unit_scale=True,
                       desc="import", disable=not sys.stderr.isatty())
            with bar:
                summary = Importer(system, mapping, progress=lambda at: bar.update(at - bar.n)).run(file, kind, skipped)
        finally:
            system.close()
    except (MappingError, SourceError, ReferenceRefused, ImportRefused, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    result = summary.as_dict()
    drained = None
    if not no_drain and summary.events:
        system = System(ctx.obj).start()   # a fresh scenario: it knows the departments just created
        try:
            with tqdm(total=summary.events, unit="ev", desc="drain", disable=not sys.stderr.isatty()) as bar:
                stats = drain(system, progress=bar.update)
            drained = {"applied": stats.applied, "dead": stats.dead}
        finally:
            system.close()
    if as_json:
        click.echo(json.dumps({**result, "drained": drained}, ensure_ascii=False))
        return
    click.echo(t("import.summary", lang, read=result["read"], imported=result["imported"],
                 completed=result["completed"], skipped=result["skipped"], events=result["events"],
                 seconds=result["seconds"]))
    for reason, n in result["skipped_by_reason"].items():
        click.echo(t("import.skipped_reason", lang, reason=t(f"import.reason.{reason}", lang), n=n))
    if result["departments_created"] or result["categories_created"]:
        click.echo(t("import.created", lang, departments=len(result["departments_created"]),
                     categories=len(result["categories_created"]), root=ctx.obj.scenario_dir))
    click.echo(t("import.skipped_file", lang, path=result["skipped_file"]))
    if drained:
        click.echo(t("import.drained", lang, **drained))
    elif summary.events:
        click.echo(t("import.not_drained", lang))
