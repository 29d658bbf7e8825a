"""People (人员考核, ``/inspectors``): grid inspectors — reports, valid-report rate, on-time
verification and the missed-report rate on a map of grids, so under-reporting shows —
dispatchers (on-time and accurate dispatch) and the centre's shifts (on-time filing and
closing), each with its composite score of DOMAIN.md §4 over a period."""
from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum

import dash_leaflet as dl
from dash import dcc, html

from dashboard.domain.permissions import PAGE_ROLES
from dashboard.i18n import t
from layouts.reporting import PLOT_CONFIG, definitions, map_view, period_bar, report_grid

PATH = "/inspectors"
TITLE = "nav.inspectors"
ROLES = PAGE_ROLES[PATH]
DEFAULT_DAYS = 30


class Ids(str, Enum):
    LANG = "people-lang"
    PERIOD = "people-period"
    SELECTED = "people-selected"       # dcc.Store: the inspector picked on the map or in the table
    MESSAGE = "people-message"
    MAP = "people-map"
    GRIDS = "people-grids"
    LEGEND = "people-legend"
    SCATTER = "people-scatter"
    CARD = "people-card"
    INSPECTORS = "people-inspectors"
    INSPECTORS_CSV = "people-inspectors-csv"
    INSPECTORS_XLSX = "people-inspectors-xlsx"
    UNROSTERED = "people-unrostered"
    DISPATCHERS = "people-dispatchers"
    DISPATCHERS_CSV = "people-dispatchers-csv"
    DISPATCHERS_XLSX = "people-dispatchers-xlsx"
    SHIFTS = "people-shifts"
    SHIFTS_CSV = "people-shifts-csv"
    SHIFTS_XLSX = "people-shifts-xlsx"
    SHIFT_CHART = "people-shift-chart"
    HOW_INSPECTORS = "people-how-inspectors"
    HOW_DISPATCHERS = "people-how-dispatchers"
    HOW_SHIFTS = "people-how-shifts"


#: missed-report rate classes (lower bounds) and their colours, from fine to worrying
MISSED_CLASSES = ((0.0, "#1d3b5c"), (0.10, "#24628a"), (0.15, "#3f8fa8"), (0.20, "#e7b84a"), (0.30, "#f07f3c"),
                  (0.40, "#e0404a"))
#: export links per table: (csv id, xlsx id, API path)
EXPORTS = {"inspectors": (Ids.INSPECTORS_CSV, Ids.INSPECTORS_XLSX, "/api/v1/inspectors"),
           "dispatchers": (Ids.DISPATCHERS_CSV, Ids.DISPATCHERS_XLSX, "/api/v1/dispatchers"),
           "shifts": (Ids.SHIFTS_CSV, Ids.SHIFTS_XLSX, "/api/v1/shifts")}


def _fn(name: str) -> dict:
    return {"variable": f"citygridReports.{name}"}


def _exports(table: str, lang: str) -> html.Div:
    csv_id, xlsx_id, _ = EXPORTS[table]
    return html.Div([html.A(t("report.export_csv", lang), id=csv_id.value, className="button-link", href="#"),
                     html.A(t("report.export_xlsx", lang), id=xlsx_id.value, className="button-link", href="#")],
                    className="exports")


def _graph(element: Ids, filename: str, height: str = "100%") -> dcc.Graph:
    return dcc.Graph(id=element.value, style={"height": height},
                     config={**PLOT_CONFIG, "toImageButtonOptions": {**PLOT_CONFIG["toImageButtonOptions"],
                                                                     "filename": filename}})


def legend(lang: str) -> list:
    items = [html.Span([html.I(style={"background": colour}), f"≥ {low:.0%}"]) for low, colour in MISSED_CLASSES]
    return [html.Span(t("col.missed_rate", lang)), *items]


def layout(lang: str, query: dict, services) -> html.Div:
    tz = services.scenario.calendar.tz
    today = datetime.now(tz).date()
    first = datetime.fromisoformat(query["from"]).date() if query.get("from") else today - timedelta(days=DEFAULT_DAYS - 1)
    last = datetime.fromisoformat(query["to"]).date() if query.get("to") else today
    urls = services.geo.urls()
    return html.Div([
        dcc.Store(id=Ids.LANG.value, data=lang),
        dcc.Store(id=Ids.SELECTED.value, data=query.get("inspector")),
        html.Div([html.H1(t("people.title", lang)), period_bar(Ids, lang, first, last, [], tz=services.scenario.calendar.tz)], className="report-head"),
        html.Div(id=Ids.MESSAGE.value, role="status"),
        html.Section([
            html.Div([html.H2(t("people.inspectors", lang)), _exports("inspectors", lang)], className="section-head"),
            html.Div([
                html.Div([
                    dl.Map([
                        dl.GeoJSON(id=Ids.GRIDS.value, url=urls["grids"], style=_fn("gridStyle"),
                                   onEachFeature=_fn("gridEach"),
                                   hideout={"ramp": [c for _, c in MISSED_CLASSES], "g": [], "c": [], "n": [],
                                            "sel": None}),
                        dl.Pane(dl.GeoJSON(url=urls["streets"], interactive=False,
                                           style={"color": "#9fb3d6", "weight": 1.4, "fill": False, "opacity": 0.8}),
                                name="people-streets", style={"zIndex": 420, "pointerEvents": "none"}),
                        dl.ScaleControl(position="bottomleft", imperial=False),
                    ], id=Ids.MAP.value, **map_view(services.geo.layers.district_bounds), zoomSnap=0.25, minZoom=11,
                        maxZoom=19, attributionControl=False, preferCanvas=True,
                        style={"height": "100%", "width": "100%"}),
                    html.Div(legend(lang), id=Ids.LEGEND.value, className="map-legend report-legend"),
                ], className="report-map"),
                html.Div([
                    html.Div(_graph(Ids.SCATTER, "citygrid-inspectors"), className="report-chart",
                             style={"flex": "1 1 auto"}),
                    html.Div(html.P(t("people.pick", lang), className="muted"), id=Ids.CARD.value,
                             className="people-card"),
                ], className="people-side"),
            ], className="people-top"),
            html.P(t("people.map_title", lang), className="muted small"),
            report_grid(Ids.INSPECTORS.value, "inspectors", lang, height="420px", row_id="id"),
            html.P(id=Ids.UNROSTERED.value, className="note"),
            definitions(["def.people.period", "def.people.who", "def.people.valid", "def.people.missed",
                         "def.people.verify", "def.people.check"], lang, Ids.HOW_INSPECTORS.value),
        ], className="report-section"),
        html.Section([
            html.Div([html.H2(t("people.dispatchers", lang)), _exports("dispatchers", lang)], className="section-head"),
            report_grid(Ids.DISPATCHERS.value, "dispatchers", lang, height="260px", row_id="actor"),
            definitions(["def.people.dispatch", "def.people.period"], lang, Ids.HOW_DISPATCHERS.value),
        ], className="report-section"),
        html.Section([
            html.Div([html.H2(t("people.shifts", lang)), _exports("shifts", lang)], className="section-head"),
            html.Div([report_grid(Ids.SHIFTS.value, "shifts", lang, height="200px", row_id="shift"),
                      html.Div(_graph(Ids.SHIFT_CHART, "citygrid-shifts", "260px"), className="report-chart")],
                     className="shift-row"),
            definitions(["def.people.shift", "def.people.period"], lang, Ids.HOW_SHIFTS.value),
        ], className="report-section"),
        html.P(t("report.chart_png", lang), className="muted small"),
    ], className="report-page people-page")
