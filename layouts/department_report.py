"""One department's evaluation (``/departments/<code>``): its figures over the period with
targets and score parts, the daily trend of volume and on-time rate, breakdowns by
category and by street, and — now, whatever the period — its open cases with traffic
lights and its overdue cases oldest first (a click shows the case and its timeline), then
the returns and reworks of the period's cases with the reasons given.  Every table exports
to CSV and Excel; every chart downloads as PNG from its modebar.

(``/department``, singular, is the department's own work page; this is the supervisors'.)
"""
from __future__ import annotations

from enum import Enum
from urllib.parse import urlencode

from dash import dcc, html

from dashboard.domain.permissions import PAGE_ROLES
from dashboard.i18n import t
from dashboard.i18n.city import zone_label
from layouts.report_common import (asked_period, columns, definitions, export_links, graph, grid, period_picker, section)

PATH = "/departments/<code>"
TITLE = "nav.departments"
ROLES = PAGE_ROLES["/departments"]


class Ids(str, Enum):
    LANG = "dept-report-lang"
    CODE = "dept-report-code"
    PERIOD = "dept-report-period"
    PERIOD_KIND = "dept-report-period-kind"
    MONTH = "dept-report-month"
    FIRST = "dept-report-first"
    LAST = "dept-report-last"
    APPLY = "dept-report-apply"
    RANGE = "dept-report-range"
    PERIOD_ERROR = "dept-report-period-error"
    CARDS = "dept-report-cards"
    TREND = "dept-report-trend"
    CATEGORY_CHART = "dept-report-category-chart"
    STREET_CHART = "dept-report-street-chart"
    CATEGORIES = "dept-report-categories"
    STREETS = "dept-report-streets"
    OPEN = "dept-report-open"
    OVERDUE = "dept-report-overdue"
    EVENTS = "dept-report-events"
    CASE = "dept-report-case"
    CASE_TIMELINE = "dept-report-case-timeline"


#: table → (grid id, export link id) of the tables shown
GRIDS = {"categories": Ids.CATEGORIES, "streets": Ids.STREETS, "open": Ids.OPEN, "overdue": Ids.OVERDUE,
         "events": Ids.EVENTS}
CASE_COLUMN = {"case_id": {"cellRenderer": "CitygridCase", "pinned": "left", "width": 170}}


def layout(lang: str, query: dict, services) -> html.Div:
    code = query.get("code", "")
    department = services.scenario.departments.get(code)
    back = html.A(t("eval.back", lang), href=f"/departments?lang={lang}", className="back-link")
    if department is None:
        return html.Div([back, html.P(t("eval.unknown_department", lang, code=code[:40]), className="notice",
                                      id="dept-report-unknown")], className="report-page")
    period, error, store = asked_period(query, services.evaluation.today(), lang)
    back.href = "/departments?" + urlencode({**(store["query"] if store else {}), "lang": lang})
    name = department.name_en if lang == "en" else department.name_zh
    q = store["query"] if store else {}
    base = f"/reports/departments/{code}"

    def exports_of(table: str):
        return export_links(f"{base}/{table}", q, lang, f"dept-report-export-{table}")

    return html.Div([
        dcc.Store(id=Ids.LANG.value, data=lang), dcc.Store(id=Ids.CODE.value, data=code),
        dcc.Store(id=Ids.PERIOD.value, data=store),
        back,
        html.Div([html.H1(t("eval.dept.title", lang, name=name), id="dept-report-title"),
                  html.P(t("city.eval.subtitle", lang, zone=zone_label(services.scenario.calendar.tz, lang)),
                         className="muted")], className="report-title"),
        period_picker(Ids, period, lang, error),
        html.Div(id=Ids.CARDS.value, className="kpis"),
        section(t("eval.dept.trend", lang), graph(Ids.TREND.value, 300), exports_of("trend")),
        html.Div([
            section(t("eval.dept.by_category", lang), html.Div([graph(Ids.CATEGORY_CHART.value, 260),
                                                                grid(Ids.CATEGORIES.value, columns("categories", lang),
                                                                     lang, height=300)]), exports_of("categories")),
            section(t("eval.dept.by_street", lang), html.Div([graph(Ids.STREET_CHART.value, 260),
                                                              grid(Ids.STREETS.value, columns("streets", lang),
                                                                   lang, height=300)]), exports_of("streets")),
        ], className="report-columns"),
        html.Div([
            html.Div([
                section(t("eval.dept.open", lang), grid(Ids.OPEN.value, columns("open", lang, {
                    **CASE_COLUMN, "light": {"cellRenderer": "CitygridLight", "width": 96}}), lang, height=340,
                    row_id="case_id"), exports_of("open")),
                section(t("eval.dept.overdue", lang), grid(Ids.OVERDUE.value, columns("overdue", lang, CASE_COLUMN),
                                                           lang, height=300, row_id="case_id"), exports_of("overdue")),
            ], className="report-main"),
            html.Aside([html.H3(t("eval.open_case", lang)),
                        html.Div(html.P(t("eval.pick_case", lang), className="muted"), id=Ids.CASE.value),
                        html.Div(id=Ids.CASE_TIMELINE.value)], className="report-case console-panel"),
        ], className="report-columns now"),
        section(t("eval.dept.events", lang), grid(Ids.EVENTS.value, columns("events", lang, CASE_COLUMN), lang, height=300,
                                                        row_id="row_key"),
                exports_of("events")),
        definitions(lang),
    ], className="report-page department-report-page")
