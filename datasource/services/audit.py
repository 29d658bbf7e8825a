"""The audit log: who did what to which case, from where, and how it ended.

Every command — accepted, refused or lost in a race — leaves one row in ``audit_log``
(see :mod:`datasource.store.schema`).  Writing the row never makes a command fail: the stream
entry is the truth, the audit row its record; a database error is logged instead.
"""
from __future__ import annotations

import csv
import io
import logging
from datetime import datetime, timezone

from sqlalchemy import func, insert, select

from datasource.store import schema

log = logging.getLogger("citygrid.audit")
OUTCOMES = ("ok", "refused", "conflict", "error")
COLUMNS = ("id", "at", "user_name", "role", "action", "case_id", "remote_addr", "before", "after", "outcome",
           "message")


def record(engine, *, user: str, role: str | None, action: str, outcome: str, case_id: str | None = None,
           remote_addr: str | None = None, before: str | None = None, after: str | None = None,
           message: str | None = None, at: datetime | None = None) -> None:
    """Write one audit row (never raises)."""
    row = {"at": at or datetime.now(timezone.utc), "user_name": (user or "-")[:64], "role": (role or None),
           "action": action[:32], "case_id": (case_id or None) and str(case_id)[:20],
           "remote_addr": (remote_addr or None) and remote_addr[:64], "before": before, "after": after,
           "outcome": outcome, "message": (message or None) and message[:2000]}
    try:
        with engine.begin() as c:
            c.execute(insert(schema.audit_log).values(**row))
    except Exception:  # noqa: BLE001 - the audit must not turn a done command into an error
        log.exception("could not write the audit row %s", row)


def _filtered(statement, case_id=None, user=None, outcome=None, action=None, before_id=None, since=None, until=None):
    """``statement`` narrowed by the filters (``since`` inclusive, ``until`` exclusive: aware times)."""
    table = schema.audit_log
    for column, value in (("case_id", case_id), ("user_name", user), ("outcome", outcome), ("action", action)):
        if value:
            statement = statement.where(table.c[column] == value)
    if before_id:
        statement = statement.where(table.c.id < before_id)
    if since is not None:
        statement = statement.where(table.c.at >= since)
    if until is not None:
        statement = statement.where(table.c.at < until)
    return statement


def query(engine, limit: int = 500, case_id: str | None = None, user: str | None = None,
          outcome: str | None = None, action: str | None = None, before_id: int | None = None,
          since: datetime | None = None, until: datetime | None = None, offset: int = 0) -> list[dict]:
    """Audit rows, newest first, optionally filtered (``since`` ≤ at < ``until``) and paged
    (``offset`` rows skipped); plain dicts."""
    table = schema.audit_log
    statement = select(table).order_by(table.c.id.desc()).limit(max(1, min(int(limit), 100_000)))
    statement = _filtered(statement, case_id, user, outcome, action, before_id, since, until)
    if offset:
        statement = statement.offset(max(0, int(offset)))
    with engine.connect() as c:
        return [dict(r) for r in c.execute(statement).mappings()]


def count(engine, **filters) -> int:
    """How many audit rows (matching the :func:`query` filters, if any)."""
    statement = _filtered(select(func.count()).select_from(schema.audit_log), **filters)
    with engine.connect() as c:
        return c.execute(statement).scalar()


def _cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def to_csv(rows: list[dict]) -> str:
    """The rows as CSV text (UTF-8 with a BOM-free header line)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in COLUMNS])
    return out.getvalue()
