"""Bulk writes on the worker's hot path, compiled once to the driver's SQL.

SQLAlchemy Core statements are built as usual (so the SQL stays dialect-correct), then
compiled once; rows are converted to driver values here (UTC text for SQLite,
aware datetimes for psycopg) and sent with the DBAPI's ``executemany``.  This skips
SQLAlchemy's per-row parameter processing, which dominated the worker's profile.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Table

UTC = timezone.utc


def _sqlite_time(value: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME text for the UTC instant (always with microseconds,
    so that text order is time order)."""
    text = value.astimezone(UTC).isoformat(" ")[:-6]
    return text if len(text) > 19 else text + ".000000"


class CompiledWrite:
    """One INSERT/UPSERT statement compiled for ``dialect`` with its column order."""

    def __init__(self, statement, table: Table, dialect):
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.positional = compiled.positiontup is not None
        self.names = list(compiled.positiontup) if self.positional else list(compiled.params)
        self.sqlite = dialect.name == "sqlite"
        self.time_columns = {c.name for c in table.columns if getattr(c.type, "impl", None) is not None
                             and c.type.__class__.__name__ == "UTCDateTime"}

    def _convert(self, value):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored")
        return _sqlite_time(value) if self.sqlite else value

    def execute(self, connection, rows: list[dict]) -> None:
        if not rows:
            return
        convert = self._convert
        plan = [(n, n in self.time_columns) for n in self.names]
        if self.positional:
            params = [tuple([convert(row.get(n)) if t else row.get(n) for n, t in plan]) for row in rows]
        else:
            params = [{n: (convert(row.get(n)) if t else row.get(n)) for n, t in plan} for row in rows]
        connection.exec_driver_sql(self.sql, params)
