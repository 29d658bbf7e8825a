"""What the evaluation pages (``/departments`` and ``/departments/<code>``) draw alike: the
period picker, export links, the "how is this computed" note, ag-grid tables built from
the table specifications of :mod:`dashboard.domain.evaluation`, figure cards and the chart
settings (plotly's modebar downloads each chart as PNG).  Pure drawing."""
from __future__ import annotations

from urllib.parse import urlencode

import dash_ag_grid as dag
from dash import dcc, html

from dashboard.domain.evaluation import PERIODS, TABLES, TARGETS, PeriodError, resolve
from dashboard.i18n import t

#: ag-grid's dark theme in the product's colours (AG Grid's theming API).
GRID_THEME = {"function": "themeBalham.withParams({backgroundColor: '#111a2e', foregroundColor: '#e6edf7', "
                          "headerBackgroundColor: '#16233f', headerTextColor: '#c9d6ea', borderColor: '#24324f', "
                          "oddRowBackgroundColor: '#0f1729', rowHoverColor: '#1b2a48', accentColor: '#3ea6ff', "
                          "chromeBackgroundColor: '#16233f', fontSize: 13, rowHeight: 30, "
                          "fontFamily: 'inherit'})"}
FORMAT = {"rate": "citygridPct(params.value)", "ratio": "citygridFixed(params.value, 2)",
          **{kind: "citygridFixed(params.value, 1)" for kind in ("hours", "clock_hours", "days", "points")}}
NUMERIC = {"int", "rate", "ratio", "hours", "clock_hours", "days", "points"}
WIDTH = {"int": 92, "rate": 96, "ratio": 96, "hours": 104, "clock_hours": 100, "days": 96, "points": 88, "time": 150,
         "date": 110, "code": 92, "name": 190, "text": 110}
#: ratio cells coloured against the target (≥ 1 meets it)
RATIO_RULES = {"ratio-ok": "params.value !== null && params.value >= 1",
               "ratio-warn": "params.value !== null && params.value < 1 && params.value >= 0.9",
               "ratio-bad": "params.value !== null && params.value < 0.9"}
CHART_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d"],
                "toImageButtonOptions": {"format": "png", "scale": 2}}


def header_label(column: str, kind: str, lang: str) -> str:
    label = t(f"eval.col.{column}", lang)
    if kind == "rate":
        return label + " %"
    if kind == "hours":
        return label + (" (working h)" if lang == "en" else "（工时）")
    if kind == "clock_hours":
        return label + (" (h)" if lang == "en" else "（小时）")
    if kind == "days":
        return label + (" (d)" if lang == "en" else "（天）")
    return label


def column(table: str, name: str, lang: str, **extra) -> dict:
    """One ag-grid column of ``table`` (label, width, number format, filters)."""
    kind = dict(TABLES[table])[name]
    col = {"field": name, "headerName": header_label(name, kind, lang), "headerTooltip": t(f"eval.col.{name}", lang),
           "width": WIDTH.get(kind, 110), "sortable": True, "resizable": True}
    if kind in NUMERIC:
        col.update(type="rightAligned", filter="agNumberColumnFilter")
    else:
        col["filter"] = "agTextColumnFilter"
    if kind in FORMAT:
        col["valueFormatter"] = {"function": FORMAT[kind]}
    if kind == "ratio":
        col["cellClassRules"] = RATIO_RULES
    if name in ("description", "reason"):
        col.update(width=260, flex=1, minWidth=200, tooltipField=name)
    col.update(extra)
    return col


def columns(table: str, lang: str, overrides: dict | None = None) -> list[dict]:
    """Every column of ``table`` in the specification's order (``overrides`` by field)."""
    overrides = overrides or {}
    return [column(table, name, lang, **overrides.get(name, {})) for name, _ in TABLES[table]]


def grid(grid_id: str, column_defs: list, lang: str, height: int | None = 360, row_id: str | None = None,
         **options) -> dag.AgGrid:
    """A sortable, filterable table (rows arrive from a callback).  ``height`` None: as tall as
    its rows (short tables); ``row_id``: the field that identifies a row (then a click
    anywhere in the row reports it)."""
    extra = {"getRowId": f"params.data.{row_id}"} if row_id else {}
    if height is None:
        options["domLayout"] = "autoHeight"
    return dag.AgGrid(id=grid_id, columnDefs=column_defs, rowData=[], className="report-grid", **extra,
                      defaultColDef={"sortable": True, "resizable": True, "wrapHeaderText": True,
                                     "autoHeaderHeight": True},
                      dashGridOptions={"theme": GRID_THEME, "animateRows": False, "tooltipShowDelay": 300,
                                       "localeText": {"noRowsToShow": t("eval.no_rows", lang),
                                                      "loadingOoo": t("grid.loading", lang)},
                                       "enableCellTextSelection": True, "suppressDragLeaveHidesColumns": True,
                                       "suppressColumnVirtualisation": True, **options},
                      style={"width": "100%"} if height is None else {"height": f"{height}px", "width": "100%"})


def export_links(base: str, query: dict, lang: str, link_id: str) -> html.Span:
    """CSV and Excel links of one table (built on the server from the same query)."""
    params = urlencode({**query, "lang": lang})
    return html.Span([html.A(t("eval.export.csv", lang), href=f"{base}.csv?{params}", className="export-link",
                             id=f"{link_id}-csv", download=""),
                      html.A(t("eval.export.xlsx", lang), href=f"{base}.xlsx?{params}", className="export-link",
                             id=f"{link_id}-xlsx", download="")], className="exports")


def section(title: str, body, tools=None, section_id: str | None = None) -> html.Section:
    head = html.Div([html.H3(title), tools], className="report-section-head")
    return html.Section([head, body], className="report-section", **({"id": section_id} if section_id else {}))


def period_picker(ids, period, lang: str, error: str | None = None) -> html.Div:
    """Today · 7 days · 30 days · a month · custom; the choice goes into the URL."""
    return html.Div([
        html.Span(t("eval.period", lang), className="muted"),
        dcc.RadioItems(id=ids.PERIOD_KIND.value, value=period.kind if period else None, inline=True,
                       className="period-kinds", inputClassName="period-radio",
                       options=[{"label": t(f"eval.period.{k}", lang), "value": k} for k in PERIODS]),
        dcc.Input(id=ids.MONTH.value, type="month", className="input period-input",
                  value=f"{period.first:%Y-%m}" if period else None, debounce=True),
        dcc.Input(id=ids.FIRST.value, type="date", className="input period-input",
                  value=period.first.isoformat() if period else None),
        html.Span("—", className="muted"),
        dcc.Input(id=ids.LAST.value, type="date", className="input period-input",
                  value=period.last.isoformat() if period else None),
        html.Button(t("eval.apply", lang), id=ids.APPLY.value, className="primary", n_clicks=0),
        html.Span(t("eval.period.range", lang, first=period.first, last=period.last, days=period.days)
                  if period else "", className="period-range", id=ids.RANGE.value),
        html.Span(error or "", className="msg-error", id=ids.PERIOD_ERROR.value, role="alert"),
    ], className="period-picker")


def definitions(lang: str) -> html.Details:
    """The collapsible "how is this computed" note (the README says the same)."""
    keys = ("eval.def.cohort", "eval.def.due", "eval.def.rates", "eval.def.score", "eval.def.other",
            "eval.def.hours", "eval.def.now")
    return html.Details([html.Summary(t("eval.howto", lang)), html.Ul([html.Li(t(k, lang)) for k in keys])],
                        className="definitions", id="eval-definitions")


def figure_card(label: str, value: str, note: str | None = None, tone: str = "", card_id: str | None = None):
    return html.Div([html.Div(label, className="kpi-label"), html.Div(value, className=f"kpi-value {tone}"),
                     html.Div(note or "", className="kpi-note")], className="kpi",
                    **({"id": card_id} if card_id else {}))


def target_text(name: str, lang: str) -> str:
    return t("eval.target", lang, target=f"{TARGETS[name]:.0%}")


def graph(graph_id: str, height: int = 300) -> dcc.Graph:
    return dcc.Graph(id=graph_id, config=CHART_CONFIG, style={"height": f"{height}px"},
                     figure={"data": [], "layout": {"paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
                                                    "xaxis": {"visible": False}, "yaxis": {"visible": False}}})


def asked_period(query: dict, today, lang: str) -> tuple:
    """(period, error text, store data) of the page's URL: the period the query asks for
    (``dashboard.domain.evaluation.resolve``), or None and a one-line message."""
    try:
        period, error = resolve(query, today), None
    except PeriodError as exc:
        period, error = None, t(exc.key, lang, **{k: str(v) for k, v in exc.values.items()})
    store = None if period is None else {"first": period.first.isoformat(), "last": period.last.isoformat(),
                                         "kind": period.kind, "query": period.query()}
    return period, error, store

