"""One chunk of records → the rows to import and the rows skipped, each with its reason.

Every record ends in exactly one of the two lists.  The checks, in order (the first that
fails names the reason; the keys are those of :data:`REASONS`):

``malformed`` the CSV record has the wrong number of fields or cannot be parsed ·
``missing_id`` · ``bad_text`` a mapped field holds a NUL character or bytes that are not
UTF-8 (the rule of :mod:`dashboard.domain.inputs`) · ``bad_date`` the opening time is blank
or unreadable, or a closing/due time is unreadable · ``closed_without_date`` the status says
closed but there is no closing time · ``closed_before_opened`` · ``in_future`` ·
``bad_due`` the due time is not after the opening, or more than two years after it ·
``missing_position`` blank coordinates (or 0,0) · ``bad_position`` not numbers, or off the
globe · ``outside_grids`` in no unit grid of the scenario · ``missing_category`` ·
``missing_department`` (blank, and the scenario routes the category nowhere) ·
``duplicate_id`` the id was already imported from an earlier line of this file (the first
*valid* line wins).

Free text (description, address, note) is cleaned by :func:`dashboard.domain.inputs.clean_text`
(control characters, line ends, NFC) and cut to the product's limits.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from dashboard.domain.crs import wgs84_to_gcj02
from dashboard.domain.inputs import DESCRIPTION_MAX, LAT_RANGE, LON_RANGE, TEXT_MAX, clean_text, storable_problem
from datasource.importer import times
from datasource.importer.sources import Chunk

REASONS = ("malformed", "missing_id", "bad_text", "bad_date", "closed_without_date", "closed_before_opened",
           "in_future", "bad_due", "missing_position", "bad_position", "outside_grids", "missing_category",
           "missing_department", "duplicate_id", "already_imported", "refused")
MAX_DUE = timedelta(days=730)
ID_MAX = 200


@dataclass
class Skip:
    line: int
    reason: str
    detail: str
    record: list[str]


@dataclass
class Valid:
    """The rows to import, column by column (all lists of one length)."""

    lines: list[int] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    opened: pd.Series | None = None          # UTC instants
    closed: pd.Series | None = None          # UTC instants, NaT while open
    due: pd.Series | None = None             # UTC instants, NaT: the scenario's limits
    category: list[str] = field(default_factory=list)
    department: list[str] = field(default_factory=list)
    lon: list[float] = field(default_factory=list)
    lat: list[float] = field(default_factory=list)
    description: list[str] = field(default_factory=list)
    note: list[str] = field(default_factory=list)
    address: list[str] = field(default_factory=list)
    records: list[list[str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)


class Checker:
    """Checks chunk after chunk of one file (it remembers the ids seen)."""

    def __init__(self, mapping, header: list[str], scenario, locator, reference, now: datetime):
        self.mapping, self.scenario, self.locator, self.reference = mapping, scenario, locator, reference
        self.now = pd.Timestamp(now).tz_convert("UTC")
        self.index = {name: header.index(column) for name, column in mapping.columns.items()}
        self.seen: dict[str, int] = {}

    def check(self, chunk: Chunk) -> tuple[Valid, list[Skip]]:
        skips = [Skip(line, "malformed", why, record) for line, record, why in chunk.malformed]
        n = len(chunk.records)
        if not n:
            return Valid(), skips
        records, lines = chunk.records, chunk.lines
        col = {name: [r[i] for r in records] for name, i in self.index.items()}
        reason = np.full(n, None, dtype=object)
        detail = np.full(n, "", dtype=object)

        def refuse(mask, key: str, why) -> None:
            mask = np.asarray(mask, dtype=bool) & (reason == None)  # noqa: E711 - elementwise
            for i in np.flatnonzero(mask):
                reason[i], detail[i] = key, why(i) if callable(why) else why

        ids = [v.strip() for v in col["id"]]
        refuse([not v or len(v) > ID_MAX for v in ids], "missing_id",
               lambda i: "blank" if not ids[i] else f"longer than {ID_MAX} characters")
        for name, values in col.items():
            joined = "\x1f".join(values)
            if joined.isascii() and "\x00" not in joined:   # the usual column: nothing to look at
                continue
            problems = [storable_problem(v) for v in values]
            refuse([p is not None for p in problems], "bad_text",
                   lambda i, name=name, problems=problems: f"{self.mapping.columns[name]}: "
                   + ("not valid UTF-8" if "surrogate" in problems[i] else problems[i]))
        opened, closed, due = self._times(col, reason, refuse)
        lon, lat = self._position(col, refuse)
        places = self._locate(lon, lat, reason, refuse)
        names, values = self._departments(col, places, reason, refuse)
        ok = np.flatnonzero(reason == None)  # noqa: E711
        keep = []
        for i in ok.tolist():   # duplicates among the valid rows: the first valid line wins
            first = self.seen.get(ids[i])
            if first is not None:
                reason[i], detail[i] = "duplicate_id", f"id {ids[i][:40]} was imported from line {first}"
            else:
                self.seen[ids[i]] = lines[i]
                keep.append(i)
        for i in np.flatnonzero(reason != None):  # noqa: E711
            skips.append(Skip(lines[i], reason[i], detail[i], records[i]))
        category, department = self._codes(keep, names, values)
        valid = self._valid(keep, col, ids, lines, records, opened, closed, due, lon, lat, category, department)
        return valid, skips

    # ------------------------------------------------------------------ steps
    def _times(self, col, reason, refuse):
        m, tz = self.mapping, self.mapping.timezone
        opened, blank = times.parse(pd.Series(col["opened"]), tz, m.date_formats)
        refuse(blank, "bad_date", f"{m.columns['opened']}: blank")
        refuse(opened.isna().to_numpy(), "bad_date", lambda i: f"{m.columns['opened']}: {col['opened'][i][:40]!r} "
               "is not a date in 2000…2099")
        n = len(opened)
        if "closed" in col:
            closed, closed_blank = times.parse(pd.Series(col["closed"]), tz, m.date_formats)
        else:
            closed, closed_blank = pd.Series(pd.NaT, index=opened.index, dtype=opened.dtype), np.ones(n, bool)
        if "status" in col:
            is_closed = np.array([v.strip() in m.closed_values for v in col["status"]], dtype=bool)
            refuse(is_closed & closed_blank, "closed_without_date",
                   f"{m.columns['status']} says closed, {m.columns.get('closed', 'no closing column')} is blank")
        else:
            is_closed = ~closed_blank
        refuse(is_closed & closed.isna().to_numpy(), "bad_date",
               lambda i: f"{m.columns['closed']}: {col['closed'][i][:40]!r} is not a date in 2000…2099")
        closed = closed.where(is_closed)
        refuse((closed < opened).to_numpy(), "closed_before_opened",
               lambda i: f"closed {closed.iloc[i].isoformat()} before opened {opened.iloc[i].isoformat()}")
        refuse(((opened > self.now) | (closed > self.now)).to_numpy(), "in_future", "after the time of the import")
        if "due" in col:
            due, due_blank = times.parse(pd.Series(col["due"]), tz, m.date_formats)
            refuse(~due_blank & due.isna().to_numpy(), "bad_due",
                   lambda i: f"{m.columns['due']}: {col['due'][i][:40]!r} is not a date in 2000…2099")
            refuse(((due <= opened) | (due > opened + MAX_DUE)).to_numpy(), "bad_due",
                   lambda i: f"due {due.iloc[i].isoformat()} is not within two years after opened")
        else:
            due = pd.Series(pd.NaT, index=opened.index, dtype=opened.dtype)
        return opened, closed, due

    def _position(self, col, refuse):
        raw_lon = [v.strip() for v in col["lon"]]
        raw_lat = [v.strip() for v in col["lat"]]
        refuse([not a or not b for a, b in zip(raw_lon, raw_lat)], "missing_position", "blank coordinates")
        lon = pd.to_numeric(pd.Series(raw_lon), errors="coerce").to_numpy(dtype=float, copy=True)
        lat = pd.to_numeric(pd.Series(raw_lat), errors="coerce").to_numpy(dtype=float, copy=True)
        refuse((lon == 0) & (lat == 0), "missing_position", "0,0 (no position)")
        bad = ~np.isfinite(lon) | ~np.isfinite(lat) | (lon < LON_RANGE[0]) | (lon > LON_RANGE[1]) \
            | (lat < LAT_RANGE[0]) | (lat > LAT_RANGE[1])
        refuse(bad, "bad_position", lambda i: f"{raw_lon[i][:20]!r},{raw_lat[i][:20]!r} is no longitude,latitude")
        if self.mapping.crs == "WGS-84":
            for i in np.flatnonzero(~bad).tolist():
                lon[i], lat[i] = wgs84_to_gcj02(lon[i], lat[i])
        return lon, lat

    def _locate(self, lon, lat, reason, refuse) -> list:
        todo = np.flatnonzero(reason == None)  # noqa: E711
        places: list = [None] * len(lon)
        found = self.locator.locate_many([(lon[i], lat[i]) for i in todo.tolist()])
        for i, place in zip(todo.tolist(), found):
            places[i] = place
        outside = np.zeros(len(lon), bool)
        outside[todo] = [p is None for p in found]
        refuse(outside, "outside_grids", lambda i: f"{lon[i]:.5f},{lat[i]:.5f} (GCJ-02) is in no unit grid")
        return places

    def _departments(self, col, places, reason, refuse) -> tuple[list[str], list[str]]:
        """Category and department values; rows without a category, or without a department
        the scenario could route them to, are refused (nothing is created yet)."""
        m, n = self.mapping, len(places)
        names = [" ".join(v.split()) for v in col["category"]]
        refuse([not v for v in names], "missing_category", f"{m.columns['category']}: blank")
        values = [" ".join(v.split()) for v in col["department"]] if "department" in col else [""] * n
        unrouted = np.zeros(n, bool)
        for i in np.flatnonzero(reason == None).tolist():  # noqa: E711
            if not values[i]:   # no department named: the scenario's routing of the category, if any
                code = self.reference.known_category(names[i])
                dept = self.scenario.department_for(code, places[i][2]) if code in self.scenario.routing else None
                if dept not in self.scenario.departments:
                    unrouted[i] = True
                else:
                    values[i] = dept
        refuse(unrouted, "missing_department",
               lambda i: f"{m.columns.get('department', 'no department column')}: blank, and the scenario routes "
                         f"{names[i][:40]!r} to no department")
        return names, values

    def _codes(self, keep: list[int], names: list[str], values: list[str]) -> tuple[list[str], list[str]]:
        """Codes of the rows kept (creating the departments and categories they name)."""
        ref = self.reference
        category, department = [], []
        for i in keep:
            code, dept = ref.category(names[i]), ref.department(values[i])
            ref.routed(code, dept)
            category.append(code)
            department.append(dept)
        return category, department

    def _valid(self, keep, col, ids, lines, records, opened, closed, due, lon, lat, category, department) -> Valid:
        m = self.mapping
        out = Valid(lines=[lines[i] for i in keep], ids=[ids[i] for i in keep],
                    opened=opened.iloc[keep].reset_index(drop=True), closed=closed.iloc[keep].reset_index(drop=True),
                    due=due.iloc[keep].reset_index(drop=True), category=category,
                    department=department, lon=[round(float(lon[i]), 6) for i in keep],
                    lat=[round(float(lat[i]), 6) for i in keep], records=[records[i] for i in keep])
        address = [_text(col["address"][i], "address", 500) for i in keep] if "address" in col else [""] * len(keep)
        descr = [_text(col["description"][i], "description", DESCRIPTION_MAX) for i in keep] \
            if "description" in col else [""] * len(keep)
        out.description = [(d + " · " + a if d and a else d or a)[:DESCRIPTION_MAX] for d, a in zip(descr, address)]
        out.address = address
        out.note = [_text(col["note"][i], "note", TEXT_MAX) for i in keep] if "note" in col else [""] * len(keep)
        if m.hours is not None or m.hours_by_category:   # no due date: the mapping's limit, in calendar hours
            names = [" ".join(col["category"][i].split()) for i in keep]
            hours = pd.Series([m.limit_hours(name) for name in names], dtype=float)
            default = out.opened + pd.to_timedelta(hours, unit="h")
            out.due = out.due.fillna(default.dt.floor("s"))
        return out


def _text(value: str, name: str, limit: int) -> str:
    """Free text as the product stores it, cut to ``limit`` (an export's long text is kept
    in part rather than losing the row).  Printable ASCII needs only the strip
    :func:`clean_text` would give it."""
    if value.isascii() and value.isprintable():
        return value.strip()[:limit]
    return clean_text(value[:4 * limit], name, limit=4 * limit)[:limit]


__all__ = ["Checker", "Valid", "Skip", "REASONS"]
