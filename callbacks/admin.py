"""Callbacks of the administration page: one page of the audit log (the database pages and
filters it), the pager, and the export link carrying the same filters."""
from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from dash import Input, Output, State, ctx, html
from dash.exceptions import PreventUpdate

from callbacks.common import allowed
from dashboard.i18n import t
from datasource.services import audit_view
from layouts.admin import ROLES, Ids

COLUMNS = (("at", "admin.at"), ("user_name", "admin.user"), ("role", "admin.role"), ("action", "admin.action"),
           ("case_id", "admin.case"), ("remote_addr", "admin.from"), ("change", "admin.change"),
           ("outcome", "admin.outcome"), ("message", "admin.message"))
FILTERS = (Ids.CASE, Ids.USER, Ids.ACTION, Ids.OUTCOME)


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def read_filters(case_id, user, action, outcome, start, end) -> tuple[dict, dict, str | None]:
    """(service filters, query parameters of the CSV link, error key) from the controls."""
    texts = {"case_id": case_id, "user": user, "action": action, "outcome": outcome}
    chosen = {k: v.strip() for k, v in texts.items() if isinstance(v, str) and v.strip()}
    first, last = _day(start), _day(end)
    params = dict(chosen)
    if first:
        params["from"] = first.isoformat()
    if last:
        params["to"] = last.isoformat()
    error = "admin.bad_dates" if first and last and first > last else None
    return chosen, params, error


def table(rows: list[dict], lang: str) -> html.Table:
    body = [html.Tr([html.Td(r.get(c) or "", className=f"outcome-{r['outcome_code']}" if c == "outcome" else None)
                     for c, _ in COLUMNS]) for r in rows]
    return html.Table([html.Thead(html.Tr([html.Th(t(k, lang)) for _, k in COLUMNS])), html.Tbody(body)],
                      className="audit-table", id="admin-audit-table")


def register(app, services) -> None:
    tz = services.scenario.calendar.tz
    departments = services.scenario.departments
    filter_inputs = [Input(i.value, "value") for i in FILTERS] + [Input(Ids.DATES.value, "start_date"),
                                                                    Input(Ids.DATES.value, "end_date")]

    @app.callback(Output(Ids.PAGE.value, "data"), Input(Ids.PREV.value, "n_clicks"),
                  Input(Ids.NEXT.value, "n_clicks"), *filter_inputs, State(Ids.PAGE.value, "data"),
                  prevent_initial_call=True)
    def turn(_prev, _next, *values):
        """The page asked for: one back or on, or page 1 when a filter changes.  (The refresh
        tick never writes it, so a tick in flight cannot undo a click.)"""
        if not allowed(ROLES):
            raise PreventUpdate
        number = int(values[-1] or 1)
        trigger = ctx.triggered_id
        if trigger == Ids.PREV.value:
            return max(1, number - 1)
        if trigger == Ids.NEXT.value:
            return number + 1
        return 1

    @app.callback(Output(Ids.TABLE.value, "children"), Output(Ids.EXPORT.value, "href"),
                  Output(Ids.PAGE_LABEL.value, "children"), Output(Ids.PREV.value, "disabled"),
                  Output(Ids.NEXT.value, "disabled"), Output(Ids.ERROR.value, "children"),
                  Input(Ids.TICK.value, "n_intervals"), Input(Ids.PAGE.value, "data"), *filter_inputs,
                  State(Ids.LANG.value, "data"))
    def show(_tick, number, case_id, user, action, outcome, start, end, lang):
        """One page of the filtered log (the database pages it; a page past the end shows the last)."""
        if not allowed(ROLES):
            raise PreventUpdate
        chosen, params, error = read_filters(case_id, user, action, outcome, start, end)
        href = "/admin/audit.csv?" + urlencode({**params, "lang": lang})
        if error:
            return None, href, "", True, True, t(error, lang)
        bounds = audit_view.day_bounds(_day(start), _day(end), tz)
        shown = audit_view.page(services.system.engine, lang, tz, departments, number or 1, **chosen, **bounds)
        label = t("admin.page", lang, page=shown["page"], pages=shown["pages"], n=shown["total"])
        content = table(shown["rows"], lang) if shown["rows"] else html.P(t("admin.none", lang), className="muted")
        return content, href, label, shown["page"] <= 1, shown["page"] >= shown["pages"], None
