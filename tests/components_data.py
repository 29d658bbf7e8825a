"""City components for tests: the committed inventory read once per session, and a helper that
loads a few of its components (or all of them) into a test database.

Test databases start without the inventory (``components_autoload=False`` in the fixtures:
168,339 rows per database would cost seconds each); a component test loads what it needs."""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache

from dashboard.domain.scenario import DEFAULT_SCENARIO

STAMP = datetime(2026, 11, 1, tzinfo=timezone.utc)


@lru_cache(maxsize=1)
def inventory() -> tuple[tuple, ...]:
    """Every committed component as a table row (see ``datasource.services.components.COLUMNS``)."""
    from datasource.services.components import read_inventory
    return tuple(read_inventory(DEFAULT_SCENARIO / "components.csv.gz"))


def by_code(code: str) -> tuple:
    return next(r for r in inventory() if r[0] == code)


def pick(kind: str, maintainer: str | None = None, not_maintainer: str | None = None, n: int = 1) -> list[tuple]:
    """``n`` committed components of ``kind`` (with or without a given maintainer), in code order."""
    found = [r for r in inventory() if r[1] == kind and (maintainer is None or r[10] == maintainer)
             and (not_maintainer is None or r[10] != not_maintainer)]
    return found[:n]


def load(engine, rows) -> int:
    """Insert ``rows`` (inventory rows) into the components table."""
    from datasource.services.components import insert_rows
    return insert_rows(engine, list(rows), STAMP)


def as_dict(row: tuple) -> dict:
    from datasource.services.components import COLUMNS
    return dict(zip(COLUMNS, row))


def seed_component(system) -> str:
    """One street lamp in the test database (for the API's document-driven tests); its code."""
    lamp = pick("C0118")[0]
    load(system.engine, [lamp])
    return lamp[0]
