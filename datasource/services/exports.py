"""A report table as a file: CSV (UTF-8 with BOM, so Excel opens Chinese text cleanly) and
Excel (.xlsx, openpyxl) — the one export of every report (departments, regions, people).

:func:`csv_bytes` and :func:`xlsx_bytes` write any table of headers and cells; the
department tables reach them through :func:`to_csv` / :func:`to_xlsx`, whose columns,
headers and value formats come from the table's specification
(:data:`dashboard.domain.evaluation.TABLES`) and the i18n catalogue, so the page, the CSV
and the workbook say the same thing; the regional and people tables through the cells of
:func:`layouts.reporting.export_table`.

Values: rates in per cent (the header says ``(%)``), handling times in working hours,
instants in the working calendar's time zone (Beijing time for Dongcheng), names in the
asked language.  Text typed by people (descriptions, reasons, actors) that starts like a
formula (``= + - @``) is kept as text, never evaluated by the spreadsheet.
"""
from __future__ import annotations

import csv
import io

from dashboard.domain.evaluation import CODE_PREFIX, TABLES
from dashboard.i18n import t

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
UNIT_KEYS = {"rate": "eval.unit.percent", "hours": "eval.unit.work_hours", "clock_hours": "eval.unit.hours",
             "days": "eval.unit.days",
             "ratio": "eval.unit.ratio"}


def headers(name: str, lang: str, tz) -> list[str]:
    """The header row of table ``name`` (with units: %, working hours, days, time zone)."""
    out = []
    for column, kind in TABLES[name]:
        label = t(f"eval.col.{column}", lang)
        if kind in UNIT_KEYS:
            label += t(UNIT_KEYS[kind], lang)
        elif kind == "time":
            label += t("eval.unit.beijing", lang) if str(tz) == "Asia/Shanghai" else f" ({tz})"
        out.append(label)
    return out


def cell(row: dict, column: str, kind: str, lang: str, tz, target: str = "csv"):
    """One value as ``target`` shows it: ``csv`` (text), ``xlsx`` (native dates and numbers
    for openpyxl) or ``page`` (JSON for the grid: instants as local ``YYYY-MM-DD HH:MM``)."""
    value = row.get(column)
    if kind == "name":
        value = (row.get(f"{column}_en") or value) if lang == "en" else value
    if value is None:
        return None
    if kind == "rate":
        return round(100 * value, 1)
    if kind == "ratio":
        return round(value, 2)
    if kind == "code":
        return t(f"{CODE_PREFIX[column]}{value}", lang)
    if kind == "time":
        local = value.astimezone(tz)
        if target == "xlsx":
            return local.replace(tzinfo=None, microsecond=0)
        return local.strftime("%Y-%m-%d %H:%M" if target == "page" else "%Y-%m-%d %H:%M:%S")
    if kind == "date":
        return value if target == "xlsx" else value.isoformat()
    if target == "csv" and kind in ("text", "name") and isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_bytes(header: list[str], rows: list[list]) -> bytes:
    """Any table as CSV: UTF-8 with a byte-order mark, CRLF line ends (what Excel expects);
    None is empty, and text that starts like a formula is kept as text (a leading ')."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else "'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v
                         for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def xlsx_bytes(header: list[str], rows: list[list], sheet_name: str, number_formats: list | None = None,
               widths: list | None = None) -> bytes:
    """Any table as an Excel workbook of one sheet: bold frozen header, text kept as text
    (even "=…"), a number format per column where given, columns sized to their content
    unless ``widths`` are given."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_name[:31] or "table"
    sheet.append(header)
    for c in sheet[1]:
        c.font = Font(bold=True)
    for r, row in enumerate(rows, start=2):
        for col, value in enumerate(row, start=1):
            target = sheet.cell(row=r, column=col)
            target.value = value
            if isinstance(value, str):
                target.data_type = "s"          # text stays text, even "=…"
            elif number_formats and number_formats[col - 1] and value is not None:
                target.number_format = number_formats[col - 1]
    for col, label in enumerate(header, start=1):
        if widths:
            wide = widths[col - 1]
        else:
            longest = max([len(str(label))] + [len(str(r[col - 1])) for r in rows[:200] if r[col - 1] is not None])
            wide = min(60, 4 + 1.6 * longest)
        sheet.column_dimensions[get_column_letter(col)].width = wide
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def to_csv(name: str, rows: list[dict], lang: str, tz) -> bytes:
    """Department table ``name`` as CSV (:func:`csv_bytes`)."""
    spec = TABLES[name]
    return csv_bytes(headers(name, lang, tz), [[cell(row, c, k, lang, tz) for c, k in spec] for row in rows])


XLSX_FORMATS = {"rate": "0.0", "ratio": "0.00", "hours": "0.00", "clock_hours": "0.0", "days": "0.0", "points": "0.0",
                "time": "yyyy-mm-dd hh:mm:ss", "date": "yyyy-mm-dd"}


def to_xlsx(name: str, rows: list[dict], lang: str, tz, title: str) -> bytes:
    """Department table ``name`` as an Excel workbook (:func:`xlsx_bytes`): number formats by kind."""
    spec = TABLES[name]
    cells = [[cell(row, c, k, lang, tz, target="xlsx") for c, k in spec] for row in rows]
    widths = [20 if k in ("time", "name") else 40 if c in ("description", "reason") else 12 for c, k in spec]
    return xlsx_bytes(headers(name, lang, tz), cells, title or name, [XLSX_FORMATS.get(k) for _, k in spec], widths)


def filename(parts: list[str], fmt: str) -> str:
    """``citygrid-departments-2026-11-01-2026-11-30.csv`` (ASCII only: every browser agrees)."""
    return "citygrid-" + "-".join(p for p in parts if p) + "." + fmt

