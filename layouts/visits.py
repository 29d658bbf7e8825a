"""Return visits page (回访, issue 11): the queue of closed public cases awaiting a call, the
form to record what the reporter said (satisfied / basically / unsatisfied, a note, and for
an unsatisfied reporter whether to send the case back for rework), and the satisfaction
rate of the last 30 days in total, by department and by street."""
from __future__ import annotations

from enum import Enum

from dash import dcc, html

from dashboard.domain.permissions import PAGE_ROLES
from dashboard.domain.visits import RESULTS
from dashboard.i18n import t
from layouts.common import fmt_time

PATH = "/visits"
TITLE = "nav.visits"
ROLES = PAGE_ROLES[PATH]
TICK_MS = 5000
PERIOD_DAYS = 30


class Ids(str, Enum):
    LANG = "visits-lang"
    TICK = "visits-tick"
    REFRESH = "visits-refresh"
    SELECTED = "visits-selected"
    SIGNATURE = "visits-signature"
    QUEUE = "visits-queue"
    TOTAL = "visits-total"
    CASE = "visits-case"
    FORM = "visits-form"
    RESULT = "visits-result"
    NOTE = "visits-note"
    REOPEN = "visits-reopen"
    SAVE = "visits-save"
    MESSAGE = "visits-message"
    RATE = "visits-rate"
    RATE_LINE = "visits-rate-line"
    BY_DEPARTMENT = "visits-by-department"
    BY_STREET = "visits-by-street"
    ROW = "visits-row"  # pattern-matching type


def layout(lang: str, query: dict, services) -> html.Div:
    results = [{"label": t(f"visit.result.{r}", lang), "value": r} for r in RESULTS]
    return html.Div([
        dcc.Store(id=Ids.LANG.value, data=lang), dcc.Store(id=Ids.SELECTED.value, data=query.get("case")),
        dcc.Store(id=Ids.REFRESH.value, data=0), dcc.Store(id=Ids.SIGNATURE.value),
        dcc.Interval(id=Ids.TICK.value, interval=TICK_MS),
        html.Aside([
            html.Div([html.H2(t("visit.queue", lang)), html.Span("", id=Ids.TOTAL.value, className="count")],
                     className="section-head"),
            html.Div(id=Ids.QUEUE.value, className="queue"),
        ], className="console-queue"),
        html.Section([
            html.Div([
                html.H2(t("visit.rate_title", lang, days=PERIOD_DAYS)),
                html.Div("–", id=Ids.RATE.value, className="visit-rate"),
                html.P(id=Ids.RATE_LINE.value, className="muted small"),
            ], className="visit-figure"),
            html.Div([
                html.Div([html.H3(t("visit.by_department", lang)), html.Div(id=Ids.BY_DEPARTMENT.value)]),
                html.Div([html.H3(t("visit.by_street", lang)), html.Div(id=Ids.BY_STREET.value)]),
            ], className="visit-tables"),
        ], className="visit-main"),
        html.Aside([
            html.Div(html.P(t("dispatch.pick", lang), className="muted"), id=Ids.CASE.value),
            html.Div([
                html.H3(t("visit.form", lang)),
                html.Label([t("visit.result", lang), dcc.RadioItems(id=Ids.RESULT.value, options=results, value=None,
                                                                    className="radio-inline")], className="form-label"),
                html.Label([t("visit.note", lang), dcc.Textarea(id=Ids.NOTE.value, className="input", maxLength=1000)],
                           className="form-label"),
                dcc.Checklist(id=Ids.REOPEN.value, options=[{"label": t("visit.reopen", lang), "value": "reopen"}],
                              value=[], className="checklist"),
                html.Div(html.Button(t("visit.submit", lang), id=Ids.SAVE.value, className="primary"), className="buttons"),
            ], id=Ids.FORM.value, className="actions hidden"),
            html.Div(id=Ids.MESSAGE.value, className="message", role="status"),
        ], className="console-panel"),
    ], className="visits-page")


def queue_row(row: dict, lang: str, queries, tz, selected: str | None) -> html.Div:
    """One case awaiting a visit: id, source, category, street, department, when closed."""
    return html.Div([
        html.Div([html.Span(row["case_id"], className="case-id"),
                  html.Span(t(f"source.{row['source']}", lang), className="tag")], className="row-top"),
        html.Div(queries.category_name(row["category_code"], lang), className="row-category"),
        html.Div([html.Span(queries.street_name(row["street_code"])), " · ",
                  html.Span(queries.department_name(row["department_code"], lang)), " · ",
                  html.Span(t("visit.closed_at", lang, time=fmt_time(row["closed_at"], tz)), className="muted")],
                 className="row-meta"),
    ], id={"type": Ids.ROW.value, "case": row["case_id"]}, n_clicks=0, role="button",
        className="queue-row" + (" selected" if row["case_id"] == selected else ""), **{"data-case": row["case_id"]})


def rate_text(rate: float | None, lang: str) -> str:
    return t("visit.rate_none", lang) if rate is None else f"{rate * 100:.1f} %"


def rate_table(groups: list[dict], lang: str, kind: str) -> html.Table:
    """Name, visited, satisfaction rate per group (best first)."""
    head = html.Tr([html.Th(t("visit.col_name", lang)), html.Th(t("visit.col_visited", lang)),
                    html.Th(t("visit.col_rate", lang))])
    rows = [html.Tr([html.Td(g["name"] or g["key"] or "-"), html.Td(str(g["visited"])),
                     html.Td(rate_text(g["rate"], lang))], **{"data-key": g["key"] or ""}) for g in groups]
    return html.Table([html.Thead(head), html.Tbody(rows)], className=f"table visit-table visit-{kind}")
