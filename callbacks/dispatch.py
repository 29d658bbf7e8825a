"""Callbacks of the dispatch console: refresh the map and queue, open a case, dispatch one
case or a drawn selection.  Each reads inputs → calls CaseQueries / CommandService →
formats; every one checks the role on the server first (hiding a button is not security)."""
from __future__ import annotations

import time

from dash import ALL, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.common import (actor, allowed, case_for_panel, features, input_value, message, parse_local, picked_case,
                              queue_signature, require, shown_state, user_scope)
from dashboard.i18n import t
from datasource.services.cases import IN_PROGRESS
from datasource.services.command_types import CommandRefused
from callbacks.components_map import register_layer
from layouts.components_map import advice_notes
from layouts.common import case_details, fmt_rate, queue_row, timeline
from layouts.dispatch import ROLES, Ids


def department_options(recommendation: dict, lang: str) -> list[dict]:
    options = []
    for c in recommendation["candidates"]:
        why = c.get("why_en" if lang == "en" else "why_zh") if c.get("reasons") else None   # issue 16: say why
        options.append({"value": c["code"], "label": html.Span([
            html.Span(c["name_en"] if lang == "en" else c["name_zh"], className="dept-name"),
            html.Span(why, className="tag tag-recommended") if why else None,
            html.Span(t("dispatch.load", lang, n=c["load"]), className="dept-stat"),
            html.Span(fmt_rate(c["on_time_rate"], lang), className="dept-stat"),
        ], className="dept-label", **{"data-department": c["code"]})})
    return options


def describe_limit(limit, lang: str) -> str:
    return t(f"unit.{limit.unit}", lang, n=f"{limit.amount:g}") if limit else "—"


def register(app, services) -> None:
    register_layer(app, services, Ids.MAP.value, "dispatch", ROLES)   # issue 16: the components layer
    queries = services.cases
    commands = services.commands
    tz = services.scenario.calendar.tz

    @app.callback(Output(Ids.FILED_LAYER.value, "data"), Output(Ids.ACTIVE_LAYER.value, "data"),
                  Output(Ids.FILED_LAYER.value, "hideout"),
                  Output(Ids.QUEUE.value, "children"), Output(Ids.QUEUE_COUNT.value, "children"),
                  Output(Ids.ACTIVE_COUNT.value, "children"), Output(Ids.SIGNATURE.value, "data"),
                  Input(Ids.TICK.value, "n_intervals"), Input(Ids.REFRESH.value, "data"),
                  Input(Ids.SELECTED.value, "data"), State(Ids.LANG.value, "data"), State(Ids.SIGNATURE.value, "data"))
    def refresh(_tick, _refresh, selected, lang, signature):
        """Waiting and in-progress cases on the map and in the queue (only when they changed)."""
        require(ROLES)
        filed = queries.queue(("filed",), limit=500, scope=user_scope())
        active = queries.map_points(IN_PROGRESS, limit=1500, scope=user_scope())
        digest = queue_signature(filed, [(r["case_id"], r["light"]) for r in active], selected, lang)
        if digest == signature:
            raise PreventUpdate
        rows = [queue_row(r, lang, queries, Ids.QUEUE_ROW.value, selected) for r in filed] or \
            [html.P(t("dispatch.queue_empty", lang), className="muted empty")]
        counts = queries.stage_counts(user_scope())
        return (features(filed, "filed", queries, lang), features(active, "active", queries, lang),
                {"selected": selected}, rows, str(len(filed)), str(sum(counts[s] for s in IN_PROGRESS)), digest)

    @app.callback(Output(Ids.SELECTED.value, "data", allow_duplicate=True),
                  Output(Ids.MESSAGE.value, "children", allow_duplicate=True),
                  Input(Ids.FILED_LAYER.value, "clickData"), Input(Ids.ACTIVE_LAYER.value, "clickData"),
                  Input({"type": Ids.QUEUE_ROW.value, "case": ALL}, "n_clicks"), prevent_initial_call=True)
    def select(filed_click, active_click, _rows):
        """A marker or a queue row was clicked: that case goes into the panel."""
        require(ROLES)
        return picked_case(filed_click if ctx.triggered_id == Ids.FILED_LAYER.value else active_click), None

    @app.callback(Output(Ids.PANEL_BODY.value, "children"), Output(Ids.PANEL.value, "children"),
                  Output(Ids.FORM.value, "className"), Output(Ids.DEPARTMENT.value, "options"),
                  Output(Ids.DEPARTMENT.value, "value"), Output(Ids.DEADLINE.value, "value"),
                  Output(Ids.DEADLINE_HINT.value, "children"), Output(Ids.NOTE.value, "value"),
                  Output(Ids.VERSION.value, "data"), Output(Ids.DEFAULT_DEADLINE.value, "data"),
                  Input(Ids.SELECTED.value, "data"), Input(Ids.REFRESH.value, "data"), Input(Ids.TICK.value, "n_intervals"),
                  State(Ids.VERSION.value, "data"), State(Ids.LANG.value, "data"))
    def show(case_id, _refresh, _tick, shown, lang):
        """The case panel: details, timeline, recommended department and deadline."""
        require(ROLES)
        case = case_for_panel(queries, case_id, shown, lang, Ids.TICK.value)
        if case is None:
            return (html.P(t("case.not_found", lang), className="msg-error"), None, "dispatch-form hidden",
                    [], None, None, None, "", None, None)
        details = case_details(case, lang, queries, tz)
        history = timeline(case, lang, queries, tz)
        version = shown_state(case)
        stage = case["command"]["stage"] or case.get("stage")
        if stage != "filed" or not case.get("projected"):
            return details, history, "dispatch-form hidden", [], None, None, None, "", version, None
        advice = services.recommendation.recommend(case, scope=user_scope())
        deadline = input_value(advice["deadline"], tz)
        limit = services.scenario.limits.limit("dispatched", case["category_code"], case["urgency"])
        hint = [t("dispatch.deadline_hint", lang, limit=describe_limit(limit, lang)), *advice_notes(advice, lang)]
        return (details, history, "dispatch-form", department_options(advice, lang), advice["department"], deadline,
                hint, "", version, deadline)

    @app.callback(Output(Ids.MESSAGE.value, "children", allow_duplicate=True),
                  Output(Ids.REFRESH.value, "data", allow_duplicate=True),
                  Input(Ids.SUBMIT.value, "n_clicks"),
                  State(Ids.SELECTED.value, "data"), State(Ids.DEPARTMENT.value, "value"),
                  State(Ids.DEADLINE.value, "value"), State(Ids.DEFAULT_DEADLINE.value, "data"),
                  State(Ids.NOTE.value, "value"), State(Ids.VERSION.value, "data"), State(Ids.LANG.value, "data"),
                  running=[(Output(Ids.SUBMIT.value, "disabled"), True, False)], prevent_initial_call=True)
    def dispatch(n_clicks, case_id, department, deadline, default_deadline, note, shown, lang):
        """Dispatch the case in the panel; the expected version makes a second click a conflict."""
        if not n_clicks or not case_id:
            raise PreventUpdate
        version = (shown or {}).get("version")
        if not allowed(ROLES):
            return message(t("page.forbidden", lang), False), no_update
        explicit = None if deadline == default_deadline else parse_local(deadline, tz)
        try:
            done = commands.dispatch(actor(), case_id, department, explicit, note or "", expect_version=version)
        except CommandRefused as exc:
            return message(exc.message(lang), False), time.time()
        text = t("dispatch.done", lang, case=done.case_id, department=queries.department_name(done.department, lang))
        return message(text, True), time.time()

    @app.callback(Output(Ids.SELECTION.value, "data"), Output(Ids.BATCH_LIST.value, "children"),
                  Output(Ids.BATCH_SUBMIT.value, "children"), Output(Ids.BATCH.value, "className"),
                  Input(Ids.DRAW.value, "geojson"), Input(Ids.REFRESH.value, "data"), State(Ids.LANG.value, "data"),
                  prevent_initial_call=True)
    def draw(geojson, _refresh, lang):
        """Cases waiting for dispatch inside the drawn rectangles/polygons."""
        require(ROLES)
        rows = queries.queue(("filed",), limit=500, scope=user_scope())
        chosen = services.maps.select_inside((geojson or {}).get("features") or [], rows)
        by_id = {r["case_id"]: r for r in rows}
        items = [html.Li([html.Span(c, className="case-id"), " ",
                          html.Span(queries.category_name(by_id[c]["category_code"], lang), className="muted")])
                 for c in chosen]
        listing = [html.Div(t("dispatch.selected", lang, n=len(chosen)), className="small"),
                   html.Ul(items, className="batch-items")] if chosen else None
        return chosen, listing, t("dispatch.batch_submit", lang, n=len(chosen)), \
            "batch active" if chosen else "batch"

    @app.callback(Output(Ids.BATCH_RESULT.value, "children"), Output(Ids.REFRESH.value, "data", allow_duplicate=True),
                  Output(Ids.DRAW.value, "editToolbar"),
                  Input(Ids.BATCH_SUBMIT.value, "n_clicks"), State(Ids.SELECTION.value, "data"),
                  State(Ids.BATCH_DEPARTMENT.value, "value"), State(Ids.LANG.value, "data"),
                  running=[(Output(Ids.BATCH_SUBMIT.value, "disabled"), True, False)], prevent_initial_call=True)
    def dispatch_selection(n_clicks, chosen, department, lang):
        """Dispatch every selected case, each to its recommended department unless one is chosen."""
        if not n_clicks or not chosen:
            raise PreventUpdate
        if not allowed(ROLES):
            return message(t("page.forbidden", lang), False), no_update, no_update
        who, lines, ok = actor(), [], 0
        for case_id in chosen:
            state = queries.command_state(case_id)
            row = queries.row(case_id)
            target = department or (services.recommendation.recommend(row, scope=user_scope())["department"]
                                    if row else None)
            try:
                commands.dispatch(who, case_id, target, None, "", expect_version=int(state.get("version") or 0) or None)
                ok += 1
                lines.append(html.Li(f"{case_id} → {queries.department_name(target, lang)}", className="msg-ok"))
            except CommandRefused as exc:
                lines.append(html.Li(exc.message(lang), className="msg-error"))
        summary = html.Div(t("dispatch.batch_result", lang, ok=ok, failed=len(chosen) - ok), className="small")
        clear = {"mode": "remove", "action": "clear all", "n_clicks": n_clicks}
        return [summary, html.Ul(lines, className="batch-items")], time.time(), clear

    @app.callback(Output(Ids.DRAW.value, "editToolbar", allow_duplicate=True),
                  Output(Ids.BATCH_RESULT.value, "children", allow_duplicate=True),
                  Input(Ids.BATCH_CLEAR.value, "n_clicks"), prevent_initial_call=True)
    def clear_selection(n_clicks):
        require(ROLES)
        return {"mode": "remove", "action": "clear all", "n_clicks": 1000 + (n_clicks or 0)}, None
