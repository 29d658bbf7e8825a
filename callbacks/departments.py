"""Callbacks of ``/departments``: the period choice → the URL; the URL's period → one call of
:meth:`DepartmentEvaluation.overview` → the two tables, the totals line and the score chart."""
from __future__ import annotations

from urllib.parse import urlencode

from dash import Input, Output, State
from dash.exceptions import PreventUpdate

from callbacks.common import require, user_scope
from callbacks.report_common import CHART_LAYOUT, GRADE_COLOURS, grid_rows, pct, period_of, register_period_choice
from dashboard.i18n import t
from layouts.departments import ROLES, Ids


def _order(row: dict):
    """Worst first: graded departments by score, then the ungraded by name."""
    return (row["score"] is None, row["score"] if row["score"] is not None else 0, row["code"])


def register(app, services) -> None:
    evaluation = services.evaluation
    tz = evaluation.tz

    register_period_choice(app, Ids, ROLES, evaluation.today)

    @app.callback(Output(Ids.PROFESSIONAL.value, "rowData"), Output(Ids.STREETS.value, "rowData"),
                  Output(Ids.TOTALS.value, "children"), Output(Ids.SCORES.value, "figure"),
                  Input(Ids.PERIOD.value, "data"), State(Ids.LANG.value, "data"))
    def show(store, lang):
        """Every department over the period (one service call; the exports make the same one)."""
        require(ROLES)
        period = period_of(store)
        if period is None:
            raise PreventUpdate
        overview = evaluation.overview(period, scope=user_scope())
        query = urlencode({**period.query(), "lang": lang})
        rows = sorted(overview["departments"], key=_order)
        shown = grid_rows("departments", rows, lang, tz, keep=("series", "kind"))
        for row, source in zip(shown, rows):
            row["href"] = f"/departments/{source['code']}?{query}"
            row["kind_code"] = source["kind"]
        professional = [r for r in shown if r["kind_code"] != "street"]
        streets = [r for r in shown if r["kind_code"] == "street"]
        return professional, streets, _totals(rows, lang), _scores(rows, lang)


def _totals(rows: list[dict], lang: str) -> str:
    due = sum(r["due"] for r in rows)
    handled = sum(r["handled"] for r in rows)
    on_time = sum(r["handled_on_time"] for r in rows)
    closed = sum(r["closed"] for r in rows)
    return t("eval.totals", lang, due=f"{due:,}", handled=f"{handled:,}",
             on_time=pct(on_time / handled if handled else None), closure=pct(closed / due if due else None),
             overdue=f"{sum(r['overdue_now'] for r in rows):,}")


def _scores(rows: list[dict], lang: str) -> dict:
    graded = [r for r in rows if r["score"] is not None]
    names = [r["name_en"] if lang == "en" else r["name"] for r in graded]
    return {"data": [{"type": "bar", "x": names, "y": [r["score"] for r in graded],
                      "marker": {"color": [GRADE_COLOURS[r["grade"]] for r in graded]},
                      "text": [r["grade"] for r in graded], "textposition": "outside",
                      "hovertemplate": "%{x}<br>%{y:.1f} (%{text})<extra></extra>"}],
            "layout": {**CHART_LAYOUT, "yaxis": {**CHART_LAYOUT["yaxis"], "range": [0, 112]},
                       "xaxis": {**CHART_LAYOUT["xaxis"], "tickangle": -35}}}
