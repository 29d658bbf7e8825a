"""The mapping file: which source column holds which field, in which time zone and datum.

A TOML file (``docs/import.md``)::

    source = "sf311"                      # namespace of the source's ids (default: file name)
    timezone = "America/Los_Angeles"      # zone of naive timestamps in the file
    crs = "WGS84"                         # or "GCJ02"
    date_formats = ["%m/%d/%Y %I:%M:%S %p"]   # optional, tried after ISO 8601 and the defaults
    [columns]
    id = "unique_key"                     # required
    opened = "created_date"               # required
    due = "due_date"                      # optional: the deadline
    closed = "closed_date"                # optional
    department = "agency_name"
    category = "complaint_type"           # required
    status = "status"
    lat = "latitude"                      # required
    lon = "longitude"                     # required
    description = "descriptor"            # optional
    address = "incident_address"          # optional
    note = "status_notes"                 # optional: the handling note of a closed case
    [status]
    closed = ["Closed"]                   # source values meaning closed; anything else is open
    [limits]                              # the deadline when a row has no due date:
    hours = 72                            #   calendar hours after opening, for every category,
    [limits.category]                     #   or per category (source value → hours)
    "Graffiti" = 48

Shipped mappings live in ``mappings/`` beside this module; ``--mapping sf311`` finds them by name.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SHIPPED = Path(__file__).resolve().parent / "mappings"
FIELDS = ("id", "opened", "due", "closed", "department", "category", "status", "lat", "lon", "description",
          "address", "note")
REQUIRED = ("id", "opened", "category", "lat", "lon")
CRS = {"WGS84": "WGS-84", "WGS-84": "WGS-84", "GCJ02": "GCJ-02", "GCJ-02": "GCJ-02"}
TOP_KEYS = {"source", "timezone", "crs", "date_formats", "columns", "status", "limits"}
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
MAX_HOURS = 24 * 730   # a deadline lies at most two years after the dispatch (the stream's rule)


class MappingError(ValueError):
    """The mapping cannot be used (one line, naming the file and the key)."""


@dataclass(frozen=True)
class Mapping:
    source: str
    timezone: ZoneInfo
    crs: str                                  # "WGS-84" or "GCJ-02"
    columns: dict[str, str]                   # field → source column
    closed_values: frozenset[str] = frozenset()
    date_formats: tuple[str, ...] = ()
    hours: float | None = None                # default handling limit, calendar hours
    hours_by_category: dict[str, float] = field(default_factory=dict)
    path: Path | None = None

    def column(self, name: str) -> str | None:
        return self.columns.get(name)

    def check_header(self, header: list[str]) -> None:
        """MappingError unless every mapped column is in the file's header."""
        present = set(header)
        missing = [f"{name}={column!r}" for name, column in self.columns.items() if column not in present]
        if missing:
            raise MappingError(f"the file has no column {', '.join(missing)} named by the mapping "
                               f"(its columns: {', '.join(header[:30])})")

    def limit_hours(self, category: str) -> float | None:
        return self.hours_by_category.get(category, self.hours)


def shipped_names() -> list[str]:
    return sorted(p.stem for p in SHIPPED.glob("*.toml"))


def resolve(spec: str | Path) -> Path:
    """A mapping file: a path, or the name of a shipped mapping (``sf311``)."""
    path = Path(spec)
    if path.is_file():
        return path
    if _NAME.match(str(spec)) and (SHIPPED / f"{spec}.toml").is_file():
        return SHIPPED / f"{spec}.toml"
    raise MappingError(f"no mapping file {str(spec)!r} (a TOML file, or one of the shipped mappings: "
                       f"{', '.join(shipped_names())})")


def load(spec: str | Path) -> Mapping:
    """Read and check a mapping; MappingError (one line) when it cannot be used."""
    path = resolve(spec)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path}: not a valid TOML file ({exc})") from None
    return parse(data, path)


def parse(data: dict, path: Path | None = None) -> Mapping:
    where = str(path) if path else "mapping"
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise MappingError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(TOP_KEYS))})")
    source = str(data.get("source") or (path.stem if path else "import"))
    if not _NAME.match(source):
        raise MappingError(f"{where}: source {source!r} must be 1–40 letters, digits, '-' or '_'")
    zone = data.get("timezone")
    if not isinstance(zone, str):
        raise MappingError(f"{where}: timezone is missing (e.g. \"America/Los_Angeles\")")
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise MappingError(f"{where}: unknown timezone {zone!r}") from None
    crs = CRS.get(str(data.get("crs", "WGS84")).upper())
    if crs is None:
        raise MappingError(f"{where}: crs must be WGS84 or GCJ02, got {data.get('crs')!r}")
    columns = data.get("columns")
    if not isinstance(columns, dict):
        raise MappingError(f"{where}: the [columns] table is missing")
    bad = [k for k in columns if k not in FIELDS]
    if bad:
        raise MappingError(f"{where}: unknown field(s) in [columns]: {', '.join(bad)} (known: {', '.join(FIELDS)})")
    missing = [k for k in REQUIRED if not columns.get(k)]
    if missing:
        raise MappingError(f"{where}: [columns] must name {', '.join(missing)}")
    if any(not isinstance(v, str) or not v for v in columns.values()):
        raise MappingError(f"{where}: every [columns] value is a column name (text)")
    status = data.get("status", {})
    if not isinstance(status, dict) or set(status) - {"closed"}:
        raise MappingError(f"{where}: [status] takes only closed = [values meaning closed]")
    closed = status.get("closed", [])
    if not isinstance(closed, list) or not all(isinstance(v, str) for v in closed):
        raise MappingError(f"{where}: [status] closed must be a list of texts")
    if "status" in columns and not closed:
        raise MappingError(f"{where}: a status column needs [status] closed = [values meaning closed]")
    formats = data.get("date_formats", [])
    if not isinstance(formats, list) or not all(isinstance(f, str) and "%" in f for f in formats):
        raise MappingError(f"{where}: date_formats must be a list of strptime formats like \"%m/%d/%Y %H:%M\"")
    limits = data.get("limits", {})
    if not isinstance(limits, dict) or set(limits) - {"hours", "category"}:
        raise MappingError(f"{where}: [limits] takes hours = N and a [limits.category] table")
    hours = _hours(limits.get("hours"), where, "limits.hours")
    by_category = limits.get("category", {})
    if not isinstance(by_category, dict):
        raise MappingError(f"{where}: [limits.category] maps category values to hours")
    return Mapping(source, tz, crs, dict(columns), frozenset(closed), tuple(formats), hours,
                   {str(k): _hours(v, where, f"limits.category.{k}") for k, v in by_category.items()}, path)


def _hours(value, where: str, key: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_HOURS:
        raise MappingError(f"{where}: {key} must be a number of hours in (0, {MAX_HOURS}]")
    return float(value)
