"""Callbacks of the return-visits page: the queue and the satisfaction figures (refreshed),
the selected case, and recording a visit through the visits service."""
from __future__ import annotations

import time
from datetime import timedelta

from dash import ALL, Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.common import actor, allowed, message, picked_case, require, signature, user_scope
from dashboard.domain.visits import awaiting_visit
from dashboard.i18n import t
from datasource.services.command_types import CommandRefused
from dashboard.domain.evaluation import Period
from layouts.common import case_details
from layouts.visits import PERIOD_DAYS, ROLES, Ids, queue_row, rate_table, rate_text


def register(app, services) -> None:
    queries, visits = services.cases, services.visits
    tz = services.scenario.calendar.tz

    @app.callback(Output(Ids.QUEUE.value, "children"), Output(Ids.TOTAL.value, "children"),
                  Output(Ids.RATE.value, "children"), Output(Ids.RATE_LINE.value, "children"),
                  Output(Ids.BY_DEPARTMENT.value, "children"), Output(Ids.BY_STREET.value, "children"),
                  Output(Ids.SIGNATURE.value, "data"),
                  Input(Ids.TICK.value, "n_intervals"), Input(Ids.REFRESH.value, "data"),
                  Input(Ids.SELECTED.value, "data"), State(Ids.LANG.value, "data"), State(Ids.SIGNATURE.value, "data"))
    def refresh(_tick, _refresh, selected, lang, shown):
        """The cases awaiting a visit (true total) and the satisfaction of the last 30 days."""
        require(ROLES)
        scope = user_scope()
        queue = visits.queue(scope, limit=200)
        today = visits.now().date()
        period = Period(today - timedelta(days=PERIOD_DAYS - 1), today, tz=tz)
        by_department = visits.satisfaction(period, "department", scope, lang)
        by_street = visits.satisfaction(period, "street", scope, lang)
        digest = signature([r["case_id"] for r in queue["cases"]], queue["total"], by_department, by_street,
                           selected, lang)
        if digest == shown:
            raise PreventUpdate
        total = by_department["total"]
        rows = [queue_row(r, lang, queries, tz, selected) for r in queue["cases"]]
        line = t("visit.rate_line", lang, s=total["satisfied"], b=total["basically"], u=total["unsatisfied"],
                 n=total["visited"])
        return (rows or [html.P(t("visit.empty", lang), className="muted small")],
                t("visit.queue_total", lang, n=queue["total"]), rate_text(total["rate"], lang), line,
                rate_table(by_department["groups"], lang, "department"), rate_table(by_street["groups"], lang, "street"),
                digest)

    @app.callback(Output(Ids.SELECTED.value, "data", allow_duplicate=True),
                  Output(Ids.MESSAGE.value, "children", allow_duplicate=True),
                  Input({"type": Ids.ROW.value, "case": ALL}, "n_clicks"), prevent_initial_call=True)
    def select(_rows):
        require(ROLES)
        return picked_case(None), None

    @app.callback(Output(Ids.CASE.value, "children"), Output(Ids.FORM.value, "className"),
                  Input(Ids.SELECTED.value, "data"), Input(Ids.REFRESH.value, "data"), State(Ids.LANG.value, "data"))
    def show(case_id, _refresh, lang):
        """The selected case; the form while it still awaits a visit."""
        require(ROLES)
        if not case_id:
            raise PreventUpdate
        case = queries.case(case_id, lang) if queries.in_scope(case_id, user_scope()) else None
        if case is None or not case.get("projected"):
            return message(t("case.not_found", lang), False), "actions hidden"
        return case_details(case, lang, queries, tz), "actions" if awaiting_visit(case) else "actions hidden"

    @app.callback(Output(Ids.MESSAGE.value, "children"), Output(Ids.REFRESH.value, "data"),
                  Output(Ids.NOTE.value, "value"), Output(Ids.REOPEN.value, "value"),
                  Input(Ids.SAVE.value, "n_clicks"), State(Ids.SELECTED.value, "data"), State(Ids.RESULT.value, "value"),
                  State(Ids.NOTE.value, "value"), State(Ids.REOPEN.value, "value"), State(Ids.LANG.value, "data"),
                  running=[(Output(Ids.SAVE.value, "disabled"), True, False)], prevent_initial_call=True)
    def save(n_clicks, case_id, result, note, reopen, lang):
        """Record the visit of the selected case."""
        if not n_clicks:
            raise PreventUpdate
        if not allowed(ROLES):
            return message(t("page.forbidden", lang), False), no_update, no_update, no_update
        if not case_id:
            return message(t("evidence.pick", lang), False), no_update, no_update, no_update
        try:
            done = visits.record(actor(), case_id, result, note or "", "reopen" in (reopen or []))
        except CommandRefused as exc:
            return message(exc.message(lang), False), no_update, no_update, no_update
        text = t("visit.saved", lang, case=case_id, result=t(f"visit.result.{result}", lang))
        if done.after != "closed":
            text += " · " + t("visit.reopened", lang, case=case_id)
        return message(text, True), time.time(), "", []
