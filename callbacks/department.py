"""Callbacks of the department page: its own queue and map, the case panel, and the
department's actions (handled, returned, requests).  The command service checks on the
server that the case was dispatched to the user's own department."""
from __future__ import annotations

from dash import ALL, Input, Output, State, no_update
from dash.exceptions import PreventUpdate
from flask_login import current_user

from callbacks.common import (case_for_panel, clicked_action, features, message, parse_local, picked_case,
                              queue_signature, register_view, require, run_action, shown_state, user_scope, view_of)
from dashboard.i18n import t
from layouts.common import case_details, pager, queue_row, timeline
from layouts.department import BUTTONS, DEFAULT_SORT, ROLES, Ids

STAGES = ("dispatched",)
PER_PAGE = 50


def own_department() -> str | None:
    """The user's department; None for an admin (who sees every department's queue)."""
    return getattr(current_user, "department_code", None)


def register(app, services) -> None:
    queries = services.cases
    commands = services.commands
    tz = services.scenario.calendar.tz
    buttons = list(BUTTONS)
    register_view(app, "department", Ids.VIEW.value, Ids.REFRESH.value, DEFAULT_SORT)

    @app.callback(Output(Ids.QUEUE.value, "children"), Output(Ids.QUEUE_COUNT.value, "children"),
                  Output(Ids.CASES_LAYER.value, "data"), Output(Ids.SIGNATURE.value, "data"),
                  Output(Ids.PAGER.value, "children"),
                  Input(Ids.TICK.value, "n_intervals"), Input(Ids.REFRESH.value, "data"),
                  Input(Ids.SELECTED.value, "data"), State(Ids.LANG.value, "data"), State(Ids.SIGNATURE.value, "data"),
                  State(Ids.VIEW.value, "data"))
    def refresh(_tick, _refresh, selected, lang, signature, view):
        """The department's open cases (dispatched to it, reworks included): the true total,
        one page of rows, newest first unless the user sorts otherwise."""
        require(ROLES)
        department = own_department()
        if department is None and current_user.role != "admin":
            return [message(t("department.none", lang), False)], "0", no_update, no_update, None
        filters, sort, pages = view_of(view, DEFAULT_SORT)
        answer = services.queues.page(STAGES, department=department, scope=user_scope(), filters=filters, sort=sort,
                                      page=pages.get("queue", 1), per_page=PER_PAGE)
        points = services.queues.points(STAGES, department=department, scope=user_scope(), filters=filters)
        digest = queue_signature(answer["rows"], answer["total"], answer["page"],
                                 [(p["case_id"], p["light"]) for p in points], selected, lang)
        if digest == signature:
            raise PreventUpdate
        items = [queue_row(r, lang, queries, Ids.ROW.value, selected) for r in answer["rows"]]
        return (items or [message(t("intake.empty", lang), True)], str(answer["total"]),
                features(points, "work", queries, lang), digest, pager("department", "queue", answer, lang))

    @app.callback(Output(Ids.SELECTED.value, "data", allow_duplicate=True),
                  Output(Ids.MESSAGE.value, "children", allow_duplicate=True),
                  Input(Ids.CASES_LAYER.value, "clickData"), Input({"type": Ids.ROW.value, "case": ALL}, "n_clicks"),
                  prevent_initial_call=True)
    def select(click, _rows):
        require(ROLES)
        return picked_case(click), None

    @app.callback(Output(Ids.PANEL_BODY.value, "children"), Output(Ids.PANEL_TIMELINE.value, "children"),
                  Output(Ids.ACTIONS.value, "className"), Output(Ids.NOTE.value, "value"),
                  Output(Ids.SHOWN.value, "data"),
                  Input(Ids.SELECTED.value, "data"), Input(Ids.REFRESH.value, "data"), Input(Ids.TICK.value, "n_intervals"),
                  State(Ids.SHOWN.value, "data"), State(Ids.LANG.value, "data"))
    def show(case_id, _refresh, _tick, shown, lang):
        require(ROLES)
        case = case_for_panel(queries, case_id, shown, lang, Ids.TICK.value)
        department = own_department()
        if case is None or (department and case.get("department_code") != department
                            and commands.state(case_id).get("department") != department):
            return message(t("case.not_found", lang), False), None, "actions hidden", "", None
        stage = case["command"]["stage"] or case.get("stage")
        actions = "actions" if stage == "dispatched" else "actions hidden"
        return (case_details(case, lang, queries, tz), timeline(case, lang, queries, tz), actions, no_update,
                shown_state(case))

    @app.callback(Output(Ids.MESSAGE.value, "children", allow_duplicate=True),
                  Output(Ids.REFRESH.value, "data", allow_duplicate=True),
                  *[Input(b.value, "n_clicks") for b in buttons],
                  State(Ids.SELECTED.value, "data"), State(Ids.SHOWN.value, "data"), State(Ids.NOTE.value, "value"),
                  State(Ids.UNTIL.value, "value"), State(Ids.LANG.value, "data"),
                  running=[(Output(b.value, "disabled"), True, False) for b in buttons], prevent_initial_call=True)
    def act(*args):
        case_id, shown, note, until, lang = args[len(buttons):]
        chosen, refusal = clicked_action(BUTTONS, case_id, ROLES, lang)
        if refusal:
            return refusal, no_update
        action, params = chosen
        if action == "handle":
            params.update(note=note or "", version=(shown or {}).get("version"))
        elif action == "return":
            params.update(reason=note or "", version=(shown or {}).get("version"))
        else:
            when = parse_local(until, tz)
            params.update(reason=note or "", until=when.isoformat() if when else None)
        return run_action(commands, action, case_id, params, lang,
                          "department.requested" if action == "request" else "intake.done")
