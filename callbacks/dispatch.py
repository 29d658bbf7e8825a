"""Callbacks of the dispatch console: refresh the map and queue, open a case, dispatch one
case or a drawn selection.  Each reads inputs → calls CaseQueries / CommandService →
formats; every one checks the role on the server first (hiding a button is not security)."""
from __future__ import annotations

import time

from dash import ALL, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.common import (actor, allowed, case_for_panel, features, input_value, message, parse_local, picked_case,
                              queue_signature, register_view, require, shown_state, user_scope, view_of)
from dashboard.i18n import t
from datasource.services.cases import IN_PROGRESS
from datasource.services.command_types import CommandRefused
from callbacks.components_map import register_layer
from layouts.components_map import advice_notes
from layouts.common import case_details, fmt_rate, pager, queue_row, timeline
from layouts.dispatch import FILED_PANE, ROLES, Ids, department_choice

PER_PAGE = 50       # rows of the waiting queue per page
FILED = ("filed",)


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

    register_view(app, "dispatch", Ids.VIEW.value, Ids.REFRESH.value)

    def waiting_points(view):
        """Every waiting case of the view as map points, minus those acted on a moment ago."""
        filters, _sort, _pages = view_of(view)
        return queries.overlay(services.queues.points(FILED, scope=user_scope(), filters=filters), FILED)

    @app.callback(Output(Ids.FILED_LAYER.value, "data"), Output(Ids.ACTIVE_LAYER.value, "data"),
                  Output(Ids.FILED_LAYER.value, "hideout"),
                  Output(Ids.QUEUE.value, "children"), Output(Ids.QUEUE_COUNT.value, "children"),
                  Output(Ids.ACTIVE_COUNT.value, "children"), Output(Ids.SIGNATURE.value, "data"),
                  Input(Ids.TICK.value, "n_intervals"), Input(Ids.REFRESH.value, "data"),
                  Input(Ids.SELECTED.value, "data"), State(Ids.LANG.value, "data"), State(Ids.SIGNATURE.value, "data"),
                  State(Ids.VIEW.value, "data"), State(Ids.SELECTION.value, "data"))
    def refresh(_tick, _refresh, selected, lang, signature, view, chosen):
        """Waiting and in-progress cases on the map, one page of the waiting queue with its true
        total (only when something changed)."""
        require(ROLES)
        filters, sort, pages = view_of(view)
        answer = services.queues.page(FILED, scope=user_scope(), filters=filters, sort=sort,
                                      page=pages.get("queue", 1), per_page=PER_PAGE)
        filed = waiting_points(view)
        active = queries.map_points(IN_PROGRESS, limit=1500, scope=user_scope())
        digest = queue_signature(answer["rows"], answer["total"], answer["page"],
                                 [(r["case_id"], r["light"]) for r in filed + active], selected, chosen, lang)
        if digest == signature:
            raise PreventUpdate
        rows = [queue_row(r, lang, queries, Ids.QUEUE_ROW.value, selected) for r in answer["rows"]] or \
            [html.P(t("dispatch.queue_empty", lang), className="muted empty")]
        counts = queries.stage_counts(user_scope())
        hideout = {"selected": selected, "chosen": chosen or [], "pane": FILED_PANE}
        return (features(filed, "filed", queries, lang), features(active, "active", queries, lang), hideout,
                [*rows, pager("dispatch", "queue", answer, lang)], str(answer["total"]),
                str(sum(counts[s] for s in IN_PROGRESS)), digest)

    @app.callback(Output(Ids.FILED_LAYER.value, "hideout", allow_duplicate=True),
                  Input(Ids.SELECTION.value, "data"), State(Ids.SELECTED.value, "data"), prevent_initial_call=True)
    def highlight(chosen, selected):
        """The box-selected cases stand out on the map (assets/dispatch.js draws them)."""
        require(ROLES)
        return {"selected": selected, "chosen": chosen or [], "pane": FILED_PANE}

    @app.callback(Output(Ids.SELECTED.value, "data", allow_duplicate=True),
                  Output(Ids.MESSAGE.value, "children", allow_duplicate=True),
                  Input(Ids.FILED_LAYER.value, "clickData"), Input(Ids.ACTIVE_LAYER.value, "clickData"),
                  Input({"type": Ids.QUEUE_ROW.value, "case": ALL}, "n_clicks"), prevent_initial_call=True)
    def select(filed_click, active_click, _rows):
        """A marker or a queue row was clicked: that case goes into the panel."""
        require(ROLES)
        return picked_case(filed_click if ctx.triggered_id == Ids.FILED_LAYER.value else active_click), None

    @app.callback(Output(Ids.PANEL_BODY.value, "children"), Output(Ids.PANEL.value, "children"),
                  Output(Ids.FORM.value, "className"), Output(Ids.DEPARTMENT_BOX.value, "children"),
                  Output(Ids.DEADLINE.value, "value"),
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
                    department_choice([], None), None, None, "", None, None)
        details = case_details(case, lang, queries, tz)
        history = timeline(case, lang, queries, tz)
        version = shown_state(case)
        stage = case["command"]["stage"] or case.get("stage")
        if stage != "filed" or not case.get("projected"):
            return details, history, "dispatch-form hidden", department_choice([], None), None, None, "", version, None
        advice = services.recommendation.recommend(case, scope=user_scope())
        deadline = input_value(advice["deadline"], tz)
        limit = services.scenario.limits.limit("dispatched", case["category_code"], case["urgency"])
        hint = [t("dispatch.deadline_hint", lang, limit=describe_limit(limit, lang)), *advice_notes(advice, lang)]
        return (details, history, "dispatch-form", department_choice(department_options(advice, lang),
                                                                     advice["department"]), deadline,
                hint, "", version, deadline)

    @app.callback(Output(Ids.MESSAGE.value, "children", allow_duplicate=True),
                  Output(Ids.REFRESH.value, "data", allow_duplicate=True),
                  Output(Ids.SELECTED.value, "data", allow_duplicate=True),
                  Input(Ids.SUBMIT.value, "n_clicks"), Input(Ids.SUBMIT_NEXT.value, "n_clicks"),
                  State(Ids.SELECTED.value, "data"), State(Ids.DEPARTMENT.value, "value"),
                  State(Ids.DEADLINE.value, "value"), State(Ids.DEFAULT_DEADLINE.value, "data"),
                  State(Ids.NOTE.value, "value"), State(Ids.VERSION.value, "data"), State(Ids.LANG.value, "data"),
                  State(Ids.VIEW.value, "data"),
                  running=[(Output(Ids.SUBMIT.value, "disabled"), True, False),
                           (Output(Ids.SUBMIT_NEXT.value, "disabled"), True, False)], prevent_initial_call=True)
    def dispatch(n_clicks, n_next, case_id, department, deadline, default_deadline, note, shown, lang, view):
        """Dispatch the case in the panel; the expected version makes a second click a conflict.
        "Dispatch and next" then opens the first case of the waiting queue as the user sorts it."""
        if not (n_clicks or n_next) or not case_id:
            raise PreventUpdate
        version = (shown or {}).get("version")
        if not allowed(ROLES):
            return message(t("page.forbidden", lang), False), no_update, no_update
        explicit = None if deadline == default_deadline else parse_local(deadline, tz)
        try:
            done = commands.dispatch(actor(), case_id, department, explicit, note or "", expect_version=version)
        except CommandRefused as exc:
            return message(exc.message(lang), False), time.time(), no_update
        text = t("dispatch.done", lang, case=done.case_id, department=queries.department_name(done.department, lang))
        if ctx.triggered_id != Ids.SUBMIT_NEXT.value:
            return message(text, True), time.time(), no_update
        filters, sort, _pages = view_of(view)
        waiting = services.queues.page(FILED, scope=user_scope(), filters=filters, sort=sort, per_page=3)["rows"]
        following = next((r["case_id"] for r in waiting if r["case_id"] != case_id), None)
        if following is None:
            return message(t("work.dispatch.next_none", lang), True), time.time(), no_update
        return message(text, True), time.time(), following

    def plan_of(chosen, department) -> dict[str, str | None]:
        """case → the department it goes to: the one chosen for all, else each its recommended."""
        plan = {}
        for case_id in chosen or []:
            row = queries.row(case_id)
            plan[case_id] = department or (services.recommendation.recommend(row, scope=user_scope())["department"] if row else None)
        return plan

    @app.callback(Output(Ids.SELECTION.value, "data"), Output(Ids.BATCH_LIST.value, "children"),
                  Output(Ids.BATCH_SUBMIT.value, "children"), Output(Ids.BATCH.value, "className"),
                  Input(Ids.DRAW.value, "geojson"), Input(Ids.REFRESH.value, "data"),
                  Input(Ids.BATCH_DEPARTMENT.value, "value"), State(Ids.LANG.value, "data"),
                  State(Ids.VIEW.value, "data"), prevent_initial_call=True)
    def draw(geojson, _refresh, department, lang, view):
        """Cases waiting for dispatch inside the drawn rectangles/polygons (of the filtered
        map), listed in the right panel with the department each would go to."""
        require(ROLES)
        rows = waiting_points(view)
        chosen = services.maps.select_inside((geojson or {}).get("features") or [], rows)
        by_id = {r["case_id"]: r for r in rows}
        plan = plan_of(chosen, department)
        items = [html.Li([html.Span(c, className="case-id"), " ",
                          html.Span(queries.category_name(by_id[c]["category_code"], lang), className="muted"), " → ",
                          html.Span(queries.department_name(plan[c], lang) if plan[c] else
                                    t("work.batch.no_department", lang), className="batch-department")],
                         **{"data-case": c})
                 for c in chosen]
        listing = [html.Div(t("dispatch.selected", lang, n=len(chosen)), className="small"),
                   html.Ul(items, className="batch-items")] if chosen else None
        return chosen, listing, t("dispatch.batch_submit", lang, n=len(chosen)), \
            "batch active" if chosen else "batch"

    @app.callback(Output(Ids.CONFIRM.value, "className"), Output(Ids.CONFIRM_TEXT.value, "children"),
                  Output(Ids.PLAN.value, "data"), Output(Ids.BATCH_RESULT.value, "children", allow_duplicate=True),
                  Input(Ids.BATCH_SUBMIT.value, "n_clicks"), State(Ids.SELECTION.value, "data"),
                  State(Ids.BATCH_DEPARTMENT.value, "value"), State(Ids.LANG.value, "data"), prevent_initial_call=True)
    def confirm_selection(n_clicks, chosen, department, lang):
        """Before a batch goes: a confirmation naming how many cases go to which departments."""
        if not n_clicks or not chosen:
            raise PreventUpdate
        if not allowed(ROLES):
            return "confirm hidden", None, None, message(t("page.forbidden", lang), False)
        plan = plan_of(chosen, department)
        per_department: dict = {}
        for target in plan.values():
            per_department[target] = per_department.get(target, 0) + 1
        parts = [t("work.batch.confirm_part", lang, n=n, department=queries.department_name(code, lang) if code
                   else t("work.batch.no_department", lang))
                 for code, n in sorted(per_department.items(), key=lambda item: (-item[1], item[0] or ""))]
        text = t("work.batch.confirm_text", lang, n=len(plan), departments=("、" if lang != "en" else ", ").join(parts))
        return "confirm", text, plan, None

    @app.callback(Output(Ids.CONFIRM.value, "className", allow_duplicate=True),
                  Output(Ids.BATCH_RESULT.value, "children", allow_duplicate=True),
                  Input(Ids.CONFIRM_CANCEL.value, "n_clicks"), State(Ids.LANG.value, "data"), prevent_initial_call=True)
    def cancel_selection(n_clicks, lang):
        if not n_clicks:
            raise PreventUpdate
        return "confirm hidden", message(t("work.batch.cancelled", lang), True)

    @app.callback(Output(Ids.BATCH_RESULT.value, "children"), Output(Ids.REFRESH.value, "data", allow_duplicate=True),
                  Output(Ids.DRAW.value, "editToolbar"), Output(Ids.CONFIRM.value, "className", allow_duplicate=True),
                  Input(Ids.CONFIRM_GO.value, "n_clicks"), State(Ids.PLAN.value, "data"), State(Ids.LANG.value, "data"),
                  running=[(Output(Ids.CONFIRM_GO.value, "disabled"), True, False)], prevent_initial_call=True)
    def dispatch_selection(n_clicks, plan, lang):
        """Dispatch the confirmed selection, each case to the department the confirmation named."""
        if not n_clicks or not plan:
            raise PreventUpdate
        if not allowed(ROLES):
            return message(t("page.forbidden", lang), False), no_update, no_update, "confirm hidden"
        who, lines, ok = actor(), [], 0
        for case_id, target in plan.items():
            state = queries.command_state(case_id)
            try:
                commands.dispatch(who, case_id, target, None, "", expect_version=int(state.get("version") or 0) or None)
                ok += 1
                lines.append(html.Li(f"{case_id} → {queries.department_name(target, lang)}", className="msg-ok"))
            except CommandRefused as exc:
                lines.append(html.Li(exc.message(lang), className="msg-error"))
        summary = html.Div(t("dispatch.batch_result", lang, ok=ok, failed=len(plan) - ok), className="small")
        clear = {"mode": "remove", "action": "clear all", "n_clicks": n_clicks}
        return [summary, html.Ul(lines, className="batch-items")], time.time(), clear, "confirm hidden"

    @app.callback(Output(Ids.DRAW.value, "editToolbar", allow_duplicate=True),
                  Output(Ids.BATCH_RESULT.value, "children", allow_duplicate=True),
                  Output(Ids.CONFIRM.value, "className", allow_duplicate=True),
                  Input(Ids.BATCH_CLEAR.value, "n_clicks"), prevent_initial_call=True)
    def clear_selection(n_clicks):
        require(ROLES)
        return {"mode": "remove", "action": "clear all", "n_clicks": 1000 + (n_clicks or 0)}, None, "confirm hidden"
