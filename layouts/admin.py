"""Administration page (系统管理): the audit log of every command, filterable, with a CSV
export (``/admin/audit.csv``, the same filters as query parameters); below it the API and
display tokens (:mod:`layouts.admin_tokens`)."""
from __future__ import annotations

from enum import Enum

from dash import dcc, html

from dashboard.i18n import t
from dashboard.domain.permissions import PAGE_ROLES
from layouts import admin_tokens

PATH = "/admin"
TITLE = "nav.admin"
ROLES = PAGE_ROLES[PATH]
ROWS = 300
OUTCOMES = ("ok", "refused", "conflict", "error")


class Ids(str, Enum):
    LANG = "admin-lang"
    TICK = "admin-tick"
    CASE = "admin-case"
    USER = "admin-user"
    OUTCOME = "admin-outcome"
    EXPORT = "admin-export"
    TABLE = "admin-table"


def layout(lang: str, query: dict, services) -> html.Div:
    return html.Div([
        dcc.Store(id=Ids.LANG.value, data=lang),
        dcc.Interval(id=Ids.TICK.value, interval=5000),
        html.H1(t("admin.title", lang)),
        html.Div([
            html.Label([t("admin.filter_case", lang), dcc.Input(id=Ids.CASE.value, className="input", debounce=True,
                                                                placeholder="DC…")]),
            html.Label([t("admin.filter_user", lang), dcc.Input(id=Ids.USER.value, className="input", debounce=True)]),
            html.Label([t("admin.filter_outcome", lang), dcc.Dropdown(
                id=Ids.OUTCOME.value, value="", clearable=False, className="dropdown", style={"width": "160px"},
                options=[{"label": t("admin.all", lang), "value": ""}] + [{"label": o, "value": o} for o in OUTCOMES])]),
            html.A(t("admin.export", lang), id=Ids.EXPORT.value, href="/admin/audit.csv", className="button-link",
                   download="citygrid-audit.csv"),
        ], className="admin-filters"),
        html.Div(id=Ids.TABLE.value),
        admin_tokens.section(lang),   # API and display tokens (issue 12)
    ], className="admin")
