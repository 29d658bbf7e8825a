"""Log-in form: a plain HTML form posted to Flask (``/login``) with a CSRF token."""
from __future__ import annotations

from dash import dcc, html

from dashboard.auth import CSRF_KEY, csrf_token, safe_next
from dashboard.i18n import t

PATH = "/login"
TITLE = "nav.login"
ROLES = None


def layout(lang: str, query: dict, services) -> html.Div:
    failed = query.get("failed") == "1"
    return html.Div([
        html.H1(t("nav.login", lang)),
        html.Div(t("login.failed", lang), className="error", id="login-error") if failed else None,
        html.Form([
            dcc.Input(type="hidden", name=CSRF_KEY, value=csrf_token()),
            dcc.Input(type="hidden", name="next", value=safe_next(query.get("next"))),
            html.Label([t("login.user", lang), dcc.Input(name="name", id="login-name", type="text", autoComplete="username")]),
            html.Label([t("login.password", lang), dcc.Input(name="password", id="login-password", type="password",
                                                             autoComplete="current-password")]),
            html.Button(t("login.submit", lang), type="submit", id="login-submit"),
        ], method="POST", action="/login", className="login-form"),
    ], className="login")
