"""Administration page (系统管理): the audit log of every command — filters that fit their
content (case, user, action, outcome, a date range in Beijing time), pages of rows served
by the database, and a CSV export (``/admin/audit.csv``: the same filters as query
parameters, a UTF-8 BOM, Beijing times and headers in the page's language). Below it the API and display tokens
(:mod:`layouts.admin_tokens`)."""
from __future__ import annotations

from enum import Enum

from dash import dcc, html

from dashboard.i18n import t
from layouts import admin_tokens
from dashboard.domain.permissions import ACTIONS, PAGE_ROLES

PATH = "/admin"
TITLE = "nav.admin"
ROLES = PAGE_ROLES[PATH]
OUTCOMES = ("ok", "refused", "conflict", "error")
#: the date pickers' month caption per language (date-fns tokens through Dash's moment-style names)
MONTH_FORMAT = {"zh": "YYYY年M月", "en": "MMMM YYYY"}


class Ids(str, Enum):
    LANG = "admin-lang"
    TICK = "admin-tick"
    CASE = "admin-case"
    USER = "admin-user"
    ACTION = "admin-action"
    OUTCOME = "admin-outcome"
    DATES = "admin-dates"
    EXPORT = "admin-export"
    TABLE = "admin-table"
    PAGE = "admin-page"
    PREV = "admin-prev"
    NEXT = "admin-next"
    PAGE_LABEL = "admin-page-label"
    ERROR = "admin-error"


def _labelled(key: str, control, lang: str, class_name: str) -> html.Label:
    return html.Label([html.Span(t(key, lang)), control], className=f"admin-filter {class_name}")


def filters(lang: str) -> html.Div:
    """The filter bar: every control wide enough for what it holds, labelled above."""
    everything = [{"label": t("admin.all", lang), "value": ""}]
    return html.Div([
        _labelled("admin.filter_case", dcc.Input(id=Ids.CASE.value, className="input", debounce=True,
                                                 placeholder=t("admin.case_hint", lang)), lang, "filter-case"),
        _labelled("admin.filter_user", dcc.Input(id=Ids.USER.value, className="input", debounce=True,
                                                 placeholder=t("admin.user_hint", lang)), lang, "filter-user"),
        _labelled("admin.filter_action", dcc.Dropdown(
            id=Ids.ACTION.value, value="", clearable=False, className="dropdown", searchable=False,
            options=everything + [{"label": t(f"action.{a}", lang), "value": a} for a in ACTIONS]), lang,
            "filter-action"),
        _labelled("admin.filter_outcome", dcc.Dropdown(
            id=Ids.OUTCOME.value, value="", clearable=False, className="dropdown", searchable=False,
            options=everything + [{"label": t(f"audit.outcome.{o}", lang), "value": o} for o in OUTCOMES]), lang,
            "filter-outcome"),
        _labelled("admin.filter_dates", dcc.DatePickerRange(
            id=Ids.DATES.value, display_format="YYYY-MM-DD", month_format=MONTH_FORMAT[lang], first_day_of_week=1,
            minimum_nights=0, clearable=True, className="admin-dates",
            start_date_placeholder_text=t("admin.date_from", lang),
            end_date_placeholder_text=t("admin.date_to", lang)), lang, "filter-dates"),
        html.A(t("admin.export", lang), id=Ids.EXPORT.value, href=f"/admin/audit.csv?lang={lang}",
               className="button-link admin-export", download="citygrid-audit.csv"),
    ], className="admin-filters")


def pager(lang: str) -> html.Div:
    return html.Div([
        html.Button(t("admin.prev", lang), id=Ids.PREV.value, n_clicks=0, className="button-secondary"),
        html.Span(id=Ids.PAGE_LABEL.value, className="muted small"),
        html.Button(t("admin.next", lang), id=Ids.NEXT.value, n_clicks=0, className="button-secondary"),
    ], className="admin-pager")


def layout(lang: str, query: dict, services) -> html.Div:
    return html.Div([
        dcc.Store(id=Ids.LANG.value, data=lang),
        dcc.Store(id=Ids.PAGE.value, data=1),
        dcc.Interval(id=Ids.TICK.value, interval=5000),
        html.H1(t("admin.title", lang)),
        filters(lang),
        html.Div(id=Ids.ERROR.value, className="error"),
        html.Div(id=Ids.TABLE.value),
        pager(lang),
        admin_tokens.section(lang),   # API and display tokens (issue 12)
    ], className="admin")
