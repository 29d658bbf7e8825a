"""``citygrid briefing``: the daily briefing as a PDF, archived — safe to run from cron.

Idempotent: a day already archived is not made again (``--force`` remakes it); the PDF is
written atomically and recorded with an upsert.  ``--scope 110101001`` makes a sub-centre's
briefing (that street's or community's cases only), archived beside the district's.  One line on stdout when done, one line
on stderr otherwise, and the exit status says which:

    0  written, or already archived        2  bad option (date unreadable or in the future)
    1  error (database, Chromium …)        3  no case data for that date
"""
from __future__ import annotations

from pathlib import Path

import click

EXIT_NO_DATA = 3


class NoDataExit(click.ClickException):
    exit_code = EXIT_NO_DATA


def run(settings, day_text: str, out: Path | None, lang: str | None, force: bool, scope: str | None = None) -> str:
    """Make or fetch the briefing (of ``scope``; None = the district); the one line to print."""
    from dashboard.domain.briefing import BriefingDateError
    from dashboard.domain.scope import ScopeError, validate
    from datasource.services.briefing_archive import Briefings, NoData, write_atomically
    from datasource.system import System
    from datasource.tools.chart_images import ChartError
    system = System(settings).start(redis=False)
    briefings = Briefings(system, keep_browser=False)
    try:
        try:
            day = briefings.service.resolve(day_text)
        except BriefingDateError as exc:
            raise click.BadParameter(str(exc), param_hint="--date") from None
        try:
            scope = validate(scope, system.scenario.streets, system.scenario.communities)
        except ScopeError as exc:
            raise click.BadParameter(str(exc), param_hint="--scope") from None
        lang = lang or settings.lang
        try:
            pdf = briefings.ensure_pdf(day, lang, force=force, scope=scope)
        except NoData as exc:
            raise NoDataExit(str(exc)) from None
        except ChartError as exc:
            raise click.ClickException(str(exc)) from None
        if out is not None:
            write_atomically(out, pdf.content)
        where = [str(p) for p in (pdf.path, out) if p is not None]
        state = "written" if pdf.made else "already archived"
        if not pdf.archived:
            state = "written (not archived: the day is not over)"
        area = f" {scope}" if scope else ""
        return f"briefing {day.isoformat()} {lang}{area}: {state} → {', '.join(where) or '(nowhere: give --out)'} " \
               f"({len(pdf.content) // 1024} KB)"
    finally:
        briefings.close()
        system.close()
