"""issue 15: the history tables partitioned by month on PostgreSQL (SQLite unchanged)

``case_events`` and ``report_acts`` by the instant ``at``, ``report_acts_daily`` by the local
day number ``day`` (datasource/store/partitions.py makes the months).  Each table is rebuilt
with its rows kept: renamed aside, a partitioned table of the same columns made under the
old name (its bigserial sequence handed over), one partition per month of the data up to
two months ahead plus a default partition, the rows copied, the indexes made again, the old
table dropped.  A partitioned table's unique keys must hold the partition key, so:

- ``case_events``: primary key ``(id, at)``; ``event_id`` stays unique over the whole history
  through the plain table ``case_event_ids`` (``event_id`` primary key, ``at``), kept by
  statement-level triggers on ``case_events`` (insert, delete, truncate) — the worker's
  duplicate check looks ids up there (``partitions.event_lookup_sql``);
- ``report_acts``: primary key ``(event_id, at)`` (an act's ``at`` is its event's);
- ``report_acts_daily``: primary key ``(id, day)``.

The copy takes about as long as a ``VACUUM FULL`` of the tables: schedule it.

Revision ID: 0004_partitions
Revises: 0004_inspector_rollup
Create Date: 2026-11-30 09:30:00
"""
from datetime import datetime, timezone

from alembic import op

from datasource.store import partitions

revision = '0004_partitions'
down_revision = '0004_inspector_rollup'
branch_labels = None
depends_on = None

#: table → (primary key before, after; unique constraints of the plain table)
KEYS = {
    "case_events": (("id",), ("id", "at"), {"case_events_event_id_key": ("event_id",)}),
    "report_acts": (("event_id",), ("event_id", "at"), {}),
    "report_acts_daily": (("id",), ("id", "day"), {}),
}
REGISTRY = partitions.REGISTRY
TRIGGERS = {   # name → (event, transition table, body)
    "case_event_ids_insert": ("INSERT", "REFERENCING NEW TABLE AS added",
                              f"INSERT INTO {REGISTRY} (event_id, at) SELECT event_id, at FROM added"),
    "case_event_ids_delete": ("DELETE", "REFERENCING OLD TABLE AS removed",
                              f"DELETE FROM {REGISTRY} i USING removed r WHERE i.event_id = r.event_id"),
    "case_event_ids_truncate": ("TRUNCATE", "", f"TRUNCATE {REGISTRY}"),
}


def _sql(statement: str):
    return op.get_bind().exec_driver_sql(statement)


def _rebuild(table: str, partitioned: bool) -> None:
    old = f"{table}_unpartitioned" if partitioned else f"{table}_partitioned"
    before, after, uniques = KEYS[table]
    primary = after if partitioned else before
    indexes = _sql(f"SELECT indexname, indexdef FROM pg_indexes WHERE tablename = '{table}' AND indexname NOT IN "
                   f"(SELECT conname FROM pg_constraint WHERE conrelid = '{table}'::regclass)").all()
    sequence = _sql(f"SELECT pg_get_serial_sequence('{table}', '{primary[0]}')").scalar()
    _sql(f"ALTER TABLE {table} RENAME TO {old}")
    for name, _ in indexes:
        _sql(f'DROP INDEX "{name}"')
    for name in _sql(f"SELECT conname FROM pg_constraint WHERE conrelid = '{old}'::regclass "
                     f"AND contype IN ('p', 'u')").scalars().all():
        _sql(f'ALTER TABLE {old} DROP CONSTRAINT "{name}"')
    key = partitions.TABLES[table][0]
    tail = f" PARTITION BY RANGE ({key})" if partitioned else ""
    _sql(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING COMMENTS){tail}")
    if sequence:
        _sql(f"ALTER SEQUENCE {sequence} OWNED BY {table}.{primary[0]}")
    if partitioned:
        _sql(f"CREATE TABLE {partitions.default_name(table)} PARTITION OF {table} DEFAULT")
        _partitions_for(table, old)
    _sql(f"INSERT INTO {table} SELECT * FROM {old}")
    _sql(f"DROP TABLE {old}")
    _sql(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY ({', '.join(primary)})")
    if not partitioned:
        for name, columns in uniques.items():
            _sql(f"ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE ({', '.join(columns)})")
    for name, definition in indexes:
        _sql(definition.replace(" ON ONLY ", " ON "))   # a partitioned index's definition says ONLY


def _registry() -> None:
    """``event_id`` unique over every month: the registry, filled, and its triggers."""
    _sql(f"CREATE TABLE {REGISTRY} (event_id varchar(64) PRIMARY KEY, at timestamptz NOT NULL)")
    _sql(f"COMMENT ON TABLE {REGISTRY} IS 'every case_events.event_id (unique over all months) and its at: "
         f"kept by triggers on case_events (migration 0004_partitions)'")
    _sql(f"INSERT INTO {REGISTRY} (event_id, at) SELECT event_id, at FROM case_events")
    for name, (event, transition, body) in TRIGGERS.items():
        _sql(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
             f"$$ BEGIN {body}; RETURN NULL; END $$")
        _sql(f"CREATE TRIGGER {name} AFTER {event} ON case_events {transition} FOR EACH STATEMENT "
             f"EXECUTE FUNCTION {name}()")


def _drop_registry() -> None:
    for name in TRIGGERS:
        _sql(f"DROP TRIGGER IF EXISTS {name} ON case_events")
        _sql(f"DROP FUNCTION IF EXISTS {name}()")
    _sql(f"DROP TABLE IF EXISTS {REGISTRY}")


def _partitions_for(table: str, source: str) -> None:
    """One partition per month of the rows in ``source``, up to AHEAD months after now."""
    key, kind = partitions.TABLES[table]
    now = partitions.month_of(datetime.now(timezone.utc))
    if kind == "day":
        lo, hi = _sql(f"SELECT date '1970-01-01' + min({key}), date '1970-01-01' + max({key}) FROM {source}").one()
    else:
        lo, hi = _sql(f"SELECT min({key}) AT TIME ZONE 'UTC', max({key}) AT TIME ZONE 'UTC' FROM {source}").one()
    first = min(partitions.month_of(lo), now) if lo else now
    last = max(partitions.month_of(hi), now) if hi else now
    for month in partitions.months_between(first, partitions.next_month(last, partitions.AHEAD)):
        lo_, hi_ = partitions.bounds(table, month)
        _sql(f"CREATE TABLE {partitions.partition_name(table, month)} PARTITION OF {table} "
             f"FOR VALUES FROM ({lo_}) TO ({hi_})")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in KEYS:
        _rebuild(table, partitioned=True)
    _registry()


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _drop_registry()
    for table in KEYS:
        _rebuild(table, partitioned=False)
