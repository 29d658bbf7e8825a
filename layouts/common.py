"""What the work pages draw alike: times, rates, traffic lights, stage badges, queue rows,
the case panel, its timeline and the map's base layers.  Pure drawing: every function takes
plain data (and the name look-ups of :class:`datasource.services.cases.CaseQueries`)."""
from __future__ import annotations

from datetime import datetime

import dash_leaflet as dl
from dash import dcc, html

from dashboard.domain.open311 import intake_notice
from dashboard.i18n import t
from layouts.components_map import component_field

JS = "citygridDispatch"  # namespace of the map functions in assets/dispatch.js


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
            *_intake_field(case, lang),   # issue 14: an Open311 request placed outside a grid or by its address
            component_field(case, lang, queries),   # issue 16: the component the case names
            _field(t("case.reporter", lang), [names.get("reporter") or case.get("reporter") or "—", html.Span(
                f" · {t(f'source.{source}', lang)}" if source else "", className="muted")]),
            _field(t("case.reported_at", lang), fmt_time(case.get("reported_at"), tz)),
            _field(t("case.deadline", lang), [light_dot(case.get("light", "none"), lang),
                                              fmt_time(case.get("deadline_at"), tz)]),
            _field(t("case.department", lang), names.get("department") or "—"),
        ], className="fields"),
    ], className="case-details")


def _intake_field(case: dict, lang: str) -> list:
    """The placement notice of a request that came in through Open311 (outside every grid:
    snapped to the nearest one; or placed by a name in its address) — none for other cases."""
    reported = next((e for e in case.get("timeline") or () if e.get("type") == "reported"), None)
    found = intake_notice((reported or {}).get("body", {}).get("intake")) if reported else None
    if found is None:
        return []
    return [_field(t("case.intake", lang), html.Span(t(found[0], lang, **found[1]), className="intake-notice",
                                                     id="case-panel-intake"))]


def _event_text(event: dict, lang: str, queries, tz) -> list:
    body = event.get("body") or {}
    parts = []
    if event["type"] == "dispatched" and body.get("department"):
        parts.append("→ " + queries.department_name(body["department"], lang))
        if body.get("deadline"):
            parts.append(f"{t('dispatch.deadline', lang)} {fmt_time(body['deadline'], tz)}")
    if event["type"] == "extended" and body.get("until"):
        parts.append(f"→ {fmt_time(body['until'], tz)}")
    if event["type"] == "visited" and body.get("result"):   # issue 11: return visits and photos
        parts.append(t(f"visit.result.{body['result']}", lang))
    if event["type"] == "attached" and isinstance(body.get("photos"), list):
        parts.append(t("evidence.timeline", lang, n=len(body["photos"]), phase=t(f"evidence.phase.{body.get('phase')}", lang)))
    for key in ("note", "reason"):
        if body.get(key):
            parts.append(str(body[key]))
    return parts


def timeline(case: dict, lang: str, queries, tz) -> html.Div:
    events = case.get("timeline") or []
    items = [html.Li([
        html.Span(fmt_time(e["at"], tz, seconds=True), className="tl-time"),
        html.Span(t(f"verb.{e['type']}", lang), className=f"tl-type tl-{e['type']}"),
        html.Span(e.get("actor_name") or e.get("actor") or "", className="tl-actor"),
        *[html.Div(text, className="tl-text") for text in _event_text(e, lang, queries, tz)],
    ], className="tl-item") for e in events]
    return html.Div([html.H4(t("case.timeline", lang)),
                     html.Ol(items, className="timeline") if items else html.P(t("case.pending", lang), className="muted")],
                    className="timeline-box")


def base_layers(maps) -> list:
    """The project's own vector map (street polygons, district outline); optional intranet tiles."""
    layers = []
    tile_url = maps.system.settings.tile_url
    if tile_url:
        layers.append(dl.TileLayer(url=tile_url, maxZoom=19))
    base = maps.base_layers
    # In a pane of their own below the overlay pane, and deaf to the mouse: a click goes to a
    # case marker or to the map (position picking), never to a street polygon.
    layers.append(dl.Pane([
        dl.GeoJSON(data=base["streets"], options={"interactive": False},
                   style={"color": "#3a4f78", "weight": 1, "fillColor": "#16233f", "fillOpacity": 0.55}),
        dl.GeoJSON(data=base["district"], options={"interactive": False},
                   style={"color": "#5b8def", "weight": 2, "fill": False}),
    ], name="citygrid-base", style={"zIndex": 350}))
    return layers


def page_state(ids, lang: str, query: dict, tick_ms: int, *extra) -> list:
    """The stores every work page keeps (language, the selected case, a refresh stamp, the
    last drawn queue's signature, page-specific ones) and its refresh interval."""
    return [dcc.Store(id=ids.LANG.value, data=lang), dcc.Store(id=ids.SELECTED.value, data=query.get("case")),
            dcc.Store(id=ids.REFRESH.value, data=0), dcc.Store(id=ids.SIGNATURE.value), *extra,
            dcc.Interval(id=ids.TICK.value, interval=tick_ms)]


def cases_layer(layer_id: str, **options) -> dl.GeoJSON:
    """An (initially empty) layer of case markers drawn by ``assets/dispatch.js``."""
    return dl.GeoJSON(id=layer_id, data={"type": "FeatureCollection", "features": []},
                      pointToLayer={"variable": f"{JS}.pointToLayer"},
                      onEachFeature={"variable": f"{JS}.onEachFeature"}, **options)


def work_map(map_id: str, maps, layers: list, urls: dict | None = None, **style) -> dl.Map:
    """A work page's map: the base layers, roads and street names, the page's ``layers``, a
    scale; fitted to the district.  ``urls``: the cached map layers (``services.geo.urls()``)."""
    return dl.Map([*base_layers(maps), *road_layers(urls), *layers, dl.ScaleControl(position="bottomleft", imperial=False)],
                  id=map_id, center=maps.center, zoom=13, viewport={"bounds": maps.bounds, "transition": "fitBounds"},
                  zoomSnap=0.25, minZoom=11, maxZoom=19, style={"height": "100%", "width": "100%", **style},
                  attributionControl=False)



# ---------------------------------------------------------------------------- true queues
FILTER = "work-filter"   # pattern-matching type: {"type": FILTER, "page": page, "field": name}
PAGER = "work-pager"     # pattern-matching type: {"type": PAGER, "page": page, "box": box, "to": n}
QUEUE_SOURCES = ("inspector", "hotline12345", "app", "camera", "phone", "api", "import")
QUEUE_SORTS = ("urgent", "newest", "deadline", "waiting")


def _filter(page: str, field: str, label: str, options: list[dict], value=None, **extra) -> html.Label:
    return html.Label([label, dcc.Dropdown(id={"type": FILTER, "page": page, "field": field}, options=options,
                                           value=value, className="dropdown", placeholder="—", **extra)],
                      className=f"queue-filter queue-filter-{field}")


def queue_filters(page: str, lang: str, scenario, sort: str = "urgent") -> html.Div:
    """The filter bar of a work queue: street, category, urgency, source, overdue, sort.

    Its values go to the page's view store (``callbacks.common.register_view``); the
    queue's total, pages and map follow them."""
    streets = [{"label": name, "value": code} for code, name in sorted(scenario.streets.items())]
    categories = [{"label": f"{c.code} {c.name_en if lang == 'en' else c.name_zh}", "value": c.code}
                  for c in scenario.categories.values()]
    return html.Div([
        _filter(page, "street", t("work.filter.street", lang), streets, searchable=True),
        _filter(page, "category", t("work.filter.category", lang), categories, searchable=True),
        _filter(page, "urgency", t("work.filter.urgency", lang),
                [{"label": t(f"dispatch.{u}", lang), "value": u} for u in ("urgent", "normal")], searchable=False),
        _filter(page, "source", t("work.filter.source", lang),
                [{"label": t(f"source.{s}", lang), "value": s} for s in QUEUE_SOURCES], searchable=False),
        _filter(page, "sort", t("work.filter.sort", lang),
                [{"label": t(f"work.sort.{s}", lang), "value": s} for s in QUEUE_SORTS], value=sort,
                clearable=False, searchable=False),
        dcc.Checklist(id={"type": FILTER, "page": page, "field": "overdue"}, value=[],
                      options=[{"label": t("work.filter.overdue", lang), "value": "1"}],
                      className="queue-filter-overdue", inputClassName="overdue-box"),
    ], className="queue-filters", id=f"{page}-filters")


def pager(page: str, box: str, answer: dict, lang: str) -> html.Div | None:
    """"‹ 2/17 ›" under a queue page (None when everything fits on one page)."""
    if answer["pages"] <= 1:
        return None
    now = answer["page"]
    first = (now - 1) * answer["per_page"] + 1
    last = min(answer["total"], now * answer["per_page"])
    return html.Div([
        html.Button("‹", id={"type": PAGER, "page": page, "box": box, "to": now - 1}, className="ghost pager-prev",
                    disabled=now <= 1, title=t("work.pager.prev", lang)),
        html.Span(t("work.pager", lang, page=now, pages=answer["pages"]), className="pager-label",
                  title=t("work.pager.shown", lang, first=first, last=last, total=answer["total"])),
        html.Button("›", id={"type": PAGER, "page": page, "box": box, "to": now + 1}, className="ghost pager-next",
                    disabled=now >= answer["pages"], title=t("work.pager.next", lang)),
    ], className="pager", **{"data-box": box})


def geo_urls(services) -> dict | None:
    """The cached map layers' URLs (None when the app has no geo assets, as in some tests)."""
    geo = getattr(services, "geo", None)
    return geo.urls() if geo is not None else None


def road_layers(urls: dict | None = None) -> list:
    """Main roads and street names over the base map (the wall's cached layers, ``/geo/…``),
    in a pane above the street polygons and below every case marker, deaf to the mouse."""
    urls = urls or {}
    return [dl.Pane([
        dl.GeoJSON(url=urls.get("roads", "/geo/roads.geojson"), options={"interactive": False},
                   style={"color": "#6f86b3", "weight": 1.6, "opacity": 0.75}),
        dl.GeoJSON(url=urls.get("labels", "/geo/labels.geojson"), options={"interactive": False},
                   pointToLayer={"variable": f"{JS}.labelToLayer"}),
    ], name="citygrid-roads", style={"zIndex": 380})]
