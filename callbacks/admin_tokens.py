"""Callbacks of the token section of /admin (:mod:`layouts.admin_tokens`): list the tokens,
revoke one.  Both check the admin role on the server: the buttons are drawn for admins
only, but ``/_dash-update-component`` is reachable by anyone logged in."""
from __future__ import annotations

import time

from dash import ALL, Input, Output, State, ctx
from dash.exceptions import PreventUpdate
from flask import request
from flask_login import current_user

from callbacks.common import allowed, message
from dashboard.i18n import t
from datasource.services import tokens
from layouts.admin import ROLES
from layouts.admin_tokens import TokenIds, table
from layouts.common import fmt_time


def register(app, services) -> None:
    tz = services.scenario.calendar.tz
    engine = services.system.engine

    def when(at) -> str:
        return fmt_time(at, tz) if at else ""

    @app.callback(Output(TokenIds.TABLE.value, "children"), Input(TokenIds.TICK.value, "n_intervals"),
                  Input(TokenIds.DONE.value, "data"), State(TokenIds.LANG.value, "data"))
    def listing(_tick, _done, lang):
        """Every token with its state (never its secret)."""
        if not allowed(ROLES):
            raise PreventUpdate
        return table(tokens.list_tokens(engine), lang, when)

    @app.callback(Output(TokenIds.MESSAGE.value, "children"), Output(TokenIds.DONE.value, "data"),
                  Input({"type": TokenIds.REVOKE.value, "token": ALL}, "n_clicks"), State(TokenIds.LANG.value, "data"),
                  prevent_initial_call=True)
    def revoke(_clicks, lang):
        """Revoke the clicked token (audited); open walls using it stop at their next request."""
        if not ctx.triggered_id or not ctx.triggered[0]["value"]:
            raise PreventUpdate   # the table was redrawn, nobody clicked
        if not allowed(ROLES):
            return message(t("page.forbidden", lang), False), time.time()
        token_id = ctx.triggered_id["token"]
        try:
            tokens.revoke(engine, token_id, by=current_user.name, role=current_user.role,
                          remote_addr=request.remote_addr)
        except tokens.TokenError:
            return message(t("sec.tokens.revoke_failed", lang, id=token_id), False), time.time()
        return message(t("sec.tokens.revoked_msg", lang, id=token_id), True), time.time()
