"""Log-in form: a plain HTML form posted to Flask (``/login``) with a CSRF token."""
from __future__ import annotations

from dash import dcc, html

from flask_wtf.csrf import generate_csrf
from dashboard.i18n import t
from dashboard.domain.permissions import PAGE_ROLES

PATH = "/login"
TITLE = "nav.login"
ROLES = PAGE_ROLES[PATH]


def layout(lang: str, query: dict, services) -> html.Div:
    failed = query.get("failed") in ("1", "csrf")
    return html.Div([
        html.H1(t("nav.login", lang)),
        html.Div(t("login.failed", lang), className="error", id="login-error") if failed else None,
        html.Form([
            dcc.Input(type="hidden", name="csrf_token", value=generate_csrf()),
            dcc.Input(type="hidden", name="next", value=query.get("next") or "/"),
            html.Label([t("login.user", lang), dcc.Input(name="name", id="login-name", type="text", autoComplete="username")]),
            html.Label([t("login.password", lang), dcc.Input(name="password", id="login-password", type="password",
                                                             autoComplete="current-password")]),
            html.Button(t("login.submit", lang), type="submit", id="login-submit"),
        ], method="POST", action="/login", className="login-form"),
    ], className="login")
