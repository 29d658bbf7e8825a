"""Dispatch console (派遣台): map of waiting and in-progress cases, the dispatch queue, and
the case panel with the recommended department and deadline.

Also holds the pieces the supervision and department pages share (case details, timeline,
queue rows, time formatting).  Everything people typed is rendered as text components —
never as HTML — and the map's tooltips are built with ``textContent`` (assets/dispatch.js).
"""
from __future__ import annotations

from enum import Enum

import dash_leaflet as dl
from dash import dcc, html

from dashboard.i18n import t
from layouts.common import JS, cases_layer, light_dot, page_state, work_map
from layouts.components_map import components_layer
from dashboard.domain.permissions import PAGE_ROLES

PATH = "/dispatch"
TITLE = "nav.dispatch"
ROLES = PAGE_ROLES[PATH]
TICK_MS = 3000


class Ids(str, Enum):
    LANG = "dispatch-lang"
    TICK = "dispatch-tick"
    REFRESH = "dispatch-refresh"
    SIGNATURE = "dispatch-signature"
    SELECTED = "dispatch-selected"
    VERSION = "dispatch-version"
    DEFAULT_DEADLINE = "dispatch-default-deadline"
    MAP = "dispatch-map"
    FILED_LAYER = "dispatch-filed-layer"
    ACTIVE_LAYER = "dispatch-active-layer"
    DRAW = "dispatch-draw"
    QUEUE = "dispatch-queue"
    QUEUE_COUNT = "dispatch-queue-count"
    ACTIVE_COUNT = "dispatch-active-count"
    PANEL = "dispatch-panel"
    PANEL_BODY = "dispatch-panel-body"
    FORM = "dispatch-form"
    DEPARTMENT = "dispatch-department"
    DEADLINE = "dispatch-deadline"
    DEADLINE_HINT = "dispatch-deadline-hint"
    NOTE = "dispatch-note"
    SUBMIT = "dispatch-submit"
    MESSAGE = "dispatch-message"
    SELECTION = "dispatch-selection"
    BATCH = "dispatch-batch"
    BATCH_LIST = "dispatch-batch-list"
    BATCH_DEPARTMENT = "dispatch-batch-department"
    BATCH_SUBMIT = "dispatch-batch-submit"
    BATCH_CLEAR = "dispatch-batch-clear"
    BATCH_RESULT = "dispatch-batch-result"
    QUEUE_ROW = "dispatch-row"  # pattern-matching type: {"type": QUEUE_ROW, "case": id}


def layout(lang: str, query: dict, services) -> html.Div:
    return html.Div([
        *page_state(Ids, lang, query, TICK_MS, dcc.Store(id=Ids.VERSION.value), dcc.Store(id=Ids.DEFAULT_DEADLINE.value),
                    dcc.Store(id=Ids.SELECTION.value, data=[])),
        html.Aside([
            html.Div([html.H2(t("dispatch.queue", lang)), html.Span("0", id=Ids.QUEUE_COUNT.value, className="count")],
                     className="section-head"),
            html.Div(id=Ids.QUEUE.value, className="queue"),
            html.Div([
                html.P(t("dispatch.select_hint", lang), className="muted small"),
                html.Div(id=Ids.BATCH_LIST.value),
                html.Label(t("dispatch.batch_department", lang), className="small"),
                dcc.Dropdown(id=Ids.BATCH_DEPARTMENT.value, clearable=False, value="",
                             options=[{"label": t("dispatch.batch_each", lang), "value": ""}] + [
                                 {"label": d.name_en if lang == "en" else d.name_zh, "value": d.code}
                                 for d in services.scenario.departments.values()], className="dropdown"),
                html.Div([html.Button(t("dispatch.batch_submit", lang, n=0), id=Ids.BATCH_SUBMIT.value,
                                      className="primary"),
                          html.Button(t("dispatch.clear", lang), id=Ids.BATCH_CLEAR.value, className="ghost")],
                         className="buttons"),
                html.Div(id=Ids.BATCH_RESULT.value, className="batch-result"),
            ], id=Ids.BATCH.value, className="batch"),
        ], className="console-queue"),
        html.Section([
            work_map(Ids.MAP.value, services.maps, [
                components_layer("dispatch", services.component_layer.legend(lang)),   # issue 16
                cases_layer(Ids.ACTIVE_LAYER.value, cluster=True, superClusterOptions={"radius": 70, "maxZoom": 16},
                            clusterToLayer={"variable": f"{JS}.clusterToLayer"}),
                # the cases waiting for dispatch are the point of this page: above the clusters
                dl.Pane(cases_layer(Ids.FILED_LAYER.value), name="citygrid-filed", style={"zIndex": 620}),
                dl.FeatureGroup([dl.EditControl(
                    id=Ids.DRAW.value, position="topright",
                    draw={"polyline": False, "circle": False, "circlemarker": False, "marker": False,
                          "rectangle": {"shapeOptions": {"color": "#3ea6ff", "weight": 2}},
                          "polygon": {"shapeOptions": {"color": "#3ea6ff", "weight": 2}}},
                    edit={"edit": False})]),
            ]),
            html.Div([html.Span([html.Span(className="legend-dot filed"), t("dispatch.legend_filed", lang)]),
                      html.Span([html.Span(className="legend-dot active"), t("dispatch.legend_active", lang),
                                 " ", html.Span("0", id=Ids.ACTIVE_COUNT.value, className="muted")]),
                      html.Span([light_dot("green", lang), t("light.green", lang)]),
                      html.Span([light_dot("yellow", lang), t("light.yellow", lang)]),
                      html.Span([light_dot("red", lang), t("light.red", lang)])], className="map-legend"),
        ], className="console-map"),
        html.Aside([
            html.Div(html.P(t("dispatch.pick", lang), className="muted"), id=Ids.PANEL_BODY.value),
            html.Div([
                html.H4(t("dispatch.recommend", lang)),
                dcc.RadioItems(id=Ids.DEPARTMENT.value, options=[], className="dept-options",
                               inputClassName="dept-radio", labelClassName="dept-option"),
                html.Label([t("dispatch.deadline", lang),
                            dcc.Input(id=Ids.DEADLINE.value, type="datetime-local", className="input",
                                      debounce=True)], className="form-label"),
                html.Div(id=Ids.DEADLINE_HINT.value, className="muted small"),
                html.Label([t("dispatch.note", lang),
                            dcc.Textarea(id=Ids.NOTE.value, className="input", maxLength=1000,
                                         placeholder=t("dispatch.note_placeholder", lang))], className="form-label"),
                html.Button(t("dispatch.submit", lang), id=Ids.SUBMIT.value, className="primary wide"),
            ], id=Ids.FORM.value, className="dispatch-form hidden"),
            html.Div(id=Ids.MESSAGE.value, className="message", role="status"),
            html.Div(id=Ids.PANEL.value),
        ], className="console-panel"),
    ], className="console")
