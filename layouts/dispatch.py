"""Dispatch console (派遣台): map of waiting and in-progress cases, the dispatch queue, and
the case panel with the recommended department and deadline.

Also holds the pieces the supervision and department pages share (case details, timeline,
queue rows, time formatting).  Everything people typed is rendered as text components —
never as HTML — and the map's tooltips are built with ``textContent`` (assets/dispatch.js).
"""
from __future__ import annotations

from datetime import datetime
from enum import Enum

import dash_leaflet as dl
from dash import dcc, html

from dashboard.i18n import t

PATH = "/dispatch"
TITLE = "nav.dispatch"
ROLES = ("operator", "admin")
TICK_MS = 3000
JS = "citygridDispatch"  # namespace of the map functions in assets/dispatch.js


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


# ---------------------------------------------------------------------------- formatting
def local(value, tz) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(tz)


def fmt_time(value, tz, seconds: bool = False) -> str:
    """An instant as the centre reads it: ``11-24 14:05`` (local time)."""
    at = local(value, tz)
    if at is None:
        return "—"
    return at.strftime("%m-%d %H:%M:%S" if seconds else "%m-%d %H:%M")


def fmt_minutes(minutes: int, lang: str) -> str:
    if minutes < 60:
        return t("case.minutes", lang, n=minutes)
    if minutes < 24 * 60:
        return t("case.hours", lang, h=minutes // 60, m=minutes % 60)
    return t("case.days", lang, d=minutes // 1440, h=minutes % 1440 // 60)


def fmt_rate(rate: float | None, lang: str) -> str:
    return t("dispatch.no_rate", lang) if rate is None else t("dispatch.on_time", lang, rate=f"{rate:.0%}")


def light_dot(light: str, lang: str) -> html.Span:
    title = t(f"light.{light}", lang) if light in ("green", "yellow", "red") else ""
    return html.Span(className=f"light light-{light}", title=title)


def stage_badge(stage: str | None, lang: str, pending: bool = False) -> html.Span:
    label = t(f"stage.{stage}", lang) if stage else "—"
    return html.Span([label, html.Span(" · " + t("case.pending", lang), className="muted") if pending else None],
                     className=f"stage-badge stage-{stage}", **{"data-stage": stage or ""})


# ---------------------------------------------------------------------------- shared pieces
def queue_row(row: dict, lang: str, queries, row_type: str, selected: str | None = None) -> html.Div:
    """One line of a work queue: light, case id, category, street, waiting time (all text)."""
    badges = []
    if row.get("urgency") == "urgent":
        badges.append(html.Span(t("dispatch.urgent", lang), className="tag tag-urgent"))
    if row.get("rework_count"):
        badges.append(html.Span(t("dispatch.rework", lang, n=row["rework_count"]), className="tag"))
    if row.get("return_count"):
        badges.append(html.Span(t("dispatch.returned", lang, n=row["return_count"]), className="tag"))
    return html.Div([
        light_dot(row.get("light", "none"), lang),
        html.Div([
            html.Div([html.Span(row["case_id"], className="case-id"), *badges], className="row-top"),
            html.Div(queries.category_name(row["category_code"], lang), className="row-category"),
            html.Div([html.Span(queries.street_name(row["street_code"])),
                      html.Span(t("dispatch.waiting", lang, minutes=fmt_minutes(row.get("waiting_min", 0), lang)),
                                className="muted")], className="row-meta"),
        ], className="row-body"),
    ], id={"type": row_type, "case": row["case_id"]}, n_clicks=0, role="button",
        className="queue-row" + (" selected" if row["case_id"] == selected else ""),
        **{"data-case": row["case_id"]})


def _field(label: str, value) -> html.Div:
    return html.Div([html.Dt(label), html.Dd(value)], className="field")


def case_details(case: dict, lang: str, queries, tz) -> html.Div:
    """Category, description, location, reporter, times — every user text as plain text."""
    command = case.get("command") or {}
    stage = command.get("stage") or case.get("stage")
    names = case.get("names") or {}
    pending = case.get("projected") is False or (command.get("stage") and command["stage"] != case.get("stage"))
    source = case.get("source")
    return html.Div([
        html.Div([html.Span(case["case_id"], className="case-id big", id="case-panel-id"),
                  stage_badge(stage, lang, bool(pending)),
                  html.Span(t("case.version", lang, v=command.get("version") or case.get("version") or "?"),
                            className="muted small")], className="panel-title"),
        html.Dl([
            _field(t("case.category", lang), [names.get("category") or case.get("category_code") or "—",
                                              html.Span(f" {case.get('category_code', '')}", className="muted")]),
            _field(t("case.urgency", lang), t(f"dispatch.{case.get('urgency', 'normal')}", lang)),
            _field(t("case.description", lang), html.Div(case.get("description") or "—", className="description",
                                                         id="case-panel-description")),
            _field(t("case.address", lang), " · ".join(x for x in (names.get("street"), names.get("community")) if x)
                   or "—"),
            _field(t("case.grid", lang), case.get("grid_code") or "—"),
            _field(t("case.reporter", lang), [case.get("reporter") or "—", html.Span(
                f" · {t(f'source.{source}', lang)}" if source else "", className="muted")]),
            _field(t("case.reported_at", lang), fmt_time(case.get("reported_at"), tz)),
            _field(t("case.deadline", lang), [light_dot(case.get("light", "none"), lang),
                                              fmt_time(case.get("deadline_at"), tz)]),
            _field(t("case.department", lang), names.get("department") or "—"),
        ], className="fields"),
    ], className="case-details")


def _event_text(event: dict, lang: str, queries, tz) -> list:
    body = event.get("body") or {}
    parts = []
    if event["type"] == "dispatched" and body.get("department"):
        parts.append("→ " + queries.department_name(body["department"], lang))
        if body.get("deadline"):
            parts.append(f"{t('dispatch.deadline', lang)} {fmt_time(body['deadline'], tz)}")
    if event["type"] == "extended" and body.get("until"):
        parts.append(f"→ {fmt_time(body['until'], tz)}")
    for key in ("note", "reason"):
        if body.get(key):
            parts.append(str(body[key]))
    return parts


def timeline(case: dict, lang: str, queries, tz) -> html.Div:
    events = case.get("timeline") or []
    items = [html.Li([
        html.Span(fmt_time(e["at"], tz, seconds=True), className="tl-time"),
        html.Span(t(f"verb.{e['type']}", lang), className=f"tl-type tl-{e['type']}"),
        html.Span(e.get("actor") or "", className="tl-actor"),
        *[html.Div(text, className="tl-text") for text in _event_text(e, lang, queries, tz)],
    ], className="tl-item") for e in events]
    return html.Div([html.H4(t("case.timeline", lang)),
                     html.Ol(items, className="timeline") if items else html.P(t("case.pending", lang), className="muted")],
                    className="timeline-box")


def base_layers(queries) -> list:
    """The project's own vector map (street polygons, district outline); optional intranet tiles."""
    layers = []
    tile_url = queries.system.settings.tile_url
    if tile_url:
        layers.append(dl.TileLayer(url=tile_url, maxZoom=19))
    base = queries.base_layers
    # In a pane of their own below the overlay pane, and deaf to the mouse: a click goes to a
    # case marker or to the map (position picking), never to a street polygon.
    layers.append(dl.Pane([
        dl.GeoJSON(data=base["streets"], options={"interactive": False},
                   style={"color": "#3a4f78", "weight": 1, "fillColor": "#16233f", "fillOpacity": 0.55}),
        dl.GeoJSON(data=base["district"], options={"interactive": False},
                   style={"color": "#5b8def", "weight": 2, "fill": False}),
    ], name="citygrid-base", style={"zIndex": 350}))
    return layers


# ---------------------------------------------------------------------------- the page
def layout(lang: str, query: dict, services) -> html.Div:
    queries = services.cases
    return html.Div([
        dcc.Store(id=Ids.LANG.value, data=lang),
        dcc.Store(id=Ids.SELECTED.value, data=query.get("case")),
        dcc.Store(id=Ids.VERSION.value),
        dcc.Store(id=Ids.DEFAULT_DEADLINE.value),
        dcc.Store(id=Ids.REFRESH.value, data=0),
        dcc.Store(id=Ids.SIGNATURE.value),
        dcc.Store(id=Ids.SELECTION.value, data=[]),
        dcc.Interval(id=Ids.TICK.value, interval=TICK_MS),
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
            dl.Map([
                *base_layers(queries),
                dl.GeoJSON(id=Ids.ACTIVE_LAYER.value, data={"type": "FeatureCollection", "features": []},
                           cluster=True, superClusterOptions={"radius": 70, "maxZoom": 16},
                           pointToLayer={"variable": f"{JS}.pointToLayer"},
                           onEachFeature={"variable": f"{JS}.onEachFeature"},
                           clusterToLayer={"variable": f"{JS}.clusterToLayer"}),
                # the cases waiting for dispatch are the point of this page: above the clusters
                dl.Pane(dl.GeoJSON(id=Ids.FILED_LAYER.value, data={"type": "FeatureCollection", "features": []},
                                   pointToLayer={"variable": f"{JS}.pointToLayer"},
                                   onEachFeature={"variable": f"{JS}.onEachFeature"}),
                        name="citygrid-filed", style={"zIndex": 620}),
                dl.FeatureGroup([dl.EditControl(
                    id=Ids.DRAW.value, position="topright",
                    draw={"polyline": False, "circle": False, "circlemarker": False, "marker": False,
                          "rectangle": {"shapeOptions": {"color": "#3ea6ff", "weight": 2}},
                          "polygon": {"shapeOptions": {"color": "#3ea6ff", "weight": 2}}},
                    edit={"edit": False})]),
                dl.ScaleControl(position="bottomleft", imperial=False),
            ], id=Ids.MAP.value, center=queries.center, zoom=13, viewport={"bounds": queries.bounds, "transition": "fitBounds"}, zoomSnap=0.25, minZoom=11, maxZoom=19,
                style={"height": "100%", "width": "100%"}, attributionControl=False),
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
