"""A report table as a download: CSV (UTF-8 with BOM, so Excel opens Chinese headers
correctly) or Excel (.xlsx, openpyxl).  Cells arrive formatted by
:func:`layouts.reporting.export_table` (shares in percent, Beijing times as text)."""
from __future__ import annotations

import csv
import io
from urllib.parse import quote

from flask import Response

FORMATS = ("json", "csv", "xlsx")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def csv_bytes(headers: list[str], rows: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows([["" if cell is None else cell for cell in row] for row in rows])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(headers: list[str], rows: list[list], sheet: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    book = Workbook()
    ws = book.active
    ws.title = sheet[:31]
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(row)
    ws.freeze_panes = "A2"
    for i, header in enumerate(headers, 1):
        longest = max([len(str(header))] + [len(str(r[i - 1])) for r in rows[:200] if r[i - 1] is not None])
        ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(60, 4 + 1.6 * longest)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def download(headers: list[str], rows: list[list], fmt: str, filename: str, sheet: str) -> Response:
    """The table as a CSV or XLSX attachment named ``filename`` (without extension)."""
    if fmt == "csv":
        body, mimetype = csv_bytes(headers, rows), "text/csv; charset=utf-8"
    else:
        body, mimetype = xlsx_bytes(headers, rows, sheet), XLSX
    name = f"{filename}.{fmt}"
    return Response(body, content_type=mimetype, headers={
        "Content-Disposition": f"attachment; filename={name.encode('ascii', 'replace').decode()}; "
                               f"filename*=UTF-8''{quote(name)}"})
