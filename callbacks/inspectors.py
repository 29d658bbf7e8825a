"""Callbacks of ``/inspectors``: the period's figures of inspectors (map, scatter, table),
dispatchers and shifts (table, chart); picking an inspector on the map or in the table."""
from __future__ import annotations

from urllib.parse import urlencode

import plotly.graph_objects as go
from dash import Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.common import message, require, user_scope
from callbacks.reporting import fmt_value, period_from, period_message, plot_layout
from dashboard.domain.performance import SHIFT_NAMES
from dashboard.i18n import t
from datasource.services.region_shapes import RegionShapes
from dashboard.domain.evaluation import PeriodError
from datasource.services.staff import StaffReport
from datasource.tools.map_layers import grid_codes
from layouts.inspectors import EXPORTS, MISSED_CLASSES, ROLES, Ids
from layouts.reporting import display_rows

GRADE_COLOURS = {"A": "#2ecc71", "B": "#3ea6ff", "C": "#f1c40f", "D": "#f07f3c", "E": "#e0404a", None: "#8da2c0"}
SHIFT_COLOURS = {"day": "#3ea6ff", "evening": "#f1c40f", "night": "#a78bfa"}


def missed_class(rate) -> int:
    if rate is None:
        return -1
    return max(i for i, (low, _) in enumerate(MISSED_CLASSES) if rate >= low)


def register(app, services) -> None:
    staff = StaffReport(services.system)
    shapes = RegionShapes(services.system)
    scenario = services.scenario
    tz = scenario.calendar.tz
    codes = grid_codes(scenario)
    community_names = {f["properties"]["code"]: f["properties"]["name"]
                       for f in scenario.communities_geojson["features"]}
    roster = {i["id"]: i for i in scenario.inspectors}
    order = [i["id"] for i in scenario.inspectors]
    index_of = {ident: k for k, ident in enumerate(order)}
    inspector_of_grid = {grid: i["id"] for i in scenario.inspectors for grid in i["grids"]}

    @app.callback(Output(Ids.GRIDS.value, "hideout"), Output(Ids.SCATTER.value, "figure"),
                  Output(Ids.INSPECTORS.value, "rowData"), Output(Ids.UNROSTERED.value, "children"),
                  Output(Ids.DISPATCHERS.value, "rowData"), Output(Ids.SHIFTS.value, "rowData"),
                  Output(Ids.SHIFT_CHART.value, "figure"),
                  *[Output(element.value, "href") for csv_id, xlsx_id, _ in EXPORTS.values() for element in (csv_id, xlsx_id)],
                  Output(Ids.MESSAGE.value, "children"),
                  Input(Ids.PERIOD.value, "start_date"), Input(Ids.PERIOD.value, "end_date"),
                  State(Ids.SELECTED.value, "data"), State(Ids.LANG.value, "data"))
    def show(first, last, selected, lang):
        """Every table, the map colouring and the charts of the period."""
        require(ROLES)
        try:
            period = period_from(first, last, tz)
        except PeriodError as exc:
            return (*[no_update] * 13, message(period_message(exc, lang), False))
        data = staff.report(period, user_scope())
        inspectors = data["inspectors"]
        rate_of = {row["id"]: row["missed_rate"] for row in inspectors}
        hideout = {
            "ramp": [c for _, c in MISSED_CLASSES],
            "g": [index_of.get(inspector_of_grid.get(code), -1) for code in codes],
            "c": [missed_class(rate_of.get(ident)) for ident in order],
            "n": [[f"{roster[ident].get('name', ident)} · {ident}",
                   f"{t('col.missed_rate', lang)} {fmt_value('missed_rate', rate_of.get(ident))}"] for ident in order],
            "none": t("people.no_rate", lang), "sel": index_of.get(selected)}
        query = {"from": period.first.isoformat(), "to": period.last.isoformat(), "lang": lang}
        hrefs = [f"{path}?{urlencode({**query, 'format': fmt})}" for _, _, path in EXPORTS.values()
                 for fmt in ("csv", "xlsx")]
        unrostered = t("people.unrostered", lang, n=data["unrostered"]) if data["unrostered"] else None
        return (hideout, scatter(inspectors, lang),
                display_rows("inspectors", inspectors, lang, scenario, community_names), unrostered,
                data["dispatchers"], display_rows("shifts", data["shifts"], lang, scenario),
                shift_chart(data["daily"], lang), *hrefs, None)

    @app.callback(Output(Ids.SELECTED.value, "data"),
                  Input(Ids.GRIDS.value, "clickData"), Input(Ids.INSPECTORS.value, "cellClicked"),
                  Input(Ids.SCATTER.value, "clickData"), prevent_initial_call=True)
    def pick(grid_click, cell, point):
        """An inspector picked by a grid on the map, a table row or a point of the scatter."""
        require(ROLES)
        trigger = ctx.triggered_id
        if trigger == Ids.GRIDS.value:
            index = ((grid_click or {}).get("properties") or {}).get("i")
            ident = inspector_of_grid.get(codes[index]) if isinstance(index, int) and 0 <= index < len(codes) else None
        elif trigger == Ids.INSPECTORS.value:
            ident = (cell or {}).get("rowId")
        else:
            ident = (((point or {}).get("points") or [{}])[0].get("customdata") or [None])[0]
        if ident not in roster:
            raise PreventUpdate
        return ident

    @app.callback(Output(Ids.GRIDS.value, "hideout", allow_duplicate=True), Input(Ids.SELECTED.value, "data"),
                  State(Ids.GRIDS.value, "hideout"), prevent_initial_call=True)
    def outline(ident, hideout):
        """The picked inspector's grids outlined on the map (the colouring stays)."""
        require(ROLES)
        if ident not in roster or not (hideout or {}).get("g"):
            raise PreventUpdate
        return {**hideout, "sel": index_of.get(ident)}

    @app.callback(Output(Ids.CARD.value, "children"), Output(Ids.MAP.value, "viewport"),
                  Input(Ids.SELECTED.value, "data"), Input(Ids.PERIOD.value, "start_date"),
                  Input(Ids.PERIOD.value, "end_date"), State(Ids.LANG.value, "data"))
    def card(ident, first, last, lang):
        """The picked inspector's figures; the map flies to their grids."""
        require(ROLES)
        if not ident or ident not in roster:
            raise PreventUpdate
        try:
            period = period_from(first, last, tz)
        except PeriodError:
            raise PreventUpdate from None
        row = next((r for r in staff.report(period, user_scope())["inspectors"] if r["id"] == ident), None)
        if row is None:  # another sub-centre's inspector
            raise PreventUpdate
        inspector = roster[ident]
        fields = [("col.reports", row["reports"]), ("col.valid_rate", fmt_value("valid_rate", row["valid_rate"])),
                  ("col.missed_rate", f"{fmt_value('missed_rate', row['missed_rate'])} "
                                      f"({row['grid_public']}/{row['grid_filed']})"),
                  ("col.on_time_verification_rate",
                   f"{fmt_value('on_time_verification_rate', row['on_time_verification_rate'])} "
                   f"({row['on_time_verifications']}/{row['verifications']})"),
                  ("col.on_time_check_rate", "—"),
                  ("col.composite", f"{row['composite'] if row['composite'] is not None else '—'} {row['grade'] or ''}")]
        body = [html.Strong(t("people.selected", lang, name=inspector.get("name", ident), id=ident,
                              grids=len(inspector["grids"]))),
                html.Div(f"{scenario.streets.get(inspector.get('street_code'), '')} · "
                         f"{community_names.get(inspector.get('community_code'), '')}", className="muted"),
                html.Dl([part for key, value in fields for part in (html.Dt(t(key, lang)), html.Dd(str(value)))])]
        return body, {"bounds": shapes.bounds("grid", inspector["grids"]), "transition": "flyToBounds"}


def scatter(rows: list[dict], lang: str):
    """Reports (x) against the missed-report rate (y), one point per inspector, by grade."""
    shown = [r for r in rows if r["missed_rate"] is not None]
    figure = go.Figure()
    for letter in ("A", "B", "C", "D", "E", None):
        group = [r for r in shown if r["grade"] == letter]
        if not group:
            continue
        figure.add_trace(go.Scatter(
            x=[r["reports"] for r in group], y=[r["missed_rate"] for r in group], mode="markers",
            name=letter or "—", marker={"color": GRADE_COLOURS[letter], "size": 7, "opacity": 0.8},
            customdata=[[r["id"], r["name"], r["grid_public"], r["grid_filed"]] for r in group],
            hovertemplate="%{customdata[1]} · %{customdata[0]}<br>" + t("col.reports", lang) + " %{x}<br>"
                          + t("col.missed_rate", lang) + " %{y:.1%} (%{customdata[2]}/%{customdata[3]})<extra></extra>"))
    figure.update_layout(**plot_layout(t("people.scatter_title", lang)))
    figure.update_layout(showlegend=True, legend={"orientation": "h", "y": -0.15, "title": {"text": t("col.grade", lang)}})
    figure.update_layout(margin={"l": 64})
    figure.update_xaxes(title_text=t("col.reports", lang))
    figure.update_yaxes(title_text=t("col.missed_rate", lang), tickformat=".0%", title_standoff=8)
    return figure


def shift_chart(daily: list[dict], lang: str):
    """On-time filing per day, one line per shift."""
    figure = go.Figure()
    for name in SHIFT_NAMES:
        days = [d for d in daily if d["shift"] == name and d["on_time_filing_rate"] is not None]
        figure.add_trace(go.Scatter(x=[d["day"] for d in days], y=[d["on_time_filing_rate"] for d in days],
                                    mode="lines+markers", name=t(f"shift.{name}", lang),
                                    line={"color": SHIFT_COLOURS[name], "width": 2}, marker={"size": 5},
                                    hovertemplate="%{x}<br>%{y:.1%}<extra>" + t(f"shift.{name}", lang) + "</extra>"))
    figure.update_layout(**plot_layout(t("people.shift_chart_title", lang)))
    figure.update_layout(showlegend=True, legend={"orientation": "h", "y": -0.2})
    figure.update_yaxes(tickformat=".0%")
    figure.update_xaxes(tickformat="%m-%d", dtick=86_400_000)
    return figure
