"""Supervision centre page (受理与核查): register a phone report by clicking the map, file or
reject reports, verify handled cases (pass, or fail → rework), close verified cases,
approve or decline extension / suspension requests, resume suspended cases."""
from __future__ import annotations

from enum import Enum

import dash_leaflet as dl
from dash import dcc, html

from dashboard.i18n import t
from layouts import evidence
from layouts.common import JS, cases_layer, geo_urls, page_state, queue_filters, work_map
from layouts.components_map import components_layer
from dashboard.domain.permissions import PAGE_ROLES

PATH = "/intake"
TITLE = "nav.intake"
ROLES = PAGE_ROLES[PATH]
TICK_MS = 3000
#: queue boxes: stage (or "requests") → title key
QUEUES = (("reported", "intake.reported"), ("handled", "intake.handled"), ("verified", "intake.verified"),
          ("suspended", "intake.suspended"), ("requests", "intake.requests"))
REGISTER_SOURCES = ("phone", "hotline12345", "inspector", "app", "camera")


class Ids(str, Enum):
    LANG = "intake-lang"
    TICK = "intake-tick"
    REFRESH = "intake-refresh"
    SIGNATURE = "intake-signature"
    SELECTED = "intake-selected"
    SHOWN = "intake-shown"
    VIEW = "intake-view"
    MAP = "intake-map"
    CASES_LAYER = "intake-cases-layer"
    PICKED_LAYER = "intake-picked-layer"
    PICKED = "intake-picked"
    CATEGORY = "intake-category"
    POSITION = "intake-position"
    DESCRIPTION = "intake-description"
    SOURCE = "intake-source"
    URGENCY = "intake-urgency"
    REGISTER = "intake-register"
    REGISTER_MESSAGE = "intake-register-message"
    QUEUES = "intake-queues"
    PANEL_BODY = "intake-panel-body"
    PANEL_TIMELINE = "intake-panel-timeline"
    REQUEST = "intake-request"
    ACTIONS = "intake-actions"
    REASON = "intake-reason"
    REASON_BOX = "intake-reason-box"
    UNTIL = "intake-until"
    UNTIL_BOX = "intake-until-box"
    FILE = "intake-file"
    REJECT = "intake-reject"
    PASS = "intake-pass"
    FAIL = "intake-fail"
    CLOSE = "intake-close"
    EXTEND = "intake-extend"
    SUSPEND = "intake-suspend"
    RESUME = "intake-resume"
    DECLINE = "intake-decline"
    ACTION_MESSAGE = "intake-action-message"
    ROW = "intake-row"  # pattern-matching type


#: button id → (command, extra parameters, i18n label, css class); which of them a case's
#: stage offers comes from :func:`dashboard.domain.permissions.offered_actions`.
BUTTONS = {
    Ids.FILE: ("file", {}, "intake.file", "primary"),
    Ids.REJECT: ("reject", {}, "intake.reject", "danger"),
    Ids.PASS: ("verify", {"result": "pass"}, "intake.verify_pass", "primary"),
    Ids.FAIL: ("verify", {"result": "fail"}, "intake.verify_fail", "danger"),
    Ids.CLOSE: ("close", {}, "intake.close", "primary"),
    Ids.EXTEND: ("extend", {}, "intake.extend", "secondary"),
    Ids.SUSPEND: ("suspend", {}, "intake.suspend", "secondary"),
    Ids.RESUME: ("resume", {}, "intake.resume", "primary"),
    Ids.DECLINE: ("decline", {}, "intake.decline", "ghost"),
}
NEEDS_UNTIL = (Ids.EXTEND,)


def layout(lang: str, query: dict, services) -> html.Div:
    categories = [{"label": f"{c.code} {c.name_en if lang == 'en' else c.name_zh}", "value": c.code}
                  for c in services.scenario.categories.values()]
    return html.Div([
        *page_state(Ids, lang, query, TICK_MS, dcc.Store(id=Ids.SHOWN.value), dcc.Store(id=Ids.PICKED.value),
                    dcc.Store(id=Ids.VIEW.value, data={"sort": "urgent"})),
        html.Div([
            html.Div(work_map(Ids.MAP.value, services.maps, [
                components_layer("intake", services.component_layer.legend(lang)),   # issue 16
                # clustered: a thousand open cases are a handful of numbered circles, not a sea of dots
                cases_layer(Ids.CASES_LAYER.value, cluster=True, superClusterOptions={"radius": 60, "maxZoom": 16},
                            clusterToLayer={"variable": f"{JS}.clusterToLayer"}, zoomToBoundsOnClick=True),
                dl.GeoJSON(id=Ids.PICKED_LAYER.value, data={"type": "FeatureCollection", "features": []},
                           pointToLayer={"variable": f"{JS}.pickedToLayer"}, interactive=False),
            ], urls=geo_urls(services), cursor="crosshair"), className="work-map"),
            queue_filters("intake", lang, services.scenario),
            html.Div(id=Ids.QUEUES.value, className="work-queues"),
        ], className="work-left"),
        html.Aside([
            html.Div([
                html.Div(html.H2(t("intake.register", lang)), className="section-head"),
                html.Div([
                    html.Label([t("intake.category", lang),
                                dcc.Dropdown(id=Ids.CATEGORY.value, options=categories, value=None, searchable=True,
                                             className="dropdown")]),
                    html.Label([t("intake.position", lang),
                                html.Div(t("intake.position_none", lang), id=Ids.POSITION.value, className="muted small")]),
                    html.Label([t("intake.description", lang),
                                dcc.Textarea(id=Ids.DESCRIPTION.value, className="input", maxLength=2000)]),
                    html.Div([
                        html.Label([t("intake.source", lang), dcc.Dropdown(
                            id=Ids.SOURCE.value, clearable=False, value="phone", className="dropdown",
                            options=[{"label": t(f"source.{s}", lang), "value": s} for s in REGISTER_SOURCES])],
                            style={"flex": 1}),
                        html.Label([t("intake.urgency", lang), dcc.RadioItems(
                            id=Ids.URGENCY.value, value="normal", className="radio-inline",
                            options=[{"label": t("dispatch.normal", lang), "value": "normal"},
                                     {"label": t("dispatch.urgent", lang), "value": "urgent"}])]),
                    ], style={"display": "flex", "gap": "12px"}),
                    html.Button(t("intake.submit", lang), id=Ids.REGISTER.value, className="primary"),
                    html.Div(id=Ids.REGISTER_MESSAGE.value, className="message", role="status"),
                ], className="work-form"),
            ]),
            html.Div([
                html.Div(html.P(t("dispatch.pick", lang), className="muted"), id=Ids.PANEL_BODY.value),
                html.Div(id=Ids.REQUEST.value),
                html.Div([
                    html.Label([t("intake.reason", lang), dcc.Textarea(id=Ids.REASON.value, className="input",
                                                                      maxLength=1000)],
                               id=Ids.REASON_BOX.value, className="form-label"),
                    html.Label([t("intake.until", lang), dcc.Input(id=Ids.UNTIL.value, type="datetime-local",
                                                                  className="input")],
                               id=Ids.UNTIL_BOX.value, className="form-label hidden"),
                    html.Div([html.Button(t(label, lang), id=button.value, className=f"{css} hidden")
                              for button, (_, _, label, css) in BUTTONS.items()], className="buttons"),
                ], id=Ids.ACTIONS.value, className="actions hidden"),
                html.Div(id=Ids.ACTION_MESSAGE.value, className="message", role="status"),
                evidence.panel("intake", lang, services.settings.evidence_max_bytes),   # before/after (issue 11)
                html.Div(id=Ids.PANEL_TIMELINE.value),
            ], className="work-panel"),
        ], className="work-side"),
    ], className="work")
