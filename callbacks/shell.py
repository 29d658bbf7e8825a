"""The router: URL → page layout, after checking the page's roles on the server."""
from __future__ import annotations

from urllib.parse import parse_qs

from dash import Input, Output, html
from flask_login import current_user

from callbacks.common import allowed
from dashboard.domain.permissions import nav_pages
from dashboard.i18n import lang_of, t
from layouts import find, pages
from layouts.ids import Shell
from layouts.shell import header


def register(app, services) -> None:
    registry = pages()
    default_lang = services.settings.lang

    @app.callback(Output(Shell.PAGE.value, "children"), Output(Shell.HEADER.value, "children"),
                  Input(Shell.URL.value, "pathname"), Input(Shell.URL.value, "search"))
    def route(pathname, search):
        lang = lang_of(search, default_lang)
        query = {k: v[0] for k, v in parse_qs((search or "").lstrip("?")).items()}
        path = pathname or "/"
        page, params = find(registry, path)
        query.update(params)
        user = current_user if getattr(current_user, "is_authenticated", False) else None
        kiosk = query.get("kiosk") == "1"
        role = user.role if user else None
        nav = [(href, registry[href].TITLE) for href in nav_pages(role, registry)]
        unit = services.cases.department_name(user.department_code, lang) \
            if user is not None and role == "department" and user.department_code else None
        top = None if kiosk else header(lang, path, user.name if user else None, role, nav, unit)
        if page is None:
            return html.Div(t("page.not_found", lang), className="notice"), top
        if page.ROLES is not None and not allowed(page.ROLES):
            key = "page.forbidden" if user else "page.login_needed"
            link = None if user else html.A(t("nav.login", lang), href=f"/login?lang={lang}&next={path}")
            return html.Div([html.P(t(key, lang)), link], className="notice", id="page-denied"), top
        return page.layout(lang, query, services), top
