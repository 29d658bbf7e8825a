"""Callbacks of the supervision page: queues, map picking, phone registration, the case
panel and its actions.  Thin: inputs → CaseQueries / CommandService → components."""
from __future__ import annotations

import time

from dash import ALL, Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.common import (actor, allowed, case_for_panel, clicked_action, current_role, features, input_value,
                              message, parse_local, picked_case, queue_signature, register_view, require, run_action,
                              shown_state, user_scope, view_of)
from callbacks.components_map import register_layer, register_pick
from dashboard.domain.permissions import offered_actions
from dashboard.i18n import t
from datasource.services.command_types import CommandRefused
from layouts.common import case_details, fmt_time, pager, queue_row, timeline
from layouts.intake import BUTTONS, NEEDS_UNTIL, QUEUES, ROLES, Ids

QUEUE_STAGES = tuple(stage for stage, _ in QUEUES if stage != "requests")
PER_BOX = 20  # rows per page of each queue box


def request_line(entry: dict, lang: str, queries, tz) -> html.Div:
    kind = t(f"action.{entry['kind']}", lang)
    text = t("intake.request_line", lang, by=entry.get("by") or "?",
             department=queries.department_name(entry.get("department"), lang), kind=kind, reason=entry.get("reason", ""))
    until = t("intake.request_until", lang, until=fmt_time(entry["until"], tz)) if entry.get("until") else ""
    return html.Div([html.Span(entry["case_id"], className="case-id"), " ", text, " ", until], className="request-line")


def register(app, services) -> None:
    register_layer(app, services, Ids.MAP.value, "intake", ROLES)   # issue 16: the components layer …
    register_pick(app, services, "intake", ROLES, Ids.PICKED.value, Ids.POSITION.value, Ids.PICKED_LAYER.value)  # … picked
    queries = services.cases
    commands = services.commands
    tz = services.scenario.calendar.tz
    buttons = list(BUTTONS)
    register_view(app, "intake", Ids.VIEW.value, Ids.REFRESH.value)

    @app.callback(Output(Ids.QUEUES.value, "children"), Output(Ids.CASES_LAYER.value, "data"),
                  Output(Ids.SIGNATURE.value, "data"),
                  Input(Ids.TICK.value, "n_intervals"), Input(Ids.REFRESH.value, "data"),
                  Input(Ids.SELECTED.value, "data"), State(Ids.LANG.value, "data"), State(Ids.SIGNATURE.value, "data"),
                  State(Ids.VIEW.value, "data"))
    def refresh(_tick, _refresh, selected, lang, signature, view):
        """The supervision centre's work queues (to file, verify, close, resume; requests): each
        box counts every case of its stage in the database and shows one page of them."""
        require(ROLES)
        scope = user_scope()
        filters, sort, pages = view_of(view)
        answers = {stage: services.queues.page((stage,), scope=scope, filters=filters, sort=sort,
                                               page=pages.get(stage, 1), per_page=PER_BOX)
                   for stage in QUEUE_STAGES}
        points = services.queues.points(QUEUE_STAGES, scope=scope, filters=filters)
        requests = [r for r in commands.requests() if queries.in_scope(r["case_id"], scope)]
        rows = [r for answer in answers.values() for r in answer["rows"]]
        digest = queue_signature(rows, [(s, a["total"], a["page"]) for s, a in answers.items()],
                                 [(r["case_id"], r["at"]) for r in requests], [(p["case_id"], p["light"]) for p in points],
                                 selected, lang)
        if digest == signature:
            raise PreventUpdate
        boxes = []
        for stage, title in QUEUES:
            if stage == "requests":
                items = [html.Div(request_line(r, lang, queries, tz), id={"type": Ids.ROW.value, "case": r["case_id"]},
                                  n_clicks=0, className="queue-row", **{"data-case": r["case_id"]}) for r in requests]
                total, more = len(requests), None
            else:
                answer = answers[stage]
                items = [queue_row(r, lang, queries, Ids.ROW.value, selected) for r in answer["rows"]]
                total, more = answer["total"], pager("intake", stage, answer, lang)
            boxes.append(html.Div([
                html.Div([html.H3(t(title, lang)), html.Span(str(total), className="count")], className="section-head"),
                html.Div(items or [html.P(t("intake.empty", lang), className="muted small")], className="work-queue-rows"),
                more,
            ], className="work-queue", id=f"intake-queue-{stage}"))
        return boxes, features(points, "work", queries, lang), digest

    @app.callback(Output(Ids.SELECTED.value, "data", allow_duplicate=True),
                  Output(Ids.ACTION_MESSAGE.value, "children", allow_duplicate=True),
                  Input(Ids.CASES_LAYER.value, "clickData"), Input({"type": Ids.ROW.value, "case": ALL}, "n_clicks"),
                  prevent_initial_call=True)
    def select(click, _rows):
        require(ROLES)
        return picked_case(click), None

    @app.callback(Output(Ids.PICKED.value, "data"), Output(Ids.POSITION.value, "children"),
                  Output(Ids.PICKED_LAYER.value, "data"),
                  Input(Ids.MAP.value, "clickData"), prevent_initial_call=True)
    def pick(click):
        """A click on the map picks the position of the report being registered."""
        require(ROLES)
        latlng = (click or {}).get("latlng") or {}
        lat, lon = latlng.get("lat"), latlng.get("lng")
        if lat is None or lon is None:
            raise PreventUpdate
        place = services.system.locator.locate(lon, lat)
        where = " · ".join([queries.street_name(place[2]), queries.community_name(place[1]), place[0]]) if place else ""
        point = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": {}}]}
        return {"lon": lon, "lat": lat}, f"{lon:.6f}, {lat:.6f}  {where}", point

    @app.callback(Output(Ids.REGISTER_MESSAGE.value, "children"),
                  Output(Ids.SELECTED.value, "data", allow_duplicate=True),
                  Output(Ids.DESCRIPTION.value, "value"),
                  Output(Ids.REFRESH.value, "data", allow_duplicate=True),
                  Input(Ids.REGISTER.value, "n_clicks"),
                  State(Ids.CATEGORY.value, "value"), State(Ids.PICKED.value, "data"),
                  State(Ids.DESCRIPTION.value, "value"), State(Ids.SOURCE.value, "value"),
                  State(Ids.URGENCY.value, "value"), State(Ids.LANG.value, "data"),
                  running=[(Output(Ids.REGISTER.value, "disabled"), True, False)], prevent_initial_call=True)
    def register_report(n_clicks, category, picked, description, source, urgency, lang):
        """Register a report taken by phone (上报); the new case opens in the panel."""
        if not n_clicks:
            raise PreventUpdate
        if not allowed(ROLES):
            return message(t("page.forbidden", lang), False), no_update, no_update, no_update
        picked = picked or {}
        try:
            done = commands.report(actor(), category, picked.get("lon"), picked.get("lat"), description or "",
                                   source or "phone", urgency or "normal", component=picked.get("component"))
        except CommandRefused as exc:
            return message(exc.message(lang), False), no_update, no_update, no_update
        return message(t("intake.registered", lang, case=done.case_id), True), done.case_id, "", time.time()

    @app.callback(Output(Ids.PANEL_BODY.value, "children"), Output(Ids.PANEL_TIMELINE.value, "children"),
                  Output(Ids.REQUEST.value, "children"), Output(Ids.ACTIONS.value, "className"),
                  Output(Ids.UNTIL_BOX.value, "className"), Output(Ids.REASON.value, "value"),
                  Output(Ids.UNTIL.value, "value"), Output(Ids.SHOWN.value, "data"),
                  *[Output(b.value, "className") for b in buttons],
                  Input(Ids.SELECTED.value, "data"), Input(Ids.REFRESH.value, "data"), Input(Ids.TICK.value, "n_intervals"),
                  State(Ids.SHOWN.value, "data"), State(Ids.LANG.value, "data"))
    def show(case_id, _refresh, _tick, shown, lang):
        """The case panel with the actions its stage allows."""
        require(ROLES)
        case = case_for_panel(queries, case_id, shown, lang, Ids.TICK.value)
        hidden = [f"{css} hidden" for _, (_, _, _, css) in BUTTONS.items()]
        if case is None:
            return (message(t("case.not_found", lang), False), None, None, "actions hidden", "form-label hidden",
                    "", None, None, *hidden)
        stage = case["command"]["stage"] or case.get("stage")
        pending = next((r for r in commands.requests() if r["case_id"] == case_id), None)
        actions = set(offered_actions(stage, current_role()))
        if pending:
            actions.add("decline")
        offered = [button for button, (action, *_rest) in BUTTONS.items() if action in actions]
        classes = [css if b in offered else f"{css} hidden" for b, (_, _, _, css) in BUTTONS.items()]
        until_box = "form-label" if any(b in offered for b in NEEDS_UNTIL) else "form-label hidden"
        reason = pending["reason"] if pending else ""
        until = input_value(parse_local(pending["until"], tz), tz) if pending and pending.get("until") else None
        return (case_details(case, lang, queries, tz), timeline(case, lang, queries, tz),
                request_line(pending, lang, queries, tz) if pending else None,
                "actions" if offered else "actions hidden", until_box, reason, until, shown_state(case), *classes)

    @app.callback(Output(Ids.ACTION_MESSAGE.value, "children", allow_duplicate=True),
                  Output(Ids.REFRESH.value, "data", allow_duplicate=True),
                  *[Input(b.value, "n_clicks") for b in buttons],
                  State(Ids.SELECTED.value, "data"), State(Ids.SHOWN.value, "data"), State(Ids.REASON.value, "value"),
                  State(Ids.UNTIL.value, "value"), State(Ids.LANG.value, "data"),
                  running=[(Output(b.value, "disabled"), True, False) for b in buttons], prevent_initial_call=True)
    def act(*args):
        """Run the clicked action on the case in the panel."""
        case_id, shown, reason, until, lang = args[len(buttons):]
        chosen, refusal = clicked_action(BUTTONS, case_id, ROLES, lang)
        if refusal:
            return refusal, no_update
        action, params = chosen
        if action in ("reject", "verify", "suspend", "decline", "extend"):
            params["reason"] = reason or ""
        elif action in ("file", "close", "resume"):
            params["note"] = reason or ""
        if action == "extend":
            when = parse_local(until, tz)
            params["until"] = when.isoformat() if when else None
        if action != "decline":
            params["version"] = (shown or {}).get("version")
        return run_action(commands, action, case_id, params, lang)
