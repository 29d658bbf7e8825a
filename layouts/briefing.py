"""The leaders' daily briefing (每日简报): yesterday at a glance, on a phone or a desk —
headline figures with their changes, the narrative, charts, unusual places on a map, the
next day's forecast, the department ranking, the oldest overdue cases and the day's
emergencies, with the PDF to download and the archive of past briefings.

Pure drawing: :func:`content` places the strings of
:func:`datasource.services.briefing_view.view` (the PDF places the same ones).
"""
from __future__ import annotations

import base64
from enum import Enum
from urllib.parse import urlencode

from dash import dcc, html

from dashboard.domain.briefing import BriefingDateError, resolve_day
from dashboard.domain.permissions import PAGE_ROLES
from dashboard.i18n import t

PATH = "/briefing"
TITLE = "nav.briefing"
ROLES = PAGE_ROLES[PATH]
GRAPH_CONFIG = {"displayModeBar": False, "responsive": True}


class Ids(str, Enum):
    LANG = "briefing-lang"
    ASKED = "briefing-asked"
    DATE = "briefing-date"
    PDF = "briefing-pdf"
    CONTENT = "briefing-content"
    ARCHIVE = "briefing-archive"


def pdf_href(day: str, lang: str) -> str:
    return "/briefing/pdf?" + urlencode({"date": day, "lang": lang})


def layout(lang: str, query: dict, services) -> html.Div:
    today = services.briefing.service.today()   # the business clock the service judges dates by
    try:
        day = resolve_day(query.get("date"), today).isoformat()
    except BriefingDateError:
        day = None   # the callback says what is wrong with it
    return html.Div([
        dcc.Store(id=Ids.LANG.value, data=lang),
        dcc.Store(id=Ids.ASKED.value, data=query.get("date") or "yesterday"),
        html.Div([
            html.Div([html.H1(t("city.briefing.title", lang, district=services.scenario.district_name(lang)))],
                     className="briefing-heading"),
            html.Div([
                html.Label(t("briefing.date", lang), htmlFor=Ids.DATE.value, className="briefing-label"),
                dcc.DatePickerSingle(id=Ids.DATE.value, date=day, max_date_allowed=today, display_format="YYYY-MM-DD",
                                     first_day_of_week=1, clearable=False, className="briefing-picker",
                                     placeholder=t("date.pick", lang)),
                html.A(t("briefing.pdf", lang), id=Ids.PDF.value, href=pdf_href(day or "", lang),
                       className="button-link briefing-download", target="_blank"),
            ], className="briefing-controls"),
        ], className="briefing-top"),
        dcc.Loading(html.Div(id=Ids.CONTENT.value, className="briefing-content"), type="dot"),
        html.Section([html.H2(t("briefing.archive", lang)), html.Div(id=Ids.ARCHIVE.value)],
                     className="briefing-section briefing-archive"),
    ], className="briefing paper")


# ---------------------------------------------------------------------------- drawing
def message(text: str) -> html.Div:
    return html.Div(text, className="briefing-message", id="briefing-message")


def content(v: dict, figures: dict, map_svg: str | None) -> list:
    """The briefing's body from a view ``v`` (strings), plotly ``figures`` and the map SVG."""
    lang = v["lang"]
    head = [html.P([v["day_label"], " · ", v["as_of"]], className="briefing-sub", id="briefing-day")]
    if v.get("scope_note"):   # a sub-centre's briefing says whose it is
        head.insert(0, html.H2(v["title"], className="briefing-scope-title", id="briefing-scope-title"))
        head.append(html.P(v["scope_note"], className="briefing-note", id="briefing-scope"))
    if v.get("partial"):
        head.append(html.P(v["partial"], className="briefing-partial"))
    if v["empty"]:
        return head + [message(p) for p in v["narrative"]]
    return head + [
        html.Div([_card(c) for c in v["cards"]], className="briefing-cards", id="briefing-cards"),
        html.P(t("briefing.h.note", lang), className="briefing-note"),
        _section("summary", lang, [html.P(p) for p in v["narrative"]], id="briefing-narrative"),
        _section("charts", lang, [html.Div([_graph(figures, "hourly"), _graph(figures, "groups")],
                                           className="briefing-two")]),
        _section("departments", lang, [_graph(figures, "departments"), _departments(v["departments"], lang)]),
        _section("unusual", lang, _unusual(v["unusual"], map_svg, lang), id="briefing-unusual"),
        _section("forecast", lang, _forecast(v["forecast"], figures, lang), id="briefing-forecast"),
        _section("overdue", lang, [_table(("case", "category", "street", "department", "stage", "by", "now"),
                                          "briefing.overdue", v["overdue"], numeric={5}, mono={0}, lang=lang)
                                   if v["overdue"] else html.P(t("briefing.overdue.none", lang))], id="briefing-overdue"),
        _section("emergencies", lang, [_emergencies(v["emergencies"], lang)], id="briefing-emergencies"),
    ]


def archive(rows: list[dict], lang: str, tz) -> html.Div:
    """The archive's entries: the page and the PDF of each past briefing."""
    if not rows:
        return html.P(t("briefing.archive.empty", lang), className="briefing-note")
    items = []
    for r in rows:
        day = r["day"].isoformat()
        made = r["generated_at"].astimezone(tz).strftime("%m-%d %H:%M")
        items.append(html.Li([
            html.A(day, href=f"{PATH}?{urlencode({'date': day, 'lang': lang})}"), " · ",
            html.A(f"PDF ({r['lang']}, {max(1, r['size'] // 1024)} KB)", href=pdf_href(day, r["lang"]),
                   target="_blank"),
            html.Span(f" · {made}", className="briefing-note"),
        ]))
    return html.Ul(items, className="briefing-archive-list", id="briefing-archive-list")


def _section(name: str, lang: str, children: list, **attrs) -> html.Section:
    return html.Section([html.H2(t(f"briefing.section.{name}", lang)), *children], className="briefing-section", **attrs)


def _card(c: dict) -> html.Div:
    return html.Div([
        html.Div(c["label"], className="card-label"),
        html.Div(c["value"], className="card-value", **{"data-name": c["name"]}),
        *[html.Div([html.Span(ch["label"]), html.Span(ch["badge"], className=f"chg chg-{ch['direction']}")],
                   className="card-change") for ch in c["changes"]],
    ], className="briefing-card")


def _graph(figures: dict, name: str):
    fig = figures.get(name)
    if fig is None:
        return None
    # The figure sets its height; the Graph's box must match it, or the plot spills over what follows.
    return dcc.Graph(figure=fig, config=GRAPH_CONFIG, className=f"briefing-graph graph-{name}",
                     style={"height": f"{int(fig['layout'].get('height') or 320)}px"})


def _table(columns, prefix: str, rows: list[list[str]], numeric=frozenset(), mono=frozenset(), lang: str = "zh",
           labels: list[str] | None = None) -> html.Table:
    heads = labels or [t(f"{prefix}.{c}", lang) for c in columns]
    return html.Table([
        html.Thead(html.Tr([html.Th(h, className="num" if i in numeric else None) for i, h in enumerate(heads)])),
        html.Tbody([html.Tr([html.Td(cell, className=("num" if i in numeric else "mono" if i in mono else None))
                             for i, cell in enumerate(row[:len(heads)])]) for row in rows]),
    ], className="briefing-table")


def _unusual(u: dict, map_svg: str | None, lang: str) -> list:
    out = [html.P(u["method"], className="briefing-method", id="briefing-method")]
    if u.get("partial"):
        out.append(html.P(u["partial"], className="briefing-note"))
    if not u.get("available"):
        return out
    picture = html.Img(src="data:image/svg+xml;base64," + base64.b64encode(map_svg.encode()).decode(),
                       className="briefing-map", id="briefing-map", alt=t("briefing.section.unusual", lang)) \
        if map_svg else None
    labels = ["#", t("briefing.unusual.place", lang), t("briefing.unusual.group", lang), t("briefing.unusual.observed", lang),
              t("briefing.unusual.expected", lang), t("briefing.unusual.p", lang)]
    rows = [[r[0], f"{r[1]} ({r[2]})", r[3], r[4], r[5], r[6]] for r in u["rows"]]   # place (grid/street)
    listing = [_table(None, None, rows, numeric={3, 4, 5}, labels=labels)] if rows else \
        [html.P(t("briefing.unusual.none", lang))]
    if u.get("more"):
        listing.append(html.P(u["more"], className="briefing-note"))
    if u["clusters"]:
        listing += [html.H3(t("briefing.unusual.clusters", lang)), html.Ul([html.Li(c) for c in u["clusters"]])]
    return out + [html.Div([html.Div(picture, className="briefing-map-col"),
                            html.Div(listing, className="briefing-list-col")], className="briefing-mapbox")]


def _forecast(f: dict, figures: dict, lang: str) -> list:
    if not f.get("available"):
        return [html.P(f["message"], className="briefing-note")]
    columns = [t("briefing.forecast.street", lang), t("briefing.forecast.mean", lang), t("briefing.forecast.interval", lang)]
    by_group = [t("briefing.unusual.group", lang)] + columns[1:]
    return [html.H3(f["heading"]), html.P(html.Strong(f["total"]), id="briefing-forecast-total"),
            html.P([f["model"], html.Br(), f["accuracy"]], className="briefing-method", id="briefing-accuracy"),
            _graph(figures, "backtest"),
            html.Div([_table(None, None, f["streets"], numeric={1, 2}, labels=columns),
                      _table(None, None, f["groups"], numeric={1, 2}, labels=by_group)], className="briefing-two")]


def _departments(d: dict, lang: str) -> html.Div:
    columns = ("name", "due", "closed", "closure", "on_time", "rework", "score", "grade")
    note = (d["others"] + " · " if d.get("others") else "") + t("briefing.dept.note", lang)
    return html.Div([_table(columns, "briefing.dept", d["rows"], numeric={1, 2, 3, 4, 5, 6}, lang=lang),
                     html.P(note, className="briefing-note")])


def _emergencies(rows: list[list[str]], lang: str):
    if not rows:
        return html.P(t("briefing.em.none", lang))
    columns = ("time", "case", "category", "street", "department", "dispatch", "handle", "outcome")
    table = _table(columns, "briefing.em", rows, numeric={5, 6}, mono={1}, lang=lang)
    for tr, row in zip(table.children[1].children, rows):   # colour the outcome cell by its kind
        tr.children[7].className = f"outcome-{row[8]}"
    return table
