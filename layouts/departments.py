"""Department evaluation (部门考评, ``/departments``): every department over a period — volume,
on time, closure, rework, returns, extensions, overdue now, handling times in working hours,
backlog, the composite of DOMAIN.md §4 with its parts and grade, each rate beside its
target — professional departments and street offices in two sortable tables with a
sparkline each; a department's row opens ``/departments/<code>``.  The period lives in the
URL (``?period=7d``, ``?period=month&month=2026-11``, ``?from=…&to=…``)."""
from __future__ import annotations

from enum import Enum

from dash import dcc, html

from dashboard.domain.permissions import PAGE_ROLES
from dashboard.i18n import t
from dashboard.i18n.city import zone_label
from layouts.report_common import (asked_period, columns, definitions, export_links, graph, grid, period_picker, section)

PATH = "/departments"
TITLE = "nav.departments"
ROLES = PAGE_ROLES[PATH]


class Ids(str, Enum):
    LANG = "departments-lang"
    PERIOD = "departments-period"          # store: {"first", "last", "kind", "query"} or None
    PERIOD_KIND = "departments-period-kind"
    MONTH = "departments-month"
    FIRST = "departments-first"
    LAST = "departments-last"
    APPLY = "departments-apply"
    RANGE = "departments-range"
    PERIOD_ERROR = "departments-period-error"
    PROFESSIONAL = "departments-professional"
    STREETS = "departments-streets"
    TOTALS = "departments-totals"
    SCORES = "departments-scores"
    EXPORT = "departments-export"


#: Columns grouped under headers; the name links to the department's page.
GROUPS = (
    ("eval.col.name", ("name",)),
    ("eval.group.result", ("score", "grade")),
    ("eval.group.volume", ("due", "handled", "handled_on_time", "closed")),
    ("eval.group.rates", ("on_time_rate", "on_time_rate_ratio", "closure_rate", "closure_rate_ratio", "rework_rate",
                          "rework_rate_ratio", "satisfaction")),
    ("eval.group.flow", ("returns", "extensions", "overdue_now", "backlog", "backlog_age_days", "handling_median_h",
                         "handling_p90_h")),
    ("eval.group.score", ("closure_points", "on_time_points", "rework_points", "volume_points")),
)


def column_defs(lang: str) -> list[dict]:
    """The departments table: the name (a link) and its sparkline pinned left, then grouped columns."""
    by_field = {c["field"]: c for c in columns("departments", lang, {
        "name": {"cellRenderer": "CitygridLink", "pinned": "left", "width": 210},
        "grade": {"cellClass": "grade-cell", "width": 84}})}
    spark = {"field": "series", "headerName": t("eval.col.series", lang), "cellRenderer": "CitygridSpark",
             "sortable": False, "filter": False, "width": 150, "pinned": "left"}
    out = []
    for header, fields in GROUPS:
        if fields == ("name",):
            out += [by_field["name"], spark]
        else:
            out.append({"headerName": t(header, lang), "children": [by_field[f] for f in fields]})
    return out


def layout(lang: str, query: dict, services) -> html.Div:
    period, error, store = asked_period(query, services.evaluation.today(), lang)
    defs = column_defs(lang)
    return html.Div([
        dcc.Store(id=Ids.LANG.value, data=lang), dcc.Store(id=Ids.PERIOD.value, data=store),
        html.Div([html.H1(t("eval.title", lang)), html.P(t("city.eval.subtitle", lang, zone=zone_label(services.scenario.calendar.tz, lang)), className="muted")],
                 className="report-title"),
        period_picker(Ids, period, lang, error),
        html.P(id=Ids.TOTALS.value, className="report-totals"),
        section(t("eval.professional", lang), grid(Ids.PROFESSIONAL.value, defs, lang, height=None),
                export_links("/reports/departments", store["query"] if store else {}, lang, Ids.EXPORT.value),
                section_id="departments-professional-section"),
        section(t("eval.streets_group", lang), grid(Ids.STREETS.value, defs, lang, height=None),
                section_id="departments-streets-section"),
        section(t("eval.chart.scores", lang), graph(Ids.SCORES.value, 320)),
        definitions(lang),
    ], className="report-page departments-page")
