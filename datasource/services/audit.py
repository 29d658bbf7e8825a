"""The audit log: who did what to which case, from where, and how it ended.

Every command — accepted, refused or lost in a race — leaves one row in ``audit_log``
(see :mod:`datasource.store.schema`).  A command runs inside :func:`audited`: its row is
inserted *before* the command acts, in a transaction that stays open while it acts and is
committed with the outcome — so a command whose row cannot be written does not act at all,
and one that acted has its row (the only gap: the database dying between the command's Redis
write and the commit, a window of a few milliseconds).  A refusal or an unexpected error is
recorded in the same row (``refused``/``conflict``/``error``) before the exception goes on.

Every text that goes into a row passes :func:`dashboard.domain.inputs.loggable` (lone
surrogates become U+FFFD, NUL and control characters go), so no value a caller sends can make
the row unwritable.  :func:`record` writes a row for refusals before any command (a bad token,
a malformed body): nothing acted, so it logs a database error instead of raising.
"""
from __future__ import annotations

import csv
import io
import logging
from datetime import datetime, timezone

from sqlalchemy import func, insert, select, update

from dashboard.domain.inputs import loggable
from datasource.store import schema

log = logging.getLogger("citygrid.audit")
OUTCOMES = ("ok", "refused", "conflict", "error")
COLUMNS = ("id", "at", "user_name", "role", "action", "case_id", "remote_addr", "before", "after", "outcome",
           "message")


def record(engine, *, user: str, role: str | None, action: str, outcome: str, case_id: str | None = None,
           remote_addr: str | None = None, before: str | None = None, after: str | None = None,
           message: str | None = None, at: datetime | None = None) -> None:
    """Write one audit row for a refusal before any command acted (logs, never raises)."""
    row = _row(user=user, role=role, action=action, outcome=outcome, case_id=case_id, remote_addr=remote_addr,
               before=before, after=after, message=message, at=at)
    try:
        with engine.begin() as c:
            c.execute(insert(schema.audit_log).values(**row))
    except Exception:  # noqa: BLE001 - nothing acted: a lost refusal row must not hide the refusal
        log.exception("could not write the audit row %s", row)


def _row(*, user, role, action, outcome, case_id=None, remote_addr=None, before=None, after=None, message=None,
         at=None) -> dict:
    """An audit row's values, each storable whatever the caller sent."""
    return {"at": at or datetime.now(timezone.utc), "user_name": loggable(user or "-", 64) or "-",
            "role": loggable(role, 16) or None, "action": loggable(action, 32) or "-",
            "case_id": loggable(case_id, 20) or None, "remote_addr": loggable(remote_addr, 64) or None,
            "before": loggable(before, 32), "after": loggable(after, 32),
            "outcome": outcome if outcome in OUTCOMES else "error", "message": loggable(message, 2000) or None}


class Entry:
    """The audit row of one running command (see :func:`audited`): :meth:`finish` sets its outcome."""

    def __init__(self):
        self.values: dict = {"outcome": "error", "message": "the command stopped without an outcome"}

    def finish(self, outcome: str, *, case_id: str | None = None, before: str | None = None,
               after: str | None = None, message: str | None = None) -> None:
        self.values = {"outcome": outcome, "before": before, "after": after, "message": message}
        if case_id is not None:
            self.values["case_id"] = case_id


def audited(engine, work, *, user: str, role: str | None, action: str, case_id: str | None = None,
            remote_addr: str | None = None):
    """Run ``work(entry)`` with its audit row written in the same step; ``work``'s answer.

    The row is inserted first (if that fails, ``work`` never runs and the error goes up);
    ``work`` calls ``entry.finish(...)``; whatever it raises is recorded (``refused`` etc. as
    the work finished it, else ``error`` with the exception's class) and raised again after
    the row is committed."""
    entry, failure, result = Entry(), None, None
    table = schema.audit_log
    with engine.begin() as c:
        row = _row(user=user, role=role, action=action, outcome="error", case_id=case_id, remote_addr=remote_addr,
                   message=entry.values["message"])
        row_id = c.execute(insert(table).values(**row)).inserted_primary_key[0]
        try:
            result = work(entry)
        except BaseException as exc:  # noqa: BLE001 - recorded below, then raised again
            failure = exc
            if entry.values["outcome"] == "error":
                entry.values["message"] = f"{exc.__class__.__name__}: {exc}"
        final = _row(user=user, role=role, action=action, remote_addr=remote_addr,
                     **{"case_id": case_id, **entry.values})
        c.execute(update(table).where(table.c.id == row_id).values(
            {k: final[k] for k in ("case_id", "before", "after", "outcome", "message")}))
    if failure is not None:
        raise failure
    return result


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
