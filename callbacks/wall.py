"""Callbacks of the wall: one thin server callback per tick, the rest in the browser.

The server callback reads the viewer's cursor (the version it has applied), asks the shared
:class:`datasource.services.wall.LiveSnapshot` for the delta since then and returns it — no query of
its own, so fifty walls cost one snapshot computation per tick.  The page's ROLES are checked
here too: the router protects the layout, but ``/_dash-update-component`` is reachable
without it, and a tick carries case data.

Since issue 13 the data are pushed (``/wall/stream``, :mod:`dashboard.web.wall_push`); the tick
callback serves only ``?transport=poll`` walls (the benchmark's comparison).  A user scoped to a
street or community gets that area's payload (cut on the server).  The one other server
callback runs the acknowledge command of an alarm (audited, :mod:`datasource.services.wall_alarms`).

Three clientside callbacks (``assets/wall.js``, namespace ``wall``) merge the delta into the
page, run the clock and the freshness watchdog, and switch/rotate views.
"""
from __future__ import annotations

import logging
import threading

from dash import ALL, ClientsideFunction, Input, Output, State
from dash.exceptions import PreventUpdate

from callbacks.common import actor, allowed, user_scope
from dashboard.i18n import t
from datasource.services.command_types import CommandRefused
from layouts.wall import ROLES, WallId


log = logging.getLogger("citygrid.wall")


def _warm_up(services) -> None:
    """Compute the first snapshot before the first wall asks (it reads every open case once)."""
    try:
        services.live.get()
    except Exception as exc:  # noqa: BLE001 - the first tick will try again and report health
        log.warning("wall snapshot warm-up failed: %s", exc)


def register(app, services) -> None:
    threading.Thread(target=_warm_up, args=(services,), name="wall-warm-up", daemon=True).start()

    @app.callback(Output(WallId.PAYLOAD.value, "data"), Input(WallId.TICK.value, "n_intervals"),
                  State(WallId.CURSOR.value, "data"))
    def tick(_n, cursor):
        """The delta since the viewer's version (the whole state for a new viewer)."""
        if not allowed(ROLES):
            raise PreventUpdate
        return services.live.payload(cursor if isinstance(cursor, int) else None, user_scope())

    @app.callback(Output(WallId.ALARM_MSG.value, "children"), Input(WallId.ALARM_ACK.value, "n_clicks"),
                  State(WallId.ALARM_CASE.value, "data"), State(WallId.CONFIG.value, "data"), prevent_initial_call=True)
    def acknowledge(_n, case_id, cfg):
        """Acknowledge the alarm the takeover shows: the command checks role, scope and case."""
        lang = (cfg or {}).get("lang", "zh")
        if not allowed(ROLES):
            raise PreventUpdate
        if not case_id:
            return t("wall.alarm.none", lang)
        try:
            services.commands.acknowledge(actor(), case_id)
        except CommandRefused as exc:
            return exc.message(lang)
        return t("wall.alarm.acked", lang, case=case_id)

    app.clientside_callback(
        ClientsideFunction("wall", "apply"),
        Output(WallId.CURSOR.value, "data"),
        Output({"type": WallId.STAGE.value, "slot": ALL}, "children"),
        Output({"type": WallId.SIDE.value, "slot": ALL}, "children"),
        Output(WallId.BOARD.value, "children"),
        Output(WallId.TICKER.value, "children"),
        Output(WallId.MARKERS.value, "data"),
        Output(WallId.PULSES.value, "data"),
        Input(WallId.PAYLOAD.value, "data"),
        State(WallId.CONFIG.value, "data"),
    )
    app.clientside_callback(
        ClientsideFunction("wall", "clock"),
        Output(WallId.TIME.value, "children"),
        Output(WallId.DATE.value, "children"),
        Output(WallId.FRESH.value, "children"),
        Output(WallId.FRESH.value, "className"),
        Output(WallId.BANNER.value, "children"),
        Output(WallId.BANNER.value, "className"),
        Input(WallId.CLOCK.value, "n_intervals"),
        State(WallId.CONFIG.value, "data"),
    )
    app.clientside_callback(
        ClientsideFunction("wall", "view"),
        Output(WallId.MAP.value, "viewport"),
        Output(WallId.VIEW.value, "children"),
        Output(WallId.MODE_OPEN.value, "className"),
        Output(WallId.MODE_OVERDUE.value, "className"),
        Output(WallId.LEGEND_OPEN.value, "className"),
        Output(WallId.LEGEND_OVERDUE.value, "className"),
        Input(WallId.ROTATE.value, "n_intervals"),
        Input(WallId.MODE_OPEN.value, "n_clicks"),
        Input(WallId.MODE_OVERDUE.value, "n_clicks"),
        State(WallId.CONFIG.value, "data"),
        prevent_initial_call=True,
    )
