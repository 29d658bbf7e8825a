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


_TEXTS: dict[datetime, str] = {}


def _sqlite_time(value: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME text for the UTC instant (always with microseconds,
    so that text order is time order).  Memoised: a case's times are rewritten with
    every batch that touches it."""
    text = _TEXTS.get(value)
    if text is None:
        text = value.astimezone(UTC).isoformat(" ")[:-6]
        if len(text) == 19:
            text += ".000000"
        if len(_TEXTS) > 500_000:
            _TEXTS.clear()
        _TEXTS[value] = text
    return text


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


class PgCopyWrite:
    """PostgreSQL: rows go in with COPY (one round trip for thousands of rows).

    Plain inserts COPY straight into the table; an upsert COPYs into a temporary table
    and merges it with one ``INSERT … SELECT … ON CONFLICT DO UPDATE``."""

    def __init__(self, table: Table, conflict: list[str] | None = None):
        self.table = table
        self.columns = [c.name for c in table.columns if not (c.primary_key and c.autoincrement is True)]
        if conflict is None and table.name == "case_events":
            self.columns = [c for c in self.columns if c != "id"]
        self.conflict = conflict
        cols = ", ".join(f'"{c}"' for c in self.columns)
        if conflict:
            staging = f"_staging_{table.name}"
            updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in self.columns if c not in conflict)
            self.prepare = (f'CREATE TEMP TABLE IF NOT EXISTS {staging} '
                            f'(LIKE "{table.name}" INCLUDING DEFAULTS) ON COMMIT DELETE ROWS')
            self.copy = f"COPY {staging} ({cols}) FROM STDIN"
            self.merge = (f'INSERT INTO "{table.name}" ({cols}) SELECT {cols} FROM {staging} '
                          f'ON CONFLICT ({", ".join(conflict)}) DO UPDATE SET {updates}')
        else:
            self.prepare = self.merge = None
            self.copy = f'COPY "{table.name}" ({cols}) FROM STDIN'

    def execute(self, connection, rows: list[dict]) -> None:
        if not rows:
            return
        raw = connection.connection.dbapi_connection
        columns = self.columns
        with raw.cursor() as cursor:
            if self.prepare:
                cursor.execute(self.prepare)
            with cursor.copy(self.copy) as copy:
                for row in rows:
                    copy.write_row([row.get(c) for c in columns])
            if self.merge:
                cursor.execute(self.merge)
