"""The audit log as people read it: every value and message in the page's language, local
(Beijing) times, pages of rows, and the spreadsheet an administrator downloads.

The log itself keeps codes (``handle``, ``refused``, ``dispatched``) and, for a refusal,
the English sentence the command answered with (:mod:`datasource.services.audit` is a
record, written once).  Reading it, this module turns codes into names and translates
each recorded sentence back through the message catalogue: the English template that
produced it is found, its values are translated where they are themselves catalogue
texts (a stage, an action), and the Chinese template is filled with them.  A sentence no
template made (a decline's free text) is shown as it was written.
"""
from __future__ import annotations

import csv
import io
import math
import re
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache

from dashboard.i18n import CATALOGUE, t
from datasource.services import audit

PAGE_SIZE = 50
#: message families a command's refusal is rendered from, and the families of their values
TEMPLATE_PREFIXES = ("cmd.", "api.", "report.", "eval.")
VALUE_PREFIXES = ("stage.", "action.", "event.", "cmd.no_stage", "source.")
TRANSLATED_VALUES = ("stage", "needed", "verb", "action", "field", "choices")
SUMMARY = re.compile(r"^(?P<event>[a-z_]+)(?: department=(?P<department>\S+))?(?: deadline=(?P<deadline>\S+))?$")
#: columns of the administrator's CSV: (row key, header key)
CSV_COLUMNS = (("id", "admin.csv.id"), ("at", "admin.csv.at"), ("user_name", "admin.user"), ("role", "admin.role"),
               ("action", "admin.action"), ("case_id", "admin.case"), ("remote_addr", "admin.from"),
               ("before", "admin.csv.before"), ("after", "admin.csv.after"), ("outcome", "admin.outcome"),
               ("message", "admin.message"))
BOM = "\ufeff"


@lru_cache(maxsize=1)
def _templates() -> list[tuple[re.Pattern, str]]:
    """(regex of an English message template, its key), longest templates first."""
    out = []
    for key, texts in CATALOGUE.items():
        if not key.startswith(TEMPLATE_PREFIXES):
            continue
        english = texts[1]
        parts = re.split(r"\{(\w+)\}", english)
        pattern, seen = "", set()
        for i, part in enumerate(parts):
            if i % 2 == 0:
                pattern += re.escape(part)
            elif part in seen:
                pattern += f"(?P={part})"
            else:
                seen.add(part)
                pattern += f"(?P<{part}>.+?)"
        out.append((re.compile(f"^{pattern}$", re.S), key))
    out.sort(key=lambda item: -len(CATALOGUE[item[1]][1]))
    return out


@lru_cache(maxsize=1)
def _values() -> dict[str, str]:
    """English catalogue text (lower case) → key, for the values inside messages."""
    out: dict[str, str] = {}
    for key, texts in CATALOGUE.items():
        if key.startswith(VALUE_PREFIXES):
            out.setdefault(texts[1].lower(), key)
    return out


def _value(text: str, lang: str) -> str:
    """A value inside a message in ``lang``: catalogue texts translated, lists item by item."""
    if " / " in text:
        return " / ".join(_value(part, lang) for part in text.split(" / "))
    key = _values().get(text.strip().lower())
    return t(key, lang) if key else text


def _placeholder(name: str, value: str, lang: str, departments: dict) -> str:
    """A message's value in ``lang``: names for role and department codes, catalogue texts
    (stages, actions, verbs) translated, anything else (ids, times, user text) as it is."""
    if name == "role":
        return _name("role.", value, lang)
    if name == "department" and value in departments:
        return _department(departments, value, lang)
    if name in TRANSLATED_VALUES:
        return _value(value, lang)
    return value


def _department(departments: dict, code: str, lang: str) -> str:
    department = departments.get(code)
    if department is None:
        return code
    return department.name_en if lang == "en" else department.name_zh


def translate_message(text: str | None, lang: str, departments: dict | None = None) -> str:
    """A recorded English message in ``lang`` (unchanged when no template made it)."""
    if not text or lang == "en":
        return text or ""
    for pattern, key in _templates():
        match = pattern.match(text)
        if match:
            values = {name: _placeholder(name, value, lang, departments or {})
                      for name, value in match.groupdict().items()}
            try:
                return t(key, lang, **values)
            except (KeyError, IndexError, ValueError):
                return text
    return text


def _name(key: str, code: str | None, lang: str) -> str:
    """The catalogue name of ``code`` under ``key`` (the code itself when there is none)."""
    if not code:
        return ""
    full = f"{key}{code}"
    return t(full, lang) if full in CATALOGUE else code


def describe(row: dict, lang: str, tz, departments: dict | None = None) -> dict:
    """One audit row as shown: local time, names instead of codes, the message translated."""
    departments = departments or {}
    message = row.get("message") or ""
    summary = SUMMARY.match(message) if row.get("outcome") == "ok" else None
    if summary and f"audit.event.{summary['event']}" in CATALOGUE:
        parts = [t(f"audit.event.{summary['event']}", lang)]
        if summary["department"]:
            parts.append(t("audit.department", lang, name=_department(departments, summary["department"], lang)))
        if summary["deadline"]:
            parts.append(t("audit.deadline", lang, at=local_time(summary["deadline"], tz)))
        message = "，".join(parts) if lang == "zh" else ", ".join(parts)
    else:
        message = translate_message(message, lang, departments)
    before, after = _name("stage.", row.get("before"), lang), _name("stage.", row.get("after"), lang)
    return {"id": row.get("id"), "at": local_time(row.get("at"), tz), "user_name": row.get("user_name") or "",
            "role": _name("role.", row.get("role"), lang), "action": _action(row.get("action"), lang),
            "action_code": row.get("action") or "", "case_id": row.get("case_id") or "",
            "remote_addr": row.get("remote_addr") or "", "before": before, "after": after,
            "change": f"{before or '—'} → {after or '—'}" if (before or after) else "",
            "outcome": _name("audit.outcome.", row.get("outcome"), lang), "outcome_code": row.get("outcome") or "",
            "message": message}


def _action(code: str | None, lang: str) -> str:
    if not code:
        return ""
    for key in (f"action.{code}", f"audit.action.{code}"):
        if key in CATALOGUE:
            return t(key, lang)
    return code


def local_time(value, tz) -> str:
    """An instant (datetime, or ISO text) as local wall time ``YYYY-MM-DD HH:MM:SS``."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:   # SQLite hands back naive UTC
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def day_bounds(first: date | None, last: date | None, tz) -> dict:
    """``since``/``until`` (aware UTC) of the local days ``first`` … ``last`` (inclusive)."""
    out = {}
    if first is not None:
        out["since"] = datetime.combine(first, time(0), tz).astimezone(timezone.utc)
    if last is not None:
        out["until"] = datetime.combine(last + timedelta(days=1), time(0), tz).astimezone(timezone.utc)
    return out


def page(engine, lang: str, tz, departments: dict | None = None, number: int = 1, size: int = PAGE_SIZE,
         **filters) -> dict:
    """One page of the filtered log, newest first: ``{rows, total, page, pages}`` (``page``
    clamped to what exists; the database does the paging)."""
    total = audit.count(engine, **filters)
    pages = max(1, math.ceil(total / size))
    number = min(max(1, int(number or 1)), pages)
    rows = audit.query(engine, limit=size, offset=(number - 1) * size, **filters) if total else []
    return {"rows": [describe(r, lang, tz, departments) for r in rows], "total": total, "page": number, "pages": pages}


def report_csv(rows: list[dict], lang: str, tz, departments: dict | None = None) -> str:
    """The administrator's download: a UTF-8 BOM (so Excel reads the Chinese), local times,
    headers and values in ``lang``; cells a spreadsheet would run as formulas are quoted."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow([t(header, lang) for _, header in CSV_COLUMNS])
    for row in rows:
        shown = describe(row, lang, tz, departments)
        writer.writerow([audit._cell(shown.get(column)) for column, _ in CSV_COLUMNS])
    return out.getvalue()


__all__ = ["translate_message", "describe", "page", "report_csv", "day_bounds", "local_time", "PAGE_SIZE"]
