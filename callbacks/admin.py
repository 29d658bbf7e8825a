"""Callbacks of the administration page: the audit table and the export link."""
from __future__ import annotations

from urllib.parse import urlencode

from dash import Input, Output, State, html
from dash.exceptions import PreventUpdate

from callbacks.common import allowed
from dashboard.i18n import t
from datasource.services import audit
from layouts.admin import ROLES, ROWS, Ids
from layouts.common import fmt_time

COLUMNS = (("at", "admin.at"), ("user_name", "admin.user"), ("role", "admin.role"), ("action", "admin.action"),
           ("case_id", "admin.case"), ("remote_addr", "admin.from"), ("change", "admin.change"),
           ("outcome", "admin.outcome"), ("message", "admin.message"))


def register(app, services) -> None:
    tz = services.scenario.calendar.tz

    @app.callback(Output(Ids.TABLE.value, "children"), Output(Ids.EXPORT.value, "href"),
                  Input(Ids.TICK.value, "n_intervals"), Input(Ids.CASE.value, "value"), Input(Ids.USER.value, "value"),
                  Input(Ids.OUTCOME.value, "value"), State(Ids.LANG.value, "data"))
    def table(_tick, case_id, user, outcome, lang):
        """The latest audit rows (every text as text), and the CSV link with the same filters."""
        if not allowed(ROLES):
            raise PreventUpdate
        filters = {k: v.strip() for k, v in (("case_id", case_id), ("user", user), ("outcome", outcome)) if v and v.strip()}
        rows = audit.query(services.system.engine, limit=ROWS, **filters)
        body = []
        for r in rows:
            change = f"{r['before'] or '—'} → {r['after'] or '—'}" if (r["before"] or r["after"]) else ""
            values = {**r, "at": fmt_time(r["at"], tz, seconds=True), "change": change}
            body.append(html.Tr([html.Td(str(values.get(c) or ""), className=f"outcome-{r['outcome']}"
                                         if c == "outcome" else None) for c, _ in COLUMNS]))
        return [html.P(t("admin.rows", lang, n=len(rows)), className="muted small"),
                html.Table([html.Thead(html.Tr([html.Th(t(k, lang)) for _, k in COLUMNS])), html.Tbody(body)],
                           className="audit-table")], "/admin/audit.csv" + ("?" + urlencode(filters) if filters else "")
