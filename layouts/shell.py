"""The application shell: URL, header with navigation and language switch, page slot."""
from __future__ import annotations

from dash import dcc, html

from dashboard.i18n import t
from layouts.ids import Shell

NAV = (("/", "nav.home"), ("/wall", "nav.wall"), ("/dispatch", "nav.dispatch"), ("/intake", "nav.intake"),
       ("/department", "nav.department"), ("/briefing", "nav.briefing"))


def layout() -> html.Div:
    return html.Div([
        dcc.Location(id=Shell.URL.value, refresh="callback-nav"),
        html.Div(id=Shell.HEADER.value),
        html.Main(id=Shell.PAGE.value, className="page"),
    ], className="shell")


def header(lang: str, path: str, user_name: str | None, role: str | None) -> html.Header:
    other = "en" if lang == "zh" else "zh"
    links = [html.A(t(key, lang), href=f"{href}?lang={lang}", className="nav-link active" if href == path else "nav-link")
             for href, key in NAV]
    account = ([html.Span(f"{user_name} · {role}", className="nav-user"), html.A(t("nav.logout", lang), href="/logout",
                                                                                  className="nav-link")]
               if user_name else [html.A(t("nav.login", lang), href=f"/login?lang={lang}&next={path}", className="nav-link")])
    return html.Header([
        html.Div(t("app.title", lang), className="brand"),
        html.Nav(links, className="nav"),
        html.Div([*account, html.A(t("nav.lang", lang), href=f"{path}?lang={other}", id="lang-switch",
                                   className="nav-link lang")], className="nav-right"),
    ], className="topbar")
