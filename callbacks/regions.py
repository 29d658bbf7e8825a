"""Callbacks of ``/regions``: the level being looked at (from the drill-down path), its
figures on the map, the chart and the table, one grid's cases, and the clicks that move
down (a region on the map or in the table) and up (the breadcrumb)."""
from __future__ import annotations

from urllib.parse import urlencode

import plotly.graph_objects as go
from dash import ALL, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.common import message, require, user_scope
from callbacks.components_map import register_layer, register_offenders
from callbacks.reporting import (class_breaks, class_of, fmt_value, period_from, period_message, plot_layout,
                                 ramp_index)
from dashboard.domain.evaluation import PeriodError
from dashboard.i18n import t
from datasource.services.region_shapes import RegionShapes
from datasource.services.regions import RegionReport, ReportError
from layouts.reporting import display_rows
from layouts.regions import METRICS, RAMP, ROLES, Ids

CHART_BARS = 25
LEVEL_BELOW = {None: "street", "street": "community", "community": "grid", "grid": "grid"}


def view_of(path: dict) -> tuple[str, str | None]:
    """(level shown, its parent) for a drill-down path."""
    path = path or {}
    if path.get("community"):
        return "grid", path["community"]
    if path.get("street"):
        return "community", path["street"]
    return "street", None


def scoped_path(path: dict | None, scope: str | None) -> dict:
    """A community station's drill-down starts inside its street (its own community's row);
    a street sub-centre's at the street level (its own street's row); the district's anywhere."""
    path = dict(path or {})
    if scope and len(scope) == 12 and not path.get("street"):
        path["street"] = scope[:9]
    return path


def register(app, services) -> None:
    register_layer(app, services, Ids.MAP.value, "regions", ROLES)   # issue 16: the components layer
    register_offenders(app, services, "regions", ROLES, Ids.PERIOD.value, Ids.LANG.value)   # … and repeat offenders
    report = RegionReport(services.system)
    shapes = RegionShapes(services.system)
    scenario = services.scenario
    tz = scenario.calendar.tz
    metric_keys = {field: (key, worse_high) for field, key, worse_high in METRICS}

    def crumbs(path: dict, lang: str) -> list:
        items = [("district", scenario.district_name(lang))]
        if path.get("street"):
            items.append(("street", scenario.streets.get(path["street"], path["street"])))
        if path.get("community"):
            region = report.region("community", path["community"])
            items.append(("community", region.name if region else path["community"]))
        if path.get("grid"):
            items.append(("grid", t("regions.grid", lang, code=path["grid"])))
        out = []
        for i, (level, label) in enumerate(items):
            if i:
                out.append(html.Span("›", className="crumb-sep"))
            last = i == len(items) - 1
            out.append(html.Button(label, id={"type": Ids.CRUMB.value, "level": level}, n_clicks=0,
                                   className="crumb current" if last else "crumb", disabled=last))
        return out

    @app.callback(Output(Ids.SHAPES.value, "data"), Output(Ids.SHAPES.value, "hideout"), Output(Ids.MAP.value, "viewport"),
                  Output(Ids.LEGEND.value, "children"), Output(Ids.CHART.value, "figure"),
                  Output(Ids.LEVEL_TITLE.value, "children"), Output(Ids.COUNT.value, "children"),
                  Output(Ids.TABLE.value, "rowData"), Output(Ids.EXPORT_CSV.value, "href"),
                  Output(Ids.EXPORT_XLSX.value, "href"), Output(Ids.CRUMBS.value, "children"),
                  Output(Ids.MESSAGE.value, "children"),
                  Input(Ids.PERIOD.value, "start_date"), Input(Ids.PERIOD.value, "end_date"),
                  Input(Ids.PATH.value, "data"), Input(Ids.METRIC.value, "value"), State(Ids.LANG.value, "data"))
    def show(first, last, path, metric, lang):
        """The figures of the level the path points at, drawn four ways."""
        require(ROLES)
        path = scoped_path(path, user_scope())
        try:
            period = period_from(first, last, tz)
        except PeriodError as exc:
            return (*[no_update] * 11, message(period_message(exc, lang), False))
        level, parent = view_of(path)
        try:
            rows = report.figures(level, period, parent, scope=user_scope())
        except ReportError as exc:
            return (*[no_update] * 10, crumbs({}, lang), message(exc.msg.render(lang), False))
        key, worse_high = metric_keys.get(metric, metric_keys[METRICS[0][0]])
        values = [r[metric] for r in rows if r.get(metric) is not None]
        breaks = class_breaks(values, len(RAMP))
        by_code = {r["code"]: r for r in rows}
        features = []
        for feature in shapes.features(level, parent)["features"]:
            row = by_code.get(feature["properties"]["code"])
            value = None if row is None else row.get(metric)
            features.append({**feature, "properties": {
                **feature["properties"], "c": class_of(value, breaks, worse_high),
                "label": f"{feature['properties']['name']} · {t(key, lang)} {fmt_value(metric, value)}"
                         f" · {t('col.cases', lang)} {row['cases'] if row else 0}"}})
        focus = path.get("grid") or parent
        focus_level = "grid" if path.get("grid") else ("community" if level == "grid" else "street")
        bounds = shapes.bounds(focus_level, [focus]) if focus else shapes.bounds()
        query = {"level": level, "from": period.first.isoformat(), "to": period.last.isoformat(), "lang": lang}
        if parent:
            query["parent"] = parent
        level_name = t(f"regions.level.{level}", lang)
        return ({"type": "FeatureCollection", "features": features},
                {"ramp": list(RAMP), "selected": path.get("grid")},
                {"bounds": bounds, "transition": "flyToBounds"},
                legend(breaks, metric, worse_high, lang), chart(rows, metric, key, level_name, worse_high, lang),
                level_name, str(len(rows)), display_rows("regions", rows, lang, scenario),
                "/api/v1/regions?" + urlencode({**query, "format": "csv"}),
                "/api/v1/regions?" + urlencode({**query, "format": "xlsx"}), crumbs(path, lang), None)

    @app.callback(Output(Ids.CASES_BOX.value, "className"), Output(Ids.CASES_TITLE.value, "children"),
                  Output(Ids.CASES_TABLE.value, "rowData"), Output(Ids.CASES_LAYER.value, "data"),
                  Output(Ids.CASES_CSV.value, "href"), Output(Ids.CASES_XLSX.value, "href"),
                  Input(Ids.PERIOD.value, "start_date"), Input(Ids.PERIOD.value, "end_date"),
                  Input(Ids.PATH.value, "data"), State(Ids.LANG.value, "data"))
    def grid_cases(first, last, path, lang):
        """The chosen grid's cases: a table and markers."""
        require(ROLES)
        grid = (path or {}).get("grid")
        empty = {"type": "FeatureCollection", "features": []}
        if not grid:
            return "report-section hidden", None, [], empty, "#", "#"
        try:
            period = period_from(first, last, tz)
            rows = report.grid_cases(grid, period, scope=user_scope())
        except (PeriodError, ReportError):
            return "report-section hidden", None, [], empty, "#", "#"
        shown = display_rows("cases", rows, lang, scenario)
        points = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                   "properties": {"case_id": r["case_id"], "stage": r["stage"],
                                  "label": f"{r['case_id']} · {r['category_text']} · {r['stage_text']}"}}
                  for r in shown]
        for row in shown:
            row["reported_at"] = row["reported_at"].isoformat() if row.get("reported_at") else None
            row["closed_at"] = row["closed_at"].isoformat() if row.get("closed_at") else None
            row.pop("filed_at", None)
        query = {"grid": grid, "from": period.first.isoformat(), "to": period.last.isoformat(), "lang": lang}
        return ("report-section", t("regions.grid_cases", lang, code=grid), shown,
                {"type": "FeatureCollection", "features": points},
                "/api/v1/regions/cases?" + urlencode({**query, "format": "csv"}),
                "/api/v1/regions/cases?" + urlencode({**query, "format": "xlsx"}))

    @app.callback(Output(Ids.PATH.value, "data", allow_duplicate=True),
                  Input(Ids.SHAPES.value, "clickData"), Input(Ids.TABLE.value, "cellClicked"),
                  Input({"type": Ids.CRUMB.value, "level": ALL}, "n_clicks"), State(Ids.PATH.value, "data"),
                  prevent_initial_call=True)
    def drill(click, cell, _crumbs, path):
        """Down: a region clicked on the map or in the table.  Up: a breadcrumb."""
        require(ROLES)
        path = scoped_path(path, user_scope())
        trigger = ctx.triggered_id
        if isinstance(trigger, dict):
            if not ctx.triggered[0]["value"]:
                raise PreventUpdate   # the breadcrumb was redrawn, nobody clicked
            keep = {"district": (), "street": ("street",), "community": ("street", "community")}[trigger["level"]]
            return {level: path.get(level) if level in keep else None for level in ("street", "community", "grid")}
        if trigger == Ids.SHAPES.value:
            code = ((click or {}).get("properties") or {}).get("code")
        else:
            code = (cell or {}).get("rowId")
        if not code:
            raise PreventUpdate
        level, _ = view_of(path)
        if report.region(level, code) is None:
            raise PreventUpdate
        if level == "street":
            return {"street": code, "community": None, "grid": None}
        if level == "community":
            return {"street": path.get("street"), "community": code, "grid": None}
        return {**path, "grid": None if path.get("grid") == code else code}


def legend(breaks: list[float], metric: str, worse_high: bool, lang: str) -> list:
    """Swatches of the colour classes with their lower bounds."""
    if not breaks:
        return [html.Span(t("report.none", lang))]
    items = []
    for i, low in enumerate(breaks):
        colour = RAMP[ramp_index(i, len(breaks), worse_high)]
        items.append(html.Span([html.I(style={"background": colour}), f"≥ {fmt_value(metric, low)}"]))
    return [*items, html.Span(t("regions.legend", lang), className="muted")]


def chart(rows: list[dict], metric: str, key: str, level_name: str, worse_high: bool, lang: str):
    """The metric per region, the regions needing attention first (at most CHART_BARS)."""
    shown = [r for r in rows if r.get(metric) is not None]
    shown.sort(key=lambda r: r[metric], reverse=worse_high)
    shown = list(reversed(shown[:CHART_BARS]))
    pct = metric.endswith("rate") or metric.endswith("share")
    figure = go.Figure(go.Bar(
        x=[r[metric] for r in shown], y=[r["name"] for r in shown], orientation="h", marker_color="#3ea6ff",
        customdata=[[r["code"], r["cases"]] for r in shown],
        hovertemplate="%{y}<br>%{x" + (":.1%" if pct else ":.2f") + "}<br>" + t("col.cases", lang)
                      + " %{customdata[1]}<extra></extra>"))
    figure.update_layout(**plot_layout(t("regions.chart_title", lang, metric=t(key, lang), level=level_name)))
    figure.update_xaxes(tickformat=".0%" if pct else None)
    figure.update_yaxes(automargin=True, tickfont={"size": 11})
    return figure
