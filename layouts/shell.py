"""The application shell: URL, header with navigation, case search and language switch, page slot."""
from __future__ import annotations

import json
from enum import Enum

from dash import dcc, html

from dashboard.domain.permissions import READ_ROLES, may_open
from dashboard.i18n import t
from layouts.common import fmt_time, light_dot, stage_badge
from layouts.ids import Shell


class Search(str, Enum):
    """Ids of the header's case search (drawn in the header, answered by ``callbacks/shell.py``)."""

    BOX = "shell-search"
    INPUT = "shell-search-input"
    GO = "shell-search-go"
    RESULTS = "shell-search-results"
    CLOSE = "shell-search-close"  # pattern-matching type: {"type": CLOSE} (drawn only with results)
    PAGE = "shell-search-page"   # pattern-matching type: {"type": PAGE, "to": n}


def layout() -> html.Div:
    return html.Div([
        dcc.Location(id=Shell.URL.value, refresh="callback-nav"),
        html.Div(id=Shell.HEADER.value),
        html.Main(id=Shell.PAGE.value, className="page"),
    ], className="shell")


def search_box(lang: str) -> html.Div:
    """The header's search field; results open below it."""
    return html.Div([
        dcc.Input(id=Search.INPUT.value, type="search", placeholder=t("work.search.placeholder", lang),
                  debounce=True, maxLength=100, className="search-input", autoComplete="off"),
        html.Button(t("work.search.go", lang), id=Search.GO.value, className="ghost search-go"),
        html.Div(id=Search.RESULTS.value, className="search-results hidden", role="listbox"),
    ], id=Search.BOX.value, className="search-box")


def header(lang: str, path: str, user_name: str | None, role: str | None, nav: list[tuple[str, str]],
           unit: str | None = None) -> html.Header:
    """The top bar; ``nav`` is (path, title key) of the pages this user may open; the account
    reads "name · role" in the page's language, a department user's ``unit`` (its department's
    name) in place of the role's."""
    other = "en" if lang == "zh" else "zh"
    links = [html.A(t(key, lang), href=f"{href}?lang={lang}", className="nav-link active" if href == path else "nav-link")
             for href, key in nav]
    who = unit or t(f"role.{role}" if role else "role.none", lang)
    account = ([html.Span([html.Span(user_name, className="nav-user-name"), " · ",
                           html.Span(who, className="nav-user-role", title=t(f"role.{role}", lang) if role else None)],
                          className="nav-user", id="nav-user"),
                html.A(t("nav.logout", lang), href="/logout", className="nav-link")]
               if user_name else [html.A(t("nav.login", lang), href=f"/login?lang={lang}&next={path}", className="nav-link")])
    search = search_box(lang) if user_name and may_open(role, READ_ROLES) else None
    return html.Header([
        html.Div(t("app.title", lang), className="brand"),
        html.Nav(links, className="nav"),
        search,
        html.Div([*account, html.A(t("nav.lang", lang), href=f"{path}?lang={other}", id="lang-switch",
                                   className="nav-link lang")], className="nav-right"),
    ], className="topbar", **{"data-lang": lang, "data-draw": draw_texts(lang)})


def search_results(answer: dict, lang: str, tz) -> list:
    """The hits of a search: light, case id, stage, category · street, the description's start,
    the reporter; a hit opens the case in the page that can act on it (``row["page"]``)."""
    if not answer["rows"]:
        return [html.Div(t("work.search.none", lang, query=answer["query"]), className="muted search-empty"),
                html.Button("×", id={"type": Search.CLOSE.value, "n": 0}, className="ghost search-close",
                            title=t("work.search.close", lang))]
    hits = []
    for row in answer["rows"]:
        body = [
            html.Div([light_dot(row["light"], lang), html.Span(row["case_id"], className="case-id"),
                      stage_badge(row["stage"], lang)], className="search-hit-top"),
            html.Div(f"{row['category']} · {row['street']} · {row['community']}", className="search-hit-place"),
            html.Div(row["snippet"] or "—", className="search-hit-text"),
            html.Div([row.get("reporter") or "—", " · ", fmt_time(row["reported_at"], tz)], className="muted small"),
        ]
        if row["page"]:
            # dcc.Link: the page changes without a reload (the router draws it with the case open)
            hits.append(html.Div(dcc.Link(body, href=f"{row['page']}?case={row['case_id']}&lang={lang}",
                                          className="search-hit-link"),
                                 className="search-hit", **{"data-case": row["case_id"], "data-page": row["page"]}))
        else:
            hits.append(html.Div(body + [html.Div(t("work.search.no_page", lang), className="muted small")],
                                 className="search-hit", **{"data-case": row["case_id"]}))
    now, pages = answer["page"], answer["pages"]
    foot = html.Div([
        html.Span(t("work.search.total", lang, total=answer["total"], page=now, pages=pages), className="search-total"),
        html.Button("‹", id={"type": Search.PAGE.value, "to": now - 1}, className="ghost", disabled=now <= 1,
                    title=t("work.search.prev", lang)),
        html.Button("›", id={"type": Search.PAGE.value, "to": now + 1}, className="ghost", disabled=now >= pages,
                    title=t("work.search.next", lang)),
        html.Button("×", id={"type": Search.CLOSE.value, "n": 0}, className="ghost search-close",
                    title=t("work.search.close", lang)),
    ], className="search-foot")
    return [*hits, foot]


#: the texts Leaflet's own controls need: the dispatch map's selection tools (leaflet-draw)
#: and every map's zoom buttons (assets/l10n.js sets them)
DRAW_KEYS = ("draw.polygon", "draw.rectangle", "draw.finish", "draw.undo", "draw.cancel", "draw.delete",
             "draw.clear_all", "draw.save", "draw.polygon_start", "draw.polygon_cont", "draw.polygon_end",
             "draw.rect_start", "draw.release", "draw.delete_hint", "draw.no_delete", "draw.error", "map.zoom_in",
             "map.zoom_out", "map.layers")


def draw_texts(lang: str) -> str:
    """The map tools' texts in ``lang``, as JSON for the header's ``data-draw``."""
    return json.dumps({key: t(key, lang) for key in DRAW_KEYS}, ensure_ascii=False)
