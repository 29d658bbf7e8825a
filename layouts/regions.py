"""Regions (区域分析, ``/regions``): district → street → community → grid, on a map and in a
table — cases per km² and per grid, closure and on-time closure, public-report share, top
categories — over a period; clicking a region drills down, down to one grid and its cases.

Deep links: ``/regions?from=2026-11-01&to=2026-11-30&street=110101001&community=…&grid=…``.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum

import dash_leaflet as dl
from dash import dcc, html

from dashboard.domain.permissions import PAGE_ROLES
from dashboard.i18n import t
from layouts.components_map import components_layer, offenders_panel
from layouts.reporting import PLOT_CONFIG, definitions, map_view, period_bar, report_grid

PATH = "/regions"
TITLE = "nav.regions"
ROLES = PAGE_ROLES[PATH]
DEFAULT_DAYS = 30


class Ids(str, Enum):
    LANG = "regions-lang"
    PATH = "regions-path"             # dcc.Store: {"street", "community", "grid"} chosen so far
    PERIOD = "regions-period"
    METRIC = "regions-metric"
    EXPORT_CSV = "regions-export-csv"
    EXPORT_XLSX = "regions-export-xlsx"
    CRUMBS = "regions-crumbs"
    CRUMB = "regions-crumb"           # pattern-matching type of the breadcrumb links
    MAP = "regions-map"
    SHAPES = "regions-shapes"
    CASES_LAYER = "regions-cases-layer"
    LEGEND = "regions-legend"
    CHART = "regions-chart"
    LEVEL_TITLE = "regions-level-title"
    COUNT = "regions-count"
    TABLE = "regions-table"
    CASES_BOX = "regions-cases-box"
    CASES_TITLE = "regions-cases-title"
    CASES_TABLE = "regions-cases-table"
    CASES_CSV = "regions-cases-csv"
    CASES_XLSX = "regions-cases-xlsx"
    MESSAGE = "regions-message"
    HOW = "regions-how"


#: metrics the map can colour by: (field, header key, True when a high value needs attention)
METRICS = (("per_km2", "col.per_km2", True), ("per_grid", "col.per_grid", True),
           ("closure_rate", "col.closure_rate", False), ("on_time_closure_rate", "col.on_time_closure_rate", False),
           ("public_share", "col.public_share", True))
#: colour ramp, from "fine" to "needs attention"
RAMP = ("#1d3b5c", "#24628a", "#3f8fa8", "#e7b84a", "#f07f3c", "#e0404a")
DEFINITIONS = ["def.regions.intro", "def.regions.cases", "def.regions.density", "def.regions.closure",
               "def.regions.public", "def.regions.top"]


def _fn(name: str) -> dict:
    """A reference to a function of ``window.citygridReports`` (assets/reports.js)."""
    return {"variable": f"citygridReports.{name}"}


def initial_path(query: dict) -> dict:
    return {level: query.get(level) or None for level in ("street", "community", "grid")}


def layout(lang: str, query: dict, services) -> html.Div:
    tz = services.scenario.calendar.tz
    today = datetime.now(tz).date()
    first = query.get("from") or (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
    last = query.get("to") or today.isoformat()
    urls = services.geo.urls()
    return html.Div([
        dcc.Store(id=Ids.LANG.value, data=lang),
        dcc.Store(id=Ids.PATH.value, data=initial_path(query)),
        html.Div([
            html.H1(t("regions.title", lang)),
            period_bar(Ids, lang, datetime.fromisoformat(first).date(), datetime.fromisoformat(last).date(), [],
                       tz=services.scenario.calendar.tz),
            html.Label([html.Span(t("regions.metric", lang), className="muted"), dcc.Dropdown(
                id=Ids.METRIC.value, value=METRICS[0][0], clearable=False, searchable=False, className="dropdown",
                options=[{"label": t(key, lang), "value": field} for field, key, _ in METRICS],
                style={"width": "190px"})], className="metric"),
        ], className="report-head"),
        html.Div(id=Ids.MESSAGE.value, role="status"),
        html.Nav(id=Ids.CRUMBS.value, className="crumbs"),
        html.P(t("regions.click_hint", lang), className="muted small hint"),
        html.Div([
            html.Div([
                dl.Map([
                    dl.Pane(dl.GeoJSON(url=urls["district"], interactive=False,
                                       style={"color": "#5b8def", "weight": 2, "fill": False}),
                            name="regions-base", style={"zIndex": 380}),
                    dl.GeoJSON(id=Ids.SHAPES.value, data={"type": "FeatureCollection", "features": []},
                               style=_fn("regionStyle"), onEachFeature=_fn("regionEach"),
                               hideout={"ramp": list(RAMP), "selected": None}),
                    dl.Pane(dl.GeoJSON(url=urls["roads"], interactive=False,
                                       style={"color": "#7f93b5", "weight": 1, "opacity": 0.45}),
                            name="regions-roads", style={"zIndex": 420, "pointerEvents": "none"}),
                    dl.Pane(dl.GeoJSON(id=Ids.CASES_LAYER.value, data={"type": "FeatureCollection", "features": []},
                                       pointToLayer=_fn("casePoint"), onEachFeature=_fn("caseEach")),
                            name="regions-cases", style={"zIndex": 450}),
                    # issue 16: off at first (its clusters would catch the clicks that drill down)
                    components_layer("regions", services.component_layer.legend(lang), shown=False, z_index=440),
                    dl.ScaleControl(position="bottomleft", imperial=False),
                ], id=Ids.MAP.value, **map_view(services.geo.layers.district_bounds), zoomSnap=0.25, minZoom=11,
                    maxZoom=19, attributionControl=False, style={"height": "100%", "width": "100%"}),
                html.Div(id=Ids.LEGEND.value, className="map-legend report-legend"),
            ], className="report-map"),
            html.Div(dcc.Graph(id=Ids.CHART.value, config={**PLOT_CONFIG, "toImageButtonOptions": {
                **PLOT_CONFIG["toImageButtonOptions"], "filename": "citygrid-regions"}},
                style={"height": "100%"}), className="report-chart"),
        ], className="report-top"),
        html.Section([
            html.Div([html.H2(id=Ids.LEVEL_TITLE.value), html.Span(id=Ids.COUNT.value, className="count"),
                      html.Div([html.A(t("report.export_csv", lang), id=Ids.EXPORT_CSV.value, className="button-link",
                                       href="#"),
                                html.A(t("report.export_xlsx", lang), id=Ids.EXPORT_XLSX.value,
                                       className="button-link", href="#")], className="exports")],
                     className="section-head"),
            report_grid(Ids.TABLE.value, "regions", lang, height="430px"),
        ], className="report-section"),
        html.Section([
            html.Div([html.H2(id=Ids.CASES_TITLE.value),
                      html.Div([html.A(t("report.export_csv", lang), id=Ids.CASES_CSV.value, className="button-link",
                                       href="#"),
                                html.A(t("report.export_xlsx", lang), id=Ids.CASES_XLSX.value, className="button-link",
                                       href="#")], className="exports")], className="section-head"),
            report_grid(Ids.CASES_TABLE.value, "cases", lang, height="360px", row_id="case_id"),
        ], id=Ids.CASES_BOX.value, className="report-section hidden"),
        offenders_panel("regions", lang),   # issue 16: the components with the most cases
        definitions(DEFINITIONS, lang, Ids.HOW.value),
        html.P(t("report.chart_png", lang), className="muted small"),
    ], className="report-page regions-page")
