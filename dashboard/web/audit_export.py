"""``/admin/audit.csv``: the audit log as the administrator's spreadsheet.

Built on the server from the same filters as the admin page (``case_id``, ``user``,
``action``, ``outcome``, ``from``/``to`` as Beijing-time dates), with a UTF-8 BOM so Excel
reads the Chinese, local times and headers and values in ``?lang=`` (Chinese by default).
Machines keep ``/api/v1/audit?format=csv`` (codes and UTC, stable column names).
"""
from __future__ import annotations

from datetime import date

from flask import Response, request

from datasource.services import audit, audit_view
from datasource.services.command_types import Msg
from dashboard.web.api_access import ApiError, app_services

MAX_ROWS = 100_000
TEXT_FILTERS = ("case_id", "user", "action", "outcome")


def _day(name: str) -> date | None:
    text = (request.args.get(name) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(400, Msg("cmd.bad_time", field=name, value=text[:40])) from None


def audit_csv() -> Response:
    """The filtered log as CSV (raises :class:`ApiError` 400 on a bad date or outcome)."""
    services = app_services()
    tz = services.scenario.calendar.tz
    lang = "en" if request.args.get("lang") == "en" else "zh"
    filters = {k: request.args[k].strip()[:64] for k in TEXT_FILTERS if (request.args.get(k) or "").strip()}
    if filters.get("outcome") and filters["outcome"] not in audit.OUTCOMES:
        raise ApiError(400, Msg("cmd.bad_choice", field="outcome", choices=", ".join(audit.OUTCOMES)))
    first, last = _day("from"), _day("to")
    if first and last and first > last:
        raise ApiError(400, Msg("admin.bad_dates"))
    rows = audit.query(services.system.engine, limit=MAX_ROWS, **filters, **audit_view.day_bounds(first, last, tz))
    text = audit_view.report_csv(rows, lang, tz, services.scenario.departments)
    return Response(text.encode("utf-8"), mimetype="text/csv", content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=citygrid-audit.csv"})
