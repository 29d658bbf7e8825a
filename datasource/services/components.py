"""City components (城市部件): loading the inventory, and the questions pages and the API ask.

``load_inventory`` fills the ``components`` table from the scenario's ``components.csv.gz``
once (an empty table at start-up; PostgreSQL through ``COPY``, SQLite through the driver's
``executemany`` — 168,339 rows in about a second either way).  :class:`ComponentQueries`
answers with plain dicts: one component and its cases, components in a box, the nearest of a
kind, the repeat offenders of a period.
"""
from __future__ import annotations

import csv
import gzip
import io
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import and_, func, select

from dashboard.domain.components import is_component_code
from dashboard.domain.scenario import Scenario
from datasource.services.command_types import CommandRefused, Msg
from datasource.services.scoping import scoped
from datasource.store import schema
from datasource.store.fastwrite import sqlite_time
from datasource.tools.componentgen import FILE_NAME, GENERATED_AT as GENERATED_TEXT

GENERATED_AT = datetime.fromisoformat(GENERATED_TEXT).astimezone(timezone.utc)   # the committed file's date
COLUMNS = ("code", "kind", "name", "lon", "lat", "grid_code", "community_code", "street_code", "owner_department",
           "title_department", "maintainer_department", "status", "installed_on", "origin", "updated_at")
PUBLIC = ("code", "kind", "name", "lon", "lat", "grid_code", "community_code", "street_code", "owner_department",
          "title_department", "maintainer_department", "status", "installed_on", "origin")
C = schema.components
MAX_BOX = 5000


def inventory_path(scenario: Scenario) -> Path:
    return scenario.root / FILE_NAME


def read_inventory(path: Path) -> list[tuple]:
    """The committed file as table rows (COLUMNS order; community and street from the grid code)."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        at = {name: i for i, name in enumerate(header)}
        rows = []
        for r in reader:
            grid = r[at["grid_code"]]
            rows.append((r[at["code"]], r[at["kind"]], r[at["name"]] or None, float(r[at["lon"]]),
                         float(r[at["lat"]]), grid, grid[:12], grid[:9], r[at["owner_department"]] or None,
                         r[at["title_department"]] or None, r[at["maintainer_department"]] or None,
                         r[at["status"]], r[at["installed_on"]] or None, r[at["origin"]] or None))
    return rows


def insert_rows(engine, rows: list[tuple], updated_at: datetime) -> int:
    """Bulk-insert component rows (COLUMNS order without ``updated_at``); the count."""
    if not rows:
        return 0
    with engine.begin() as connection:
        raw = connection.connection.dbapi_connection
        names = ", ".join(f'"{n}"' for n in COLUMNS)
        if engine.dialect.name == "postgresql":
            with raw.cursor() as cursor:
                with cursor.copy(f"COPY components ({names}) FROM STDIN") as copy:
                    for r in rows:
                        copy.write_row((*r[:12], date.fromisoformat(r[12]) if r[12] else None, r[13], updated_at))
        else:
            stamp = sqlite_time(updated_at)
            raw.executemany(f"INSERT INTO components ({names}) VALUES ({', '.join('?' * len(COLUMNS))})",
                            [(*r, stamp) for r in rows])
    return len(rows)


def load_inventory(engine, scenario: Scenario) -> dict:
    """Fill ``components`` from the scenario's inventory once (nothing if already filled or no file)."""
    path = inventory_path(scenario)
    with engine.connect() as connection:
        if connection.execute(select(C.c.code).limit(1)).first() is not None:
            return {"loaded": False}
    if not path.exists():
        return {"loaded": False, "file": None}
    return {"loaded": True, "components": insert_rows(engine, read_inventory(path), GENERATED_AT)}


def named_component(system, code) -> dict | None:
    """The component a report names (None when it names none); a refusal (400) for a text that
    is not a component code or a code the inventory does not hold."""
    if code is None or code == "":
        return None
    if not isinstance(code, str) or not is_component_code(code):
        raise CommandRefused(400, Msg("components.bad_code", code=str(code)[:40]))
    found = ComponentQueries(system).get(code)
    if found is None:
        raise CommandRefused(400, Msg("components.unknown", code=code))
    return found


def _public(row) -> dict:
    d = dict(zip(PUBLIC, row))
    if isinstance(d.get("installed_on"), date):
        d["installed_on"] = d["installed_on"].isoformat()
    return d


class ComponentQueries:
    """Read-only questions about components (plain dicts; the engine comes from the system)."""

    def __init__(self, system):
        self.system = system
        self.scenario = system.scenario

    @property
    def engine(self):
        return self.system.engine

    def get(self, code: str) -> dict | None:
        """One component, or None (also for a text that is not a component code)."""
        if not is_component_code(code):
            return None
        with self.engine.connect() as c:
            row = c.execute(select(*[C.c[n] for n in PUBLIC]).where(C.c.code == code)).first()
        return _public(row) if row else None

    def cases_of(self, code: str, limit: int = 500) -> list[dict]:
        """Every case that named the component, newest first."""
        cases = schema.cases
        names = ("case_id", "stage", "category_code", "department_code", "reported_at", "closed_at", "description",
                 "handled_on_time", "source")
        with self.engine.connect() as c:
            rows = c.execute(select(*[cases.c[n] for n in names]).where(cases.c.component_code == code)
                             .order_by(cases.c.reported_at.desc()).limit(limit)).all()
        return [dict(zip(names, r)) for r in rows]

    def in_box(self, west: float, south: float, east: float, north: float, kinds: tuple[str, ...] = (),
               limit: int = MAX_BOX, scope: str | None = None) -> tuple[list[dict], int]:
        """Components inside the box (of ``kinds`` if given): up to ``limit`` rows, and the total."""
        where = and_(C.c.lon >= west, C.c.lon <= east, C.c.lat >= south, C.c.lat <= north)
        if kinds:
            where = and_(where, C.c.kind.in_(kinds))
        with self.engine.connect() as c:
            total = c.execute(scoped(select(func.count()).select_from(C).where(where), C, scope)).scalar() or 0
            rows = c.execute(scoped(select(*[C.c[n] for n in PUBLIC]).where(where), C, scope)
                             .order_by(C.c.code).limit(limit)).all()
        return [_public(r) for r in rows], int(total)

    def nearest(self, kind: str, lon: float, lat: float, radius_m: float = 60.0) -> dict | None:
        """The component of ``kind`` nearest to (lon, lat) within ``radius_m``, or None."""
        dlat = radius_m / 111_000.0
        dlon = radius_m / 85_000.0
        rows, _ = self.in_box(lon - dlon, lat - dlat, lon + dlon, lat + dlat, (kind,), limit=2000)
        best = min(rows, key=lambda r: ((r["lon"] - lon) * 85_000) ** 2 + ((r["lat"] - lat) * 111_000) ** 2,
                   default=None)
        return best

    def counts(self) -> dict[str, int]:
        """Components per kind."""
        with self.engine.connect() as c:
            return dict(c.execute(select(C.c.kind, func.count()).group_by(C.c.kind)).all())

    def repeat_offenders(self, since: datetime | None = None, until: datetime | None = None,
                         scope: str | None = None, limit: int = 20) -> list[dict]:
        """The components with the most cases reported in [``since``, ``until``) (default: the
        last 90 days), at least two each, with kind, street and maintainer: the lamp that fails
        every month."""
        cases = schema.cases
        until = until or self.system.now() + timedelta(seconds=1)
        since = since or until - timedelta(days=90)
        n = func.count().label("n")
        statement = (select(cases.c.component_code, n, func.max(cases.c.reported_at))
                     .where(cases.c.component_code.is_not(None), cases.c.reported_at >= since,
                            cases.c.reported_at < until)
                     .group_by(cases.c.component_code).having(func.count() >= 2)
                     .order_by(n.desc(), cases.c.component_code).limit(limit))
        with self.engine.connect() as c:
            found = c.execute(scoped(statement, cases, scope)).all()
            codes = [r[0] for r in found]
            details = {r[0]: r for r in c.execute(select(C.c.code, C.c.kind, C.c.name, C.c.street_code,
                                                         C.c.maintainer_department).where(C.c.code.in_(codes)))}
        out = []
        for code, count, last in found:
            d = details.get(code)
            out.append({"code": code, "cases": int(count), "last_reported_at": last,
                        "kind": d[1] if d else code and f"C{code[6:10]}", "name": d[2] if d else None,
                        "street_code": d[3] if d else None, "maintainer_department": d[4] if d else None})
        return out
