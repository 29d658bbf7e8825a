"""The router: URL → page layout, after checking the page's roles on the server."""
from __future__ import annotations

from urllib.parse import parse_qs

from dash import ALL, Input, Output, State, ctx, html
from dash.exceptions import PreventUpdate
from flask_login import current_user

from callbacks.common import allowed, current_role, user_scope
from dashboard.domain.permissions import READ_ROLES, nav_pages
from dashboard.i18n import lang_of, t
from layouts import find, pages
from layouts.ids import Shell
from layouts.shell import Search, header, search_results


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

    tz = services.scenario.calendar.tz

    @app.callback(Output(Search.RESULTS.value, "children"), Output(Search.RESULTS.value, "className"),
                  Input(Search.INPUT.value, "value"), Input(Search.GO.value, "n_clicks"),
                  Input({"type": Search.PAGE.value, "to": ALL}, "n_clicks"),
                  Input({"type": Search.CLOSE.value, "n": ALL}, "n_clicks"),
                  State(Search.INPUT.value, "value"), State(Shell.URL.value, "search"), prevent_initial_call=True)
    def search(_typed, _go, _pages, _close, query, url_search):
        """The header's case search: by id, address, description words, reporter, in SQL, for
        this user's role, department and sub-centre; paged."""
        if not allowed(READ_ROLES):
            raise PreventUpdate
        trigger = ctx.triggered_id
        page = 1
        if isinstance(trigger, dict):
            if not ctx.triggered[0]["value"]:
                raise PreventUpdate  # the buttons were redrawn, nobody clicked
            page = trigger.get("to", 1)
        if (isinstance(trigger, dict) and trigger.get("type") == Search.CLOSE.value) or not (query or "").strip():
            return None, "search-results hidden"
        lang = lang_of(url_search, default_lang)
        answer = services.search.search(query, current_role(), getattr(current_user, "department_code", None),
                                        user_scope(), page=page, lang=lang)
        return search_results(answer, lang, tz), "search-results"
