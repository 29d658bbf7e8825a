"""Department page (部门工作台): the cases dispatched to the user's department; mark one
handled, return it as wrongly routed, or ask the supervision centre for an extension or a
suspension."""
from __future__ import annotations

from enum import Enum

from dash import dcc, html

from dashboard.i18n import t
from layouts import evidence
from layouts.common import JS, cases_layer, geo_urls, page_state, queue_filters, work_map
from dashboard.domain.permissions import PAGE_ROLES

PATH = "/department"
TITLE = "nav.department"
ROLES = PAGE_ROLES[PATH]
TICK_MS = 3000
#: a department works newest first: the case dispatched a minute ago is on top, urgent ones above all
DEFAULT_SORT = "newest"


class Ids(str, Enum):
    LANG = "department-lang"
    TICK = "department-tick"
    REFRESH = "department-refresh"
    SIGNATURE = "department-signature"
    SELECTED = "department-selected"
    SHOWN = "department-shown"
    VIEW = "department-view"
    PAGER = "department-pager"
    MAP = "department-map"
    CASES_LAYER = "department-cases-layer"
    QUEUE = "department-queue"
    QUEUE_COUNT = "department-queue-count"
    PANEL_BODY = "department-panel-body"
    PANEL_TIMELINE = "department-panel-timeline"
    ACTIONS = "department-actions"
    NOTE = "department-note"
    UNTIL = "department-until"
    HANDLE = "department-handle"
    RETURN = "department-return"
    REQUEST_EXTEND = "department-request-extend"
    REQUEST_SUSPEND = "department-request-suspend"
    MESSAGE = "department-message"
    ROW = "department-row"  # pattern-matching type


#: button → (command, extra parameters, label, css class)
BUTTONS = {
    Ids.HANDLE: ("handle", {}, "department.handle", "primary"),
    Ids.RETURN: ("return", {}, "department.return", "danger"),
    Ids.REQUEST_EXTEND: ("request", {"kind": "extend"}, "department.request_extend", "secondary"),
    Ids.REQUEST_SUSPEND: ("request", {"kind": "suspend"}, "department.request_suspend", "secondary"),
}


def layout(lang: str, query: dict, services) -> html.Div:
    from flask_login import current_user
    queries = services.cases
    department = getattr(current_user, "department_code", None)
    title = queries.department_name(department, lang) if department else t("department.queue", lang)
    return html.Div([
        *page_state(Ids, lang, query, TICK_MS, dcc.Store(id=Ids.SHOWN.value),
                    dcc.Store(id=Ids.VIEW.value, data={"sort": DEFAULT_SORT})),
        html.Aside([
            html.Div([html.H2(title), html.Span("0", id=Ids.QUEUE_COUNT.value, className="count")],
                     className="section-head"),
            html.P(t("department.queue", lang), className="muted small"),
            queue_filters("department", lang, services.scenario, sort=DEFAULT_SORT),
            html.Div(id=Ids.QUEUE.value, className="queue"),
            html.Div(id=Ids.PAGER.value),
        ], className="console-queue"),
        html.Section(work_map(Ids.MAP.value, services.maps, [
            cases_layer(Ids.CASES_LAYER.value, cluster=True, superClusterOptions={"radius": 50, "maxZoom": 16},
                        clusterToLayer={"variable": f"{JS}.clusterToLayer"}, zoomToBoundsOnClick=True)],
            urls=geo_urls(services)), className="console-map"),
        html.Aside([
            html.Div(html.P(t("dispatch.pick", lang), className="muted"), id=Ids.PANEL_BODY.value),
            html.Div([
                html.Label([t("department.note", lang), dcc.Textarea(id=Ids.NOTE.value, className="input",
                                                                    maxLength=1000)], className="form-label"),
                html.Label([t("intake.until", lang), dcc.Input(id=Ids.UNTIL.value, type="datetime-local",
                                                              className="input")], className="form-label"),
                html.Div([html.Button(t(label, lang), id=button.value, className=css)
                          for button, (_, _, label, css) in BUTTONS.items()], className="buttons"),
            ], id=Ids.ACTIONS.value, className="actions hidden"),
            html.Div(id=Ids.MESSAGE.value, className="message", role="status"),
            evidence.panel("department", lang, services.settings.evidence_max_bytes),   # photos (issue 11)
            html.Div(id=Ids.PANEL_TIMELINE.value),
        ], className="console-panel"),
    ], className="department-page")
