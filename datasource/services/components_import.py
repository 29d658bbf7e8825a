"""The census import (部件普查): a CSV or GeoJSON export of components into the ``components`` table.

Every row is accounted for: it is imported (new), replaces a component (``replace=True``), or
is skipped with one reason — and ``rows == imported + replaced + skipped``.  Skipped rows go
to a CSV file with their original fields and the reason, so they can be fixed and imported
again.  The mapping says which of the file's columns (GeoJSON: properties) holds which field;
GeoJSON positions come from the Point geometry unless lon/lat are mapped.

Reasons: ``bad_code`` (not a GB/T 30428.2 code), ``unknown_kind`` (its class is not one of
the scenario's component categories), ``kind_mismatch`` (a kind column disagreeing with the
code), ``bad_position`` (lon/lat missing or not numbers), ``outside_grids`` (in no unit
grid), ``unknown_department`` (neither a department code nor a department's name),
``bad_status``, ``bad_date``, ``duplicate_in_file``, ``exists`` (already in the inventory).
"""
from __future__ import annotations

import csv
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import select, update

from dashboard.domain.components import InvalidComponentCode, parse_code
from datasource.services.components import C, insert_rows

FIELDS = ("code", "kind", "name", "lon", "lat", "owner_department", "title_department", "maintainer_department",
          "status", "installed_on")
REQUIRED = ("code",)
STATUS_WORDS = {"in_service": "in_service", "完好": "in_service", "正常": "in_service", "": "in_service",
                "damaged": "damaged", "损坏": "damaged", "破损": "damaged", "丢失": "damaged",
                "removed": "removed", "拆除": "removed", "已拆除": "removed"}
REASONS = ("bad_code", "unknown_kind", "kind_mismatch", "bad_position", "outside_grids", "unknown_department",
           "bad_status", "bad_date", "duplicate_in_file", "exists")


class CensusError(ValueError):
    """The file or the mapping cannot be read at all (one line)."""


@dataclass
class ImportSummary:
    rows: int = 0
    imported: int = 0
    replaced: int = 0
    skipped: Counter = field(default_factory=Counter)
    skipped_file: str | None = None

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def as_dict(self) -> dict:
        return {"rows": self.rows, "imported": self.imported, "replaced": self.replaced,
                "skipped": self.skipped_total, "skipped_by_reason": dict(sorted(self.skipped.items())),
                "skipped_file": self.skipped_file}


def parse_mapping(text: str | None) -> dict[str, str]:
    """``field=column,field=column`` (or a JSON object, or a JSON file) → {field: column}.
    Fields not mapped are read from a column of the same name."""
    if not text:
        return {}
    if text.strip().startswith("{") or text.endswith(".json"):
        try:
            raw = json.loads(Path(text).read_text(encoding="utf-8") if text.endswith(".json") else text)
        except (OSError, ValueError) as exc:
            raise CensusError(f"mapping {text[:60]!r} is not readable JSON ({exc})") from None
        pairs = raw.items() if isinstance(raw, dict) else []
    else:
        pairs = []
        for part in text.split(","):
            name, sep, column = part.partition("=")
            if not sep or not name.strip() or not column.strip():
                raise CensusError(f"mapping part {part!r} is not field=column")
            pairs.append((name.strip(), column.strip()))
    mapping = {}
    for name, column in pairs:
        if name not in FIELDS:
            raise CensusError(f"unknown field {name!r} in the mapping (fields: {', '.join(FIELDS)})")
        mapping[name] = str(column)
    return mapping


def read_records(path: Path) -> tuple[list[dict], list[str]]:
    """The file's rows as dicts of text (GeoJSON: properties plus ``__lon``/``__lat`` of the
    point), and the column names for the skipped-rows file."""
    path = Path(path)
    if not path.exists():
        raise CensusError(f"{path} does not exist")
    if path.suffix.lower() in (".geojson", ".json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
            features = data["features"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CensusError(f"{path} is not a GeoJSON FeatureCollection ({exc})") from None
        records, columns = [], []
        for feature in features:
            props = dict((feature or {}).get("properties") or {})
            geometry = (feature or {}).get("geometry") or {}
            coords = geometry.get("coordinates") if geometry.get("type") == "Point" else None
            if isinstance(coords, list) and len(coords) >= 2:
                props["__lon"], props["__lat"] = coords[0], coords[1]
            records.append({k: "" if v is None else str(v) for k, v in props.items()})
            columns += [k for k in props if k not in columns]
        return records, columns
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            records = [{k: (v or "") for k, v in r.items() if k is not None} for r in reader]
            return records, list(reader.fieldnames or [])
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CensusError(f"{path} is not a UTF-8 CSV file ({exc})") from None


class CensusImport:
    """Checks each record against the scenario (codes, kinds, grids, departments) and writes."""

    def __init__(self, system):
        self.system = system
        self.scenario = system.scenario
        self.departments = {code: code for code in self.scenario.departments}
        for d in self.scenario.departments.values():
            self.departments.setdefault(d.name_zh, d.code)
            self.departments.setdefault(d.name_en, d.code)

    def _value(self, record: dict, mapping: dict, name: str) -> str:
        return str(record.get(mapping.get(name, name), "") or "").strip()

    def check(self, record: dict, mapping: dict) -> tuple[dict | None, str | None]:
        """(the row to write, None) or (None, the reason it is skipped); position not located yet."""
        text = self._value(record, mapping, "code")
        try:
            code = parse_code(text)
        except InvalidComponentCode:
            return None, "bad_code"
        kind = code.kind
        category = self.scenario.categories.get(kind)
        if category is None or category.kind != "component":
            return None, "unknown_kind"
        given = self._value(record, mapping, "kind")
        if given and given not in (kind, kind[1:]):
            return None, "kind_mismatch"
        try:
            lon = float(record.get(mapping.get("lon", "lon")) or record.get("__lon") or "x")
            lat = float(record.get(mapping.get("lat", "lat")) or record.get("__lat") or "x")
        except (TypeError, ValueError):
            return None, "bad_position"
        if not (math.isfinite(lon) and math.isfinite(lat)):
            return None, "bad_position"
        departments = {}
        for name in ("owner_department", "title_department", "maintainer_department"):
            value = self._value(record, mapping, name)
            if value and value not in self.departments:
                return None, "unknown_department"
            departments[name] = self.departments.get(value) if value else None
        status = STATUS_WORDS.get(self._value(record, mapping, "status"))
        if status is None:
            return None, "bad_status"
        installed = self._value(record, mapping, "installed_on")
        if installed:
            try:
                installed = date.fromisoformat(installed[:10].replace("/", "-")).isoformat()
            except ValueError:
                return None, "bad_date"
        return {"code": str(code), "kind": kind, "name": self._value(record, mapping, "name")[:128] or None,
                "lon": round(lon, 6), "lat": round(lat, 6), **departments, "status": status,
                "installed_on": installed or None}, None

    def run(self, path: Path, mapping: dict, skipped_path: Path | None = None, replace: bool = False) -> ImportSummary:
        records, columns = read_records(path)
        summary = ImportSummary(rows=len(records))
        good: list[tuple[int, dict]] = []
        skipped: list[tuple[dict, str]] = []
        seen: set[str] = set()
        for i, record in enumerate(records):
            row, reason = self.check(record, mapping)
            if row is not None and row["code"] in seen:
                row, reason = None, "duplicate_in_file"
            if row is None:
                skipped.append((record, reason))
                continue
            seen.add(row["code"])
            good.append((i, row))
        places = self.system.locator.locate_many([(r["lon"], r["lat"]) for _, r in good])
        located = []
        for (i, row), place in zip(good, places):
            if place is None:
                skipped.append((records[i], "outside_grids"))
                continue
            grid, community, street = place
            routing = self.scenario.department_for(row["kind"], street)
            row.update(grid_code=grid, community_code=community, street_code=street,
                       owner_department=row["owner_department"] or routing,
                       title_department=row["title_department"] or row["owner_department"] or routing,
                       maintainer_department=row["maintainer_department"] or row["owner_department"] or routing)
            located.append((i, row))
        with self.system.engine.connect() as c:
            existing = set()
            codes = [r["code"] for _, r in located]
            for start in range(0, len(codes), 500):
                existing |= set(c.execute(select(C.c.code).where(C.c.code.in_(codes[start:start + 500]))).scalars())
        now = self.system.now()
        new, changed = [], []
        for i, row in located:
            if row["code"] in existing:
                if replace:
                    changed.append(row)
                else:
                    skipped.append((records[i], "exists"))
                continue
            new.append(row)
        order = ("code", "kind", "name", "lon", "lat", "grid_code", "community_code", "street_code",
                 "owner_department", "title_department", "maintainer_department", "status", "installed_on")
        summary.imported = insert_rows(self.system.engine, [(*[r[k] for k in order], "import") for r in new], now)
        if changed:
            with self.system.engine.begin() as c:
                for r in changed:
                    values = {k: r[k] for k in order if k != "code"}
                    values["installed_on"] = date.fromisoformat(r["installed_on"]) if r["installed_on"] else None
                    c.execute(update(C).where(C.c.code == r["code"]).values(**values, origin="import", updated_at=now))
            summary.replaced = len(changed)
        summary.skipped = Counter(reason for _, reason in skipped)
        if skipped:
            target = skipped_path or Path(str(path) + ".skipped.csv")
            with Path(target).open("w", encoding="utf-8-sig", newline="") as f:
                writer = csv.writer(f)
                shown = [c for c in columns] + (["__lon", "__lat"] if any("__lon" in r for r, _ in skipped) else [])
                writer.writerow([*shown, "reason"])
                for record, reason in skipped:
                    writer.writerow([record.get(c, "") for c in shown] + [reason])
            summary.skipped_file = str(target)
        return summary
