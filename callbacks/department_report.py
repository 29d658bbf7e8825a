"""Callbacks of ``/departments/<code>``: the period choice → the URL; the URL's period → one
call of :meth:`DepartmentEvaluation.department` → figures, charts and tables; a click on a
case → the case and its timeline (the work pages' own panel)."""
from __future__ import annotations

from dash import Input, Output, State, ctx
from dash.exceptions import PreventUpdate

from callbacks.common import may_read, message, require, user_scope
from callbacks.report_common import (CHART_LAYOUT, GRADE_COLOURS, grid_rows, num, pct, period_of,
                                     register_period_choice)
from dashboard.domain.evaluation import TARGETS
from dashboard.i18n import t
from layouts.common import case_details, timeline
from layouts.department_report import GRIDS, ROLES, Ids
from layouts.report_common import figure_card, target_text

TOP = 12  # bars in the category and street charts


def register(app, services) -> None:
    evaluation = services.evaluation
    queries = services.cases
    tz = evaluation.tz

    register_period_choice(app, Ids, ROLES, evaluation.today)

    @app.callback(Output(Ids.CARDS.value, "children"), Output(Ids.TREND.value, "figure"),
                  Output(Ids.CATEGORY_CHART.value, "figure"), Output(Ids.STREET_CHART.value, "figure"),
                  *[Output(grid.value, "rowData") for grid in GRIDS.values()],
                  Input(Ids.PERIOD.value, "data"), State(Ids.CODE.value, "data"), State(Ids.LANG.value, "data"))
    def show(store, code, lang):
        """The department over the period (one service call; the exports make the same one)."""
        require(ROLES)
        period = period_of(store)
        if period is None or not code:
            raise PreventUpdate
        report = evaluation.department(code, period, scope=user_scope())
        people = services.cases.people
        tables = []
        for table in GRIDS:
            rows = report[table]
            if table == "events":
                rows = [{**r, "row_key": f"{r['case_id']}|{i}", "actor": people.name(r.get("actor"), lang)}
                        for i, r in enumerate(rows)]   # names, not inspector ids or department codes
            if table == "open":
                rows = [{**r, "light_code": r["light"]} for r in rows]
            tables.append(grid_rows(table, rows, lang, tz, keep=("row_key", "light_code")))
        return (_cards(report["summary"], lang), _trend(report["trend"], lang),
                _bars(report["categories"], lang), _bars(report["streets"], lang), *tables)

    @app.callback(Output(Ids.CASE.value, "children"), Output(Ids.CASE_TIMELINE.value, "children"),
                  Input(Ids.OPEN.value, "cellClicked"), Input(Ids.OVERDUE.value, "cellClicked"),
                  Input(Ids.EVENTS.value, "cellClicked"), State(Ids.LANG.value, "data"), prevent_initial_call=True)
    def show_case(open_click, overdue_click, event_click, lang):
        """A click anywhere in a case's row shows the case and its timeline."""
        require(ROLES)
        click = {Ids.OPEN.value: open_click, Ids.OVERDUE.value: overdue_click,
                 Ids.EVENTS.value: event_click}.get(ctx.triggered_id) or {}
        case_id = str(click.get("rowId") or "").split("|")[0]
        if not case_id:
            raise PreventUpdate
        case = queries.case(case_id, lang) if may_read(queries, case_id) else None
        if case is None:
            return message(t("case.not_found", lang), False), None
        return case_details(case, lang, queries, tz), timeline(case, lang, queries, tz)


def _cards(s: dict, lang: str) -> list:
    def ratio_tone(name):
        ratio = s.get(f"{name}_ratio")
        return "" if ratio is None else "ok" if ratio >= 1 else "warn" if ratio >= 0.9 else "bad"

    def rate_note(name):
        ratio = s.get(f"{name}_ratio")
        return f"{target_text(name, lang)} · ×{ratio:.2f}" if ratio is not None else target_text(name, lang)

    score = "—" if s["score"] is None else f"{s['score']:.1f} {s['grade']}"
    parts = (t("eval.not_graded", lang) if s["score"] is None else
             f"{s['closure_points']:.1f} + {s['on_time_points']:.1f} + {s['rework_points']:.1f} + {s['volume_points']:g}")
    return [
        figure_card(t("eval.col.score", lang), score, parts, f"grade-{s['grade']}", "dept-report-score"),
        figure_card(t("eval.col.due", lang), f"{s['due']:,}",
                    f"{t('eval.col.handled', lang)} {s['handled']:,} · {t('eval.col.closed', lang)} {s['closed']:,}",
                    card_id="dept-report-due"),
        *[figure_card(t(f"eval.col.{name}", lang), pct(s[name]), rate_note(name), ratio_tone(name))
          for name in TARGETS],
        figure_card(t("eval.col.overdue_now", lang), f"{s['overdue_now']:,}",
                    f"{t('eval.col.backlog', lang)} {s['backlog']:,} · {t('eval.col.backlog_age_days', lang)} "
                    f"{num(s['backlog_age_days'])}", "bad" if s["overdue_now"] else ""),
        figure_card(t("eval.col.handling_median_h", lang), num(s["handling_median_h"]),
                    f"P90 {num(s['handling_p90_h'])} · {t('eval.unit.work_hours', lang).strip(' ()（）')}"),
        figure_card(t("eval.col.returns", lang), f"{s['returns']:,}",
                    f"{t('eval.col.reworks', lang)} {s['reworks']:,} · {t('eval.col.extensions', lang)} "
                    f"{s['extensions']:,}"),
    ]


def _trend(rows: list[dict], lang: str) -> dict:
    days = [r["day"].isoformat() for r in rows]
    on_time = [None if r["on_time_rate"] is None else round(100 * r["on_time_rate"], 1) for r in rows]
    return {"data": [
        {"type": "bar", "x": days, "y": [r["due"] for r in rows], "name": t("eval.chart.due", lang),
         "marker": {"color": "#3ea6ff"}},
        {"type": "scatter", "mode": "lines+markers", "x": days, "y": on_time, "yaxis": "y2",
         "name": t("eval.chart.on_time", lang), "line": {"color": "#2ecc71"}, "connectgaps": False},
        {"type": "scatter", "mode": "lines", "x": days, "y": [100 * TARGETS["on_time_rate"]] * len(days), "yaxis": "y2",
         "name": t("eval.chart.target", lang), "line": {"color": "#f1c40f", "dash": "dot"}},
    ], "layout": {**CHART_LAYOUT, "xaxis": {**CHART_LAYOUT["xaxis"], "tickformat": "%m-%d"},  # not "Nov 17"
                  "yaxis": {**CHART_LAYOUT["yaxis"], "title": t("eval.chart.due", lang)},
                  "yaxis2": {"overlaying": "y", "side": "right", "range": [0, 105], "showgrid": False,
                             "tickmode": "linear", "dtick": 20, "ticksuffix": "%",
                             "title": t("eval.chart.on_time", lang)}}}


def _bars(rows: list[dict], lang: str) -> dict:
    top = rows[:TOP][::-1]
    names = [r["name_en"] if lang == "en" else r["name"] for r in top]
    colours = [GRADE_COLOURS["E"] if (r["on_time_rate"] or 1) < 0.8 else GRADE_COLOURS["C"]
               if (r["on_time_rate"] or 1) < 0.9 else GRADE_COLOURS["A"] for r in top]
    return {"data": [{"type": "bar", "orientation": "h", "y": names, "x": [r["due"] for r in top],
                      "marker": {"color": colours},
                      "customdata": [pct(r["on_time_rate"]) for r in top],
                      "hovertemplate": "%{y}: %{x} · " + t("eval.chart.on_time", lang) + " %{customdata}<extra></extra>"}],
            "layout": {**CHART_LAYOUT, "margin": {"l": 150, "r": 16, "t": 8, "b": 32}}}

