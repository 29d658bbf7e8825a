"""What the report pages (/regions, /inspectors) draw alike, and the one description of
each report table: its columns (field, header key, kind).  The page's grid, the CSV and
the Excel export all read :data:`TABLES`, so a column's header and format live once.

Pure drawing and formatting of plain data (rows as the services return them); names of
codes come from the scenario (domain), never from storage.
"""
from __future__ import annotations

from datetime import date, datetime

import dash_ag_grid as dag
from dash import dcc, html

from dashboard.i18n import t
from dashboard.i18n.city import zone_label

#: kind of a column: how the grid formats it and how an export writes it
#: text · int · num (2 decimals) · pct (a share; exports write percent with one decimal)
#: score (one decimal) · time (Beijing time)
TABLES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "regions": (("name", "col.name", "text"), ("code", "col.code", "text"), ("grids", "col.grids", "int"),
                ("area_km2", "col.area_km2", "num"), ("reports", "col.reports", "int"),
                ("cases", "col.cases", "int"), ("per_km2", "col.per_km2", "num"),
                ("per_grid", "col.per_grid", "num"), ("closure_rate", "col.closure_rate", "pct"),
                ("on_time_closure_rate", "col.on_time_closure_rate", "pct"),
                ("public_share", "col.public_share", "pct"), ("hotline", "col.hotline", "int"),
                ("top_text", "col.top", "text")),
    "cases": (("case_id", "col.case_id", "text"), ("category_text", "col.category", "text"),
              ("source_text", "col.source", "text"), ("stage_text", "col.stage", "text"),
              ("reported_at", "col.reported_at", "time"), ("closed_at", "col.closed_at", "time"),
              ("on_time_text", "col.handled_on_time", "text"), ("department_text", "col.department", "text"),
              ("reporter", "col.reporter", "text")),
    "inspectors": (("name", "col.inspector", "text"), ("id", "col.id", "text"), ("street_text", "col.street", "text"),
                   ("community_text", "col.community", "text"), ("grids", "col.grids", "int"),
                   ("reports", "col.reports", "int"), ("valid_rate", "col.valid_rate", "pct"),
                   ("grid_filed", "col.grid_filed", "int"), ("grid_public", "col.grid_public", "int"),
                   ("missed_rate", "col.missed_rate", "pct"), ("verifications", "col.verifications", "int"),
                   ("on_time_verification_rate", "col.on_time_verification_rate", "pct"),
                   ("on_time_check_rate", "col.on_time_check_rate", "pct"), ("composite", "col.composite", "score"),
                   ("grade", "col.grade", "text")),
    "dispatchers": (("actor", "col.dispatcher", "text"), ("dispatches", "col.dispatches", "int"),
                    ("on_time_rate", "col.on_time_rate", "pct"), ("returned", "col.returned", "int"),
                    ("accurate_rate", "col.accurate_rate", "pct"), ("volume_share", "col.volume_share", "pct"),
                    ("composite", "col.composite", "score"), ("grade", "col.grade", "text")),
    "shifts": (("shift_text", "col.shift", "text"), ("filings", "col.filings", "int"),
               ("on_time_filing_rate", "col.on_time_filing_rate", "pct"),
               ("accurate_filing_rate", "col.accurate_filing_rate", "pct"), ("closings", "col.closings", "int"),
               ("on_time_closing_rate", "col.on_time_closing_rate", "pct"), ("composite", "col.composite", "score"),
               ("grade", "col.grade", "text"), ("staff_text", "col.staff", "text")),
}

#: value formatters: functions of assets/reports.js registered on window.dashAgGridFunctions
FORMATTERS = {"pct": "cgPct(params.value)", "num": "cgNum(params.value, 2)", "score": "cgNum(params.value, 1)",
              "int": "cgNum(params.value, 0)", "time": "cgTime(params.value)", "text": "cgText(params.value)"}
GRID_THEME = ("themeQuartz.withParams({backgroundColor: '#111a2e', foregroundColor: '#e6edf7', "
              "headerBackgroundColor: '#16233f', borderColor: '#1e2a44', accentColor: '#3ea6ff', "
              "oddRowBackgroundColor: '#0f1830', rowHoverColor: '#172340', fontSize: 13, "
              "headerFontSize: 13, spacing: 5, browserColorScheme: 'dark', "
              "fontFamily: 'Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, sans-serif'})")
PLOT_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"],
               "toImageButtonOptions": {"format": "png", "scale": 2}}


# ---------------------------------------------------------------------------- tables
def column_defs(table: str, lang: str, pinned: int = 1) -> list[dict]:
    """AG Grid column definitions of a report table (headers in ``lang``)."""
    out = []
    for i, (field, key, kind) in enumerate(TABLES[table]):
        column = {"field": field, "headerName": t(key, lang), "valueFormatter": {"function": FORMATTERS[kind]},
                  "headerTooltip": t(key, lang)}
        if kind == "text":
            column["tooltipField"] = field
        else:
            column["type"] = "rightAligned"
        if i < pinned:
            column["pinned"] = "left"
        out.append(column)
    return out


def report_grid(grid_id: str, table: str, lang: str, height: str = "420px", row_id: str = "code") -> dag.AgGrid:
    """A sortable report table; a click on a row is a ``cellClicked`` with the row's id."""
    return dag.AgGrid(
        id=grid_id, columnDefs=column_defs(table, lang), rowData=[],
        defaultColDef={"sortable": True, "resizable": True, "filter": False, "minWidth": 92, "flex": 1,
                       "wrapHeaderText": True, "autoHeaderHeight": True},
        dashGridOptions={"theme": {"function": GRID_THEME}, "animateRows": False,
                         "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
                         "tooltipShowDelay": 300,
                         "localeText": {"noRowsToShow": t("eval.no_rows", lang), "loadingOoo": t("grid.loading", lang)}},
        getRowId=f"params.data.{row_id}", style={"height": height, "width": "100%"}, className="report-grid")


# ---------------------------------------------------------------------------- chrome
def period_bar(ids, lang: str, first: date, last: date, exports: list[tuple[str, str]], tz=None) -> html.Div:
    """The period picker (inclusive dates in the scenario's zone ``tz``) and the export links of
    a page; ``exports`` is (element id, label key) of each link (hrefs are set by callbacks)."""
    return html.Div([
        html.Label([html.Span(t("report.period", lang), className="muted"),
                    dcc.DatePickerRange(id=ids.PERIOD.value, start_date=first.isoformat(), end_date=last.isoformat(),
                                        display_format="YYYY-MM-DD", first_day_of_week=1, minimum_nights=0,
                                        className="period-picker", start_date_placeholder_text=t("date.start", lang),
                                        end_date_placeholder_text=t("date.end", lang))], className="period"),
        html.Span(t("city.report.period_note", lang, zone=zone_label(tz, lang)) if tz else t("report.period_note", lang),
                  className="muted small"),
        html.Div([html.A(t(key, lang), id=element, className="button-link", href="#", target="_blank")
                  for element, key in exports], className="exports"),
    ], className="report-bar")


def definitions(keys: list[str], lang: str, element_id: str) -> html.Details:
    """The collapsible "how is this computed" box: one paragraph per definition."""
    return html.Details([html.Summary(t("report.how", lang)),
                         html.Ul([html.Li(t(key, lang)) for key in keys])],
                        className="definitions", id=element_id)


def map_view(bounds: list[list[float]]) -> dict:
    """The props that open a report map on ``bounds`` (centre and zoom too: dash-leaflet
    compares a new viewport with the current centre)."""
    (south, west), (north, east) = bounds
    return {"center": [(south + north) / 2, (west + east) / 2], "zoom": 12,
            "viewport": {"bounds": bounds, "transition": "fitBounds"}}


# ---------------------------------------------------------------------------- rows
def category_name(scenario, code: str | None, lang: str) -> str:
    category = scenario.categories.get(code or "")
    if category is None:
        return code or "—"
    return category.name_en if lang == "en" else category.name_zh


def department_name(scenario, code: str | None, lang: str) -> str:
    department = scenario.departments.get(code or "")
    if department is None:
        return code or "—"
    return department.name_en if lang == "en" else department.name_zh


def display_rows(table: str, rows: list[dict], lang: str, scenario, community_names: dict | None = None) -> list[dict]:
    """Rows with the text columns a table shows (names of codes, labels) added."""
    out = []
    for row in rows:
        row = dict(row)
        if table == "regions":
            row["top_text"] = "、".join(f"{category_name(scenario, c['code'], lang)} {c['n']}"
                                       for c in row.get("top_categories") or [])
        elif table == "cases":
            row["category_text"] = category_name(scenario, row.get("category_code"), lang)
            row["source_text"] = t(f"source.{row['source']}", lang) if row.get("source") else "—"
            row["stage_text"] = t(f"stage.{row['stage']}", lang)
            row["department_text"] = department_name(scenario, row.get("department_code"), lang) \
                if row.get("department_code") else "—"
            on_time = row.get("handled_on_time")
            row["on_time_text"] = "—" if on_time is None else t("report.yes" if on_time else "report.no", lang)
        elif table == "inspectors":
            row["street_text"] = scenario.streets.get(row.get("street_code") or "", row.get("street_code") or "")
            row["community_text"] = (community_names or {}).get(row.get("community_code"), row.get("community_code"))
        elif table == "shifts":
            row["shift_text"] = t(f"shift.{row['shift']}", lang)
            row["staff_text"] = "、".join(row.get("staff") or [])
        out.append(row)
    return out


def export_table(table: str, rows: list[dict], lang: str, tz) -> tuple[list[str], list[list]]:
    """(headers, rows of cells) of a table for CSV/Excel: shares as percentages with one
    decimal ("(%)" in the header), times in local (Beijing) time, None as empty."""
    columns = TABLES[table]
    headers = [t(key, lang) + (" (%)" if kind == "pct" else "") for _, key, kind in columns]
    body = []
    for row in rows:
        cells = []
        for field, _, kind in columns:
            value = row.get(field)
            if value is None:
                cells.append(None)
            elif kind == "pct":
                cells.append(round(100 * value, 1))
            elif kind == "time":
                at = datetime.fromisoformat(value) if isinstance(value, str) else value
                cells.append(at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"))
            else:
                cells.append(value)
        body.append(cells)
    return headers, body
