"""Callbacks of the component page: read the component and its cases, draw them."""
from __future__ import annotations

from dash import Input, Output, State, html

from callbacks.common import require, user_scope
from dashboard.i18n import t
from layouts.common import fmt_time
from layouts.components import ROLES, Ids, case_history, component_data


def register(app, services) -> None:
    components, names = services.components, services.cases
    tz = services.scenario.calendar.tz

    @app.callback(Output(Ids.BODY.value, "children"), Output(Ids.CASES.value, "children"),
                  Input(Ids.CODE.value, "data"), State(Ids.LANG.value, "data"))
    def show(code, lang):
        """The component's data and its case history (not found: one line, nothing else)."""
        require(ROLES)
        found = components.get(code or "")
        scope = user_scope()
        if found is None or (scope and not found["community_code"].startswith(scope)):
            return html.P(t("components.not_found", lang, code=str(code)[:40]), className="msg-error",
                          id="component-missing"), None
        return component_data(found, lang, names), case_history(components.cases_of(found["code"]), lang, names,
                                                                fmt_time, tz)
