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
from layouts.common import JS, cases_layer, geo_urls, light_dot, page_state, queue_filters, work_map
from layouts.components_map import components_layer
from dashboard.domain.permissions import PAGE_ROLES

PATH = "/dispatch"
TITLE = "nav.dispatch"
ROLES = PAGE_ROLES[PATH]
TICK_MS = 3000
FILED_PANE = "citygrid-filed"  # the waiting cases' own pane, above the in-progress clusters (z 600)


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
    DEPARTMENT_BOX = "dispatch-department-box"
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
    VIEW = "dispatch-view"
    SUBMIT_NEXT = "dispatch-submit-next"
    PLAN = "dispatch-batch-plan"
    CONFIRM = "dispatch-confirm"
    CONFIRM_TEXT = "dispatch-confirm-text"
    CONFIRM_GO = "dispatch-confirm-go"
    CONFIRM_CANCEL = "dispatch-confirm-cancel"
    QUEUE_ROW = "dispatch-row"  # pattern-matching type: {"type": QUEUE_ROW, "case": id}


def department_choice(options: list[dict], value: str | None) -> dcc.RadioItems:
    """The candidate departments, drawn anew for each case: replacing the options (labels that
    are components) of a live RadioItems by another case's made Dash's renderer throw
    "Cannot read properties of undefined" in the console."""
    return dcc.RadioItems(id=Ids.DEPARTMENT.value, options=options, value=value, className="dept-options",
                          inputClassName="dept-radio", labelClassName="dept-option")


def batch_panel(lang: str, services) -> html.Div:
    """The box selection: its cases (each with the department it would go to), a department
    for all of them or each its recommended one, and the confirmation before anything goes."""
    return html.Div([
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
        html.Div([
            html.H4(t("work.batch.confirm_title", lang)),
            html.P(id=Ids.CONFIRM_TEXT.value, className="confirm-text"),
            html.Div([html.Button(t("work.batch.confirm_go", lang), id=Ids.CONFIRM_GO.value, className="primary"),
                      html.Button(t("work.batch.cancel", lang), id=Ids.CONFIRM_CANCEL.value, className="ghost")],
                     className="buttons"),
        ], id=Ids.CONFIRM.value, className="confirm hidden", role="alertdialog"),
        html.Div(id=Ids.BATCH_RESULT.value, className="batch-result"),
    ], id=Ids.BATCH.value, className="batch")


def layout(lang: str, query: dict, services) -> html.Div:
    return html.Div([
        *page_state(Ids, lang, query, TICK_MS, dcc.Store(id=Ids.VERSION.value), dcc.Store(id=Ids.DEFAULT_DEADLINE.value),
                    dcc.Store(id=Ids.SELECTION.value, data=[]), dcc.Store(id=Ids.VIEW.value, data={"sort": "urgent"}),
                    dcc.Store(id=Ids.PLAN.value)),
        html.Aside([
            html.Div([html.H2(t("dispatch.queue", lang)), html.Span("0", id=Ids.QUEUE_COUNT.value, className="count")],
                     className="section-head"),
            queue_filters("dispatch", lang, services.scenario),
            html.Div(id=Ids.QUEUE.value, className="queue"),
        ], className="console-queue"),
        html.Section([
            work_map(Ids.MAP.value, services.maps, [
                components_layer("dispatch", services.component_layer.legend(lang)),   # issue 16
                cases_layer(Ids.ACTIVE_LAYER.value, cluster=True, superClusterOptions={"radius": 70, "maxZoom": 16},
                            clusterToLayer={"variable": f"{JS}.clusterToLayer"}),
                # the cases waiting for dispatch are the point of this page: above the clusters
                # (their markers are put in this pane by assets/dispatch.js, told so by the hideout)
                dl.Pane(cases_layer(Ids.FILED_LAYER.value, hideout={"pane": FILED_PANE}), name=FILED_PANE,
                        style={"zIndex": 620}),
                dl.FeatureGroup([dl.EditControl(
                    id=Ids.DRAW.value, position="topright",
                    draw={"polyline": False, "circle": False, "circlemarker": False, "marker": False,
                          "rectangle": {"shapeOptions": {"color": "#3ea6ff", "weight": 2}},
                          "polygon": {"shapeOptions": {"color": "#3ea6ff", "weight": 2}}},
                    edit={"edit": False})]),
            ], urls=geo_urls(services)),
            html.Div([html.Span([html.Span(className="legend-dot filed"), t("dispatch.legend_filed", lang)]),
                      html.Span([html.Span(className="legend-dot active"), t("dispatch.legend_active", lang),
                                 " ", html.Span("0", id=Ids.ACTIVE_COUNT.value, className="muted")]),
                      html.Span([html.Span(className="legend-dot chosen"), t("work.map.chosen", lang)]),
                      html.Span([light_dot("green", lang), t("light.green", lang)]),
                      html.Span([light_dot("yellow", lang), t("light.yellow", lang)]),
                      html.Span([light_dot("red", lang), t("light.red", lang)])], className="map-legend"),
        ], className="console-map"),
        html.Aside([
            batch_panel(lang, services),
            html.Div(html.P(t("dispatch.pick", lang), className="muted"), id=Ids.PANEL_BODY.value),
            html.Div([
                html.H4(t("dispatch.recommend", lang)),
                html.Div(department_choice([], None), id=Ids.DEPARTMENT_BOX.value),
                html.Label([t("dispatch.deadline", lang),
                            dcc.Input(id=Ids.DEADLINE.value, type="datetime-local", className="input",
                                      debounce=True)], className="form-label"),
                html.Div(id=Ids.DEADLINE_HINT.value, className="muted small"),
                html.Label([t("dispatch.note", lang),
                            dcc.Textarea(id=Ids.NOTE.value, className="input", maxLength=1000,
                                         placeholder=t("dispatch.note_placeholder", lang))], className="form-label"),
                html.Div([html.Button(t("dispatch.submit", lang), id=Ids.SUBMIT.value, className="primary"),
                          html.Button(t("work.dispatch.next", lang), id=Ids.SUBMIT_NEXT.value, className="secondary")],
                         className="buttons dispatch-buttons"),
            ], id=Ids.FORM.value, className="dispatch-form hidden"),
            html.Div(id=Ids.MESSAGE.value, className="message", role="status"),
            html.Div(id=Ids.PANEL.value),
        ], className="console-panel"),
    ], className="console")
