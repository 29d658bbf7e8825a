"""The command-centre wall (``/wall``): live map, stage strip, department board, ticker.

Built for a video wall nobody touches: dark, large type in viewport units so the same page
fills 1920×1080 and 3840×2160 without scrolling, Chinese by default (``?lang=en``),
``?kiosk=1`` without chrome, ``?rotate=60`` to fly between the whole district and one
street (and between open and overdue colouring) every 60 s.

Issue 13 made it readable from the back row and live: stage cards named as ``/intake`` names the
work waiting for each step (待立案 · 待派遣 · 处置中 · 待核查 · 待结案, plus 今日结案), a department
board in two groups with full short names and the on-time ratio to its target, a larger map
whose street labels stay clear of clusters, a 4K arrangement that shows more rows and the street
breakdown, the alarm takeover (``WallId.ALARM``) and playlists (``?playlist=district:60,
street-110101001:20,departments:30``).  The data arrive pushed by the server (``/wall/stream``).
A user scoped to a street or community gets that area's wall (the server cuts the data).

The layout is a static skeleton: every label comes from :func:`dashboard.i18n.t` here, and
the numbers are slots the browser fills from each tick's delta (``assets/wall.js``).  The
map geometry is loaded once from ``/geo/*.geojson`` (served by :mod:`dashboard.web.geo`);
``CONFIG`` hands the browser the names, colours, view boxes and text templates it needs.
"""
from __future__ import annotations

import time
from enum import Enum

import dash_leaflet as dl
from dash import dcc, html
from flask_login import current_user

from dashboard.i18n import t
from dashboard.domain.lifecycle import LOOP_STAGE_NAMES, OPEN_STAGE_NAMES
from dashboard.domain.permissions import PAGE_ROLES, may_acknowledge
from dashboard.domain.scope import covers_code

PATH = "/wall"
TITLE = "nav.wall"
ROLES = PAGE_ROLES[PATH]


class WallId(str, Enum):
    ROOT = "wall-root"
    TICK = "wall-tick"                 # dcc.Interval: asks the server for the next delta
    CLOCK = "wall-clock-interval"      # dcc.Interval: client-only clock and watchdog
    ROTATE = "wall-rotate"             # dcc.Interval: view rotation (?rotate=N)
    PAYLOAD = "wall-payload"           # dcc.Store: the last delta from the server
    CURSOR = "wall-cursor"             # dcc.Store: the version this browser has applied
    CONFIG = "wall-config"             # dcc.Store: names, colours, templates (static)
    STAGE = "wall-stage"               # pattern id type of the stage-strip number slots
    SIDE = "wall-side"                 # pattern id type of the side-count slots
    TIME = "wall-time"
    DATE = "wall-date"
    FRESH = "wall-fresh"
    BANNER = "wall-banner"
    BOARD = "wall-board"
    TICKER = "wall-ticker"
    MAP = "wall-map"
    GRIDS = "wall-grids"
    MARKERS = "wall-markers"
    PULSES = "wall-pulses"
    VIEW = "wall-view"
    MODE_OPEN = "wall-mode-open"
    MODE_OVERDUE = "wall-mode-overdue"
    LEGEND_OPEN = "wall-legend-open"
    LEGEND_OVERDUE = "wall-legend-overdue"
    NEWEST = "wall-newest"             # the newest report, in a corner of the map (hides nothing)
    STREETS = "wall-streets"           # 4K: open and overdue cases per street
    ALARM = "wall-alarm"               # the alarm takeover panel (filled by assets/wall.js)
    ALARM_CASE = "wall-alarm-case"     # dcc.Store: the case the takeover shows (set by the browser)
    ALARM_ACK = "wall-alarm-ack"       # the acknowledge button (operators and supervision)
    ALARM_MSG = "wall-alarm-msg"       # the acknowledge command's answer


#: Choropleth classes: a grid with at least ``threshold`` cases takes that colour.
OPEN_CLASSES = ((1, "#1f4f80"), (2, "#2a74b0"), (3, "#38a3d1"), (5, "#48c9a0"), (8, "#f0cc4a"), (12, "#ff7043"))
OVERDUE_CLASSES = ((1, "#8a2a36"), (2, "#b8323f"), (3, "#e0404a"), (5, "#ff6b5e"), (8, "#ffb199"))
STAGE_COLOURS = ("#60a5fa", "#a78bfa", "#22d3ee", "#f472b6", "#e2e8f0", "#94a3b8")  # OPEN_STAGE_NAMES order
LIGHT_COLOURS = {"green": "#2ecc71", "yellow": "#f1c40f", "red": "#ff4d4f"}
BOARD_ROWS, BOARD_ROWS_4K, TICKER_ROWS = 15, 32, 8   # board lines at 1080p and at 4K (the CSS grids match)
#: The stage cards: the work waiting for each step, named as /intake and /dispatch name it.
STAGE_CARDS = (("reported", "intake.reported"), ("filed", "dispatch.queue"), ("dispatched", "dispatch.in_progress"),
               ("handled", "intake.handled"), ("verified", "intake.verified"), ("closed", "wall.strip.closed_today"))
PLAYLIST_VIEWS = ("district", "departments")   # and street-<code>
SIDE_KEYS = ("wall.side.rejected", "wall.side.returned", "wall.side.rework", "wall.side.suspended")
TEMPLATES = ("wall.fresh.ok", "wall.fresh.waiting", "wall.fresh.unknown", "wall.banner.stale", "wall.banner.redis",
             "wall.banner.db", "wall.banner.offline", "wall.none", "wall.board.empty", "wall.ticker.empty", "wall.view.district",
             "wall.map.newest", "wall.board.more", "wall.alarm.title", "wall.alarm.queue", "wall.alarm.elapsed",
             "wall.view.departments", "wall.streets.title", "wall.board.professional", "wall.board.street")
EVENT_KEYS = {"rejected": "stage.rejected", "returned": "event.returned", "rework": "event.rework",
              "extended": "event.extended", "suspended": "stage.suspended", "resumed": "event.resumed"}
LINE_STYLES = {
    "district": {"color": "#4ea8ff", "weight": 3, "fillColor": "#0c182c", "fillOpacity": 1, "opacity": 0.9},
    "green": {"stroke": False, "fillColor": "#10402c", "fillOpacity": 0.85},
    "roads": {"color": "#31476e", "weight": 1.6, "opacity": 0.9},
    "streets": {"color": "#7cc4ff", "weight": 1.6, "opacity": 0.75, "fill": False, "dashArray": "6 4"},
}


def _fn(name: str) -> dict:
    """A reference to a function of ``window.dashExtensions.wall`` (assets/wall.js)."""
    return {"variable": f"dashExtensions.wall.{name}"}


def user_scope() -> str | None:
    """The viewer's sub-centre (street or community code), None for the district.  Only for
    titles and the map's frame: the server cuts the data itself (``/wall/stream``)."""
    return getattr(current_user, "scope", None) if getattr(current_user, "is_authenticated", False) else None


def playlist(text: str | None, streets, scope: str | None = None) -> list:
    """``district:60,street-110101001:20,departments:30`` → [[view, seconds]…]; unknown views
    and streets outside the viewer's ``scope`` are dropped (the server would refuse their data),
    durations held to 10–3600 s (a wall nobody touches must not flicker)."""
    out = []
    for item in (text or "").split(",")[:20]:
        view, _, seconds = item.strip().partition(":")
        street = view[7:] if view.startswith("street-") else None
        if view not in PLAYLIST_VIEWS and not (street in streets and covers_code(scope, street)):
            continue
        try:
            duration = min(3600, max(10, int(seconds or 60)))
        except ValueError:
            continue
        out.append([view, duration])
    return out


def config(lang: str, query: dict, services) -> dict:
    """Everything the browser needs to render a tick without asking again (static per page)."""
    scenario, settings = services.scenario, services.settings
    layers = services.geo.layers
    en = lang == "en"
    try:
        rotate = max(10, int(query.get("rotate", 0))) if query.get("rotate") else 0
    except ValueError:
        rotate = 0
    scope = user_scope()
    street = scope[:9] if scope else None
    name = lambda d: d.short(lang)  # noqa: E731 - full short names on the board
    role = getattr(current_user, "role", None) if getattr(current_user, "is_authenticated", False) else None
    return {
        "lang": lang, "locale": "en-GB" if en else "zh-CN", "tz": str(scenario.calendar.tz),
        "tickMs": settings.tick_ms, "staleMs": int(settings.stale_seconds * 1000), "rotateMs": rotate * 1000,
        "text": {key.split(".", 1)[1]: t(key, lang) for key in TEMPLATES},
        "stages": [t(key, lang) for _, key in STAGE_CARDS],
        "markerStages": [t(f"stage.{s}", lang) for s in OPEN_STAGE_NAMES],
        "events": {**{s: t(f"stage.{s}", lang) for s in LOOP_STAGE_NAMES}, **{k: t(v, lang) for k, v in EVENT_KEYS.items()}},
        "lights": {k: t(f"light.{k}", lang) for k in LIGHT_COLOURS},
        "categories": {c.code: (c.name_en if en else c.name_zh) for c in scenario.categories.values()},
        "departments": {d.code: name(d) for d in scenario.departments.values()},
        "streetDepartments": [d.code for d in scenario.departments.values() if d.kind == "street"],
        "streets": list(scenario.streets.values()),
        "streetCodes": list(scenario.streets),
        "bounds": layers.street_bounds.get(street) if street else layers.district_bounds,
        "districtBounds": layers.district_bounds,
        "streetBounds": [layers.street_bounds.get(code) for code in scenario.streets],
        "boardRows": BOARD_ROWS, "boardRows4k": BOARD_ROWS_4K, "tickerRows": min(TICKER_ROWS, services.live.ticker_size),
        # issue 13: pushed by the server (/wall/stream) unless ?transport=poll (the old way, kept
        # for the benchmark's side-by-side figures)
        "transport": "poll" if query.get("transport") == "poll" else "push", "streamUrl": "/wall/stream",
        "scope": scope or "", "scopeName": scenario.streets.get(street, "") if street else "",
        "playlist": playlist(query.get("playlist"), scenario.streets, scope), "canAck": may_acknowledge(role),
        # the system's clock minus the real one (0 in production; the tests' fixed clock): an
        # alarm's elapsed time is counted on the system's clock, which its report time is on
        "sysOffsetMs": int((services.system.time() - time.time()) * 1000),
    }


def _hideout() -> dict:
    """Colours for the map's style functions (static: a hideout change would redraw)."""
    return {"open": [list(c) for c in OPEN_CLASSES], "overdue": [list(c) for c in OVERDUE_CLASSES],
            "stages": list(STAGE_COLOURS), "lights": LIGHT_COLOURS}


def _legend(classes, key: str, lang: str, element_id: WallId, hidden: bool) -> html.Div:
    bounds = [n for n, _ in classes]
    labels = [str(lo) if hi - lo == 1 else f"{lo}–{hi - 1}" for lo, hi in zip(bounds, bounds[1:])] + [f"≥{bounds[-1]}"]
    return html.Div([
        html.Div([t(key, lang), html.Span(t("wall.map.per_grid", lang), className="wall-legend-unit")],
                 className="wall-legend-title"),
        html.Div([html.Span([html.I(style={"background": colour}), label], className="wall-legend-item")
                  for (_, colour), label in zip(classes, labels)], className="wall-legend-scale"),
    ], id=element_id.value, className="wall-legend" + (" hidden" if hidden else ""))


def _map(lang: str, settings, urls: dict, bounds, view: str) -> html.Div:
    # Own vector layers on a plain dark background; tiles only if an intranet server is set.
    # Each group sits in its own pane so the drawing order holds whatever loads first
    # (with preferCanvas, one canvas per pane).
    tiles = [dl.TileLayer(url=settings.tile_url, maxZoom=19)] if settings.tile_url else []
    district = dict(LINE_STYLES["district"], fillOpacity=0.35 if tiles else 1)
    hideout = _hideout()
    return html.Div([
        dl.Map([
            *tiles,
            dl.Pane([dl.GeoJSON(url=urls["district"], style=district, interactive=False),
                     dl.GeoJSON(url=urls["green"], style=LINE_STYLES["green"], interactive=False)],
                    name="wall-base", style={"zIndex": 380}),
            dl.Pane(dl.GeoJSON(id=WallId.GRIDS.value, url=urls["grids"], style=_fn("gridStyle"), hideout=hideout,
                               onEachFeature=_fn("gridEach"), interactive=False), name="wall-grids", style={"zIndex": 390}),
            dl.Pane([dl.GeoJSON(url=urls["roads"], style=LINE_STYLES["roads"], interactive=False),
                     dl.GeoJSON(url=urls["streets"], style=LINE_STYLES["streets"], interactive=False)],
                    name="wall-lines", style={"zIndex": 395}),
            # Street labels above the case clusters (Leaflet's marker pane is 600), and moved
            # clear of any cluster they would touch (assets/wall.js declutter): never under one.
            dl.Pane(dl.GeoJSON(url=urls["labels"], pointToLayer=_fn("label"), interactive=False),
                    name="wall-labels", style={"zIndex": 650, "pointerEvents": "none"}),
            # Open cases: the browser keeps them and hands the whole set to supercluster only
            # when something changed; the server sends marker deltas (see assets/wall.js).
            dl.GeoJSON(id=WallId.MARKERS.value, data={"type": "FeatureCollection", "features": []}, cluster=True,
                       superClusterOptions={"radius": 72, "maxZoom": 16}, hideout=hideout,
                       pointToLayer=_fn("marker"), clusterToLayer=_fn("cluster"), onEachFeature=_fn("markerEach"),
                       zoomToBoundsOnClick=True),
            dl.GeoJSON(id=WallId.PULSES.value, data={"type": "FeatureCollection", "features": []},
                       pointToLayer=_fn("pulse"), interactive=False),
        ], id=WallId.MAP.value, bounds=bounds, boundsOptions={"padding": [6, 6]}, zoomSnap=0.1, zoomControl=False,
            attributionControl=False, preferCanvas=True, scrollWheelZoom=True, trackViewport=False,
            className="wall-leaflet"),
        _legends(lang),
        html.Div(view, id=WallId.VIEW.value, className="wall-view"),
        # The newest report sits in a corner of the map, not over it (it hid the district centre).
        html.Div(id=WallId.NEWEST.value, className="wall-callout wall-newest hidden"),
    ], className="wall-map")


def _legends(lang: str) -> html.Div:
    """Colouring switch (open / overdue) with its scale, and the key to the case markers."""
    lights = [html.Span([html.I(className=f"light {k}"), t(f"light.{k}", lang)], className="wall-legend-item")
              for k in LIGHT_COLOURS]
    cluster = html.Span([html.I(className="cluster-swatch"), t("wall.map.cluster", lang)], className="wall-legend-item")
    stages = [html.Span([html.I(style={"background": c}), t(f"stage.{s}", lang)], className="wall-legend-item")
              for s, c in zip(OPEN_STAGE_NAMES, STAGE_COLOURS)]
    return html.Div([
        html.Div([html.Button(t("wall.map.open", lang), id=WallId.MODE_OPEN.value, className="wall-mode active"),
                  html.Button(t("wall.map.overdue", lang), id=WallId.MODE_OVERDUE.value, className="wall-mode")],
                 className="wall-modes"),
        _legend(OPEN_CLASSES, "wall.map.open", lang, WallId.LEGEND_OPEN, False),
        _legend(OVERDUE_CLASSES, "wall.map.overdue", lang, WallId.LEGEND_OVERDUE, True),
        html.Div([html.Div(t("wall.map.markers", lang), className="wall-legend-title"),
                  html.Div([*lights, cluster], className="wall-legend-scale"),
                  html.Div(stages, className="wall-legend-scale")], className="wall-legend"),
    ], className="wall-map-legend")


def _strip(lang: str) -> html.Section:
    cards = []
    for i, (stage, key) in enumerate(STAGE_CARDS):
        closed = stage == "closed"
        slot = lambda k: {"type": WallId.STAGE.value, "slot": 3 * i + k}  # noqa: E731 - the slot of a number
        cards.append(html.Div([
            html.Div(t(key, lang), className="wall-stage-name"),
            html.Div(t("wall.none", lang), id=slot(1 if closed else 0), className="wall-stage-big"),
            html.Div([
                html.Span([t("wall.strip.total" if closed else "wall.strip.today", lang), " ",
                           html.B(t("wall.none", lang), id=slot(0 if closed else 1))], className="wall-stage-today"),
                html.Span([t("wall.strip.overdue", lang), " ", html.B(t("wall.none", lang), id=slot(2))],
                          className="wall-stage-overdue" + (" hidden" if closed else "")),
            ], className="wall-stage-foot"),
        ], className=f"wall-stage stage-{stage}"))
    side = html.Div([
        html.Div(t("wall.side.title", lang), className="wall-side-title"),
        html.Div([html.Div([html.B(t("wall.none", lang), id={"type": WallId.SIDE.value, "slot": k}),
                            html.Span(t(key, lang))], className="wall-side-item") for k, key in enumerate(SIDE_KEYS)],
                 className="wall-side-grid"),
    ], className="wall-side")
    return html.Section([*cards, side], className="wall-strip")


def _panel(title_key: str, lang: str, body, extra: str = "") -> html.Section:
    return html.Section([html.H2(t(title_key, lang)), body], className="wall-panel" + extra)


def _board_head(lang: str) -> html.Div:
    keys = ("wall.board.dept", "wall.board.open", "wall.board.overdue", "wall.board.on_time", "wall.board.ratio",
            "wall.board.rework", "wall.board.score", "wall.board.grade")
    return html.Div([html.Span(t(k, lang), className="k4" if k in ("wall.board.rework", "wall.board.score") else None)
                     for k in keys], className="wall-board-row head")


def _alarm(lang: str, can_ack: bool) -> html.Div:
    """The takeover panel: filled by the browser from the payload's alarm queue; the button
    runs the acknowledge command (audited) through the page's callback."""
    return html.Div([
        html.Div(id=WallId.ALARM.value, className="wall-alarm-body"),
        html.Button(t("wall.alarm.ack", lang), id=WallId.ALARM_ACK.value, className="wall-alarm-ack",
                    hidden=not can_ack),
        html.Div(id=WallId.ALARM_MSG.value, className="wall-alarm-msg", role="status"),
    ], className="wall-alarm hidden", id=WallId.ALARM.value + "-panel", role="alert")


def layout(lang: str, query: dict, services) -> html.Div:
    settings = services.settings
    geo = services.geo
    urls = geo.urls()
    cfg = config(lang, query, services)
    kiosk = query.get("kiosk") == "1"
    district = services.scenario.district_name(lang)
    title = (cfg["scopeName"] + t("wall.title.sub", lang)) if cfg["scope"] else t("city.wall.title", lang, district=district)
    return html.Div([
        html.Header([
            html.Div([html.H1(title), html.Span(t("wall.subtitle", lang), className="wall-subtitle")],
                     className="wall-title"),
            html.Div(t("wall.fresh.waiting", lang), id=WallId.FRESH.value, className="wall-fresh"),
            html.Div([html.Div("--:--:--", id=WallId.TIME.value, className="wall-time"),
                      html.Div("", id=WallId.DATE.value, className="wall-date")], className="wall-clock"),
        ], className="wall-top"),
        html.Div(id=WallId.BANNER.value, className="wall-banner hidden", role="alert"),
        _strip(lang),
        html.Div([
            _panel("wall.board.title", lang, html.Div([_board_head(lang), html.Div(id=WallId.BOARD.value,
                                                                                   className="wall-board-body")],
                                                      className="wall-board"), " wall-board-panel"),
            _map(lang, settings, urls, cfg["bounds"], cfg["scopeName"] or t("wall.view.district", lang)),
            html.Div([
                _panel("wall.ticker.title", lang, html.Div(t("wall.ticker.empty", lang), id=WallId.TICKER.value,
                                                           className="wall-ticker")),
                _panel("wall.streets.title", lang, html.Div(id=WallId.STREETS.value, className="wall-streets"),
                       " wall-streets-panel"),
            ], className="wall-right"),
            _alarm(lang, cfg["canAck"]),
        ], className="wall-body"),
        dcc.Store(id=WallId.CONFIG.value, data=cfg),
        dcc.Store(id=WallId.PAYLOAD.value),
        dcc.Store(id=WallId.CURSOR.value),
        dcc.Store(id=WallId.ALARM_CASE.value),
        dcc.Interval(id=WallId.TICK.value, interval=settings.tick_ms, disabled=cfg["transport"] != "poll"),
        dcc.Interval(id=WallId.CLOCK.value, interval=1000),
        dcc.Interval(id=WallId.ROTATE.value, interval=cfg["rotateMs"] or 60_000, disabled=not cfg["rotateMs"]),
    ], id=WallId.ROOT.value, className="wall" + (" kiosk" if kiosk else ""), lang="en" if lang == "en" else "zh-CN")
