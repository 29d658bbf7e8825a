"""The application shell: URL, header with navigation and language switch, page slot."""
from __future__ import annotations

import json

from dash import dcc, html

from dashboard.i18n import t
from layouts.ids import Shell


def layout() -> html.Div:
    return html.Div([
        dcc.Location(id=Shell.URL.value, refresh="callback-nav"),
        html.Div(id=Shell.HEADER.value),
        html.Main(id=Shell.PAGE.value, className="page"),
    ], className="shell")


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
    return html.Header([
        html.Div(t("app.title", lang), className="brand"),
        html.Nav(links, className="nav"),
        html.Div([*account, html.A(t("nav.lang", lang), href=f"{path}?lang={other}", id="lang-switch",
                                   className="nav-link lang")], className="nav-right"),
    ], className="topbar", **{"data-lang": lang, "data-draw": draw_texts(lang)})


#: the texts Leaflet's own controls need: the dispatch map's selection tools (leaflet-draw)
#: and every map's zoom buttons (assets/l10n.js sets them)
DRAW_KEYS = ("draw.polygon", "draw.rectangle", "draw.finish", "draw.undo", "draw.cancel", "draw.delete",
             "draw.clear_all", "draw.save", "draw.polygon_start", "draw.polygon_cont", "draw.polygon_end",
             "draw.rect_start", "draw.release", "draw.delete_hint", "draw.no_delete", "draw.error", "map.zoom_in",
             "map.zoom_out")


def draw_texts(lang: str) -> str:
    """The map tools' texts in ``lang``, as JSON for the header's ``data-draw``."""
    return json.dumps({key: t(key, lang) for key in DRAW_KEYS}, ensure_ascii=False)
