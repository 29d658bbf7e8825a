"""The reporting database: engine, migrations (Alembic) and the reference tables.

SQLite (the embedded default) gets WAL journaling so the web pages read while the worker
writes; PostgreSQL is reached through psycopg 3 (``postgresql+psycopg://``).
"""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, event, func, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ArgumentError
from sqlalchemy.exc import NoSuchModuleError

from dashboard.domain.scenario import Scenario
from datasource.store import partitions, schema

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class DatabaseUnavailable(Exception):
    """The database cannot be reached or the URL is wrong (one-line message)."""


def make_engine(url: str, **options) -> Engine:
    """An engine for ``url``; a plain ``postgresql://`` URL uses psycopg 3."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(url, **options)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise DatabaseUnavailable(f"bad database URL {url!r}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Random event ids make index inserts random: a 128 MB page cache (instead of 2 MB)
    # keeps the indexes of months of history in memory.
    cursor.execute("PRAGMA cache_size=-131072")
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.close()


def check(engine: Engine) -> None:
    """Open one connection now, so a wrong URL fails with a clear message at start-up."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseUnavailable(f"cannot reach the database {engine.url.render_as_string()} ({reason})") from None


def alembic_config(engine: Engine):
    from alembic.config import Config
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    from alembic import command
    check(engine)
    command.upgrade(alembic_config(engine), "head")


def load_reference(engine: Engine, scenario: Scenario) -> dict:
    """Fill the reference tables (streets, communities, grids, departments, categories) once."""
    with engine.begin() as connection:
        if connection.execute(select(func.count()).select_from(schema.grids)).scalar():
            return {"loaded": False}
        streets_area: dict[str, int] = {}
        community_rows, grid_rows = [], []
        for feature in scenario.communities_geojson["features"]:
            p = feature["properties"]
            streets_area[p["street_code"]] = streets_area.get(p["street_code"], 0) + int(p["area_m2"])
            community_rows.append({"code": p["code"], "street_code": p["street_code"], "name": p["name"],
                                   "area_m2": int(p["area_m2"])})
        for feature in scenario.grids_geojson["features"]:
            p = feature["properties"]
            grid_rows.append({"code": p["code"], "street_code": p["street_code"],
                              "community_code": p["community_code"], "area_m2": int(p["area_m2"]),
                              "geometry": json.dumps(feature["geometry"], separators=(",", ":"))})
        connection.execute(insert(schema.streets), [
            {"code": code, "name": name, "area_m2": streets_area.get(code)} for code, name in scenario.streets.items()])
        connection.execute(insert(schema.communities), community_rows)
        connection.execute(insert(schema.grids), grid_rows)
        connection.execute(insert(schema.departments), [
            {"code": d.code, "name": d.name_zh, "name_en": d.name_en, "kind": d.kind}
            for d in scenario.departments.values()])
        connection.execute(insert(schema.categories), [
            {"code": c.code, "kind": c.kind, "name": c.name_zh, "name_en": c.name_en}
            for c in scenario.categories.values()])
    return {"loaded": True, "grids": len(grid_rows), "communities": len(community_rows)}


def prepare(engine: Engine, scenario: Scenario) -> None:
    """Migrate, make the coming months' partitions (PostgreSQL) and load the reference
    tables: what every process does at start."""
    migrate(engine)
    partitions.maintain(engine)
    load_reference(engine, scenario)
