"""issue 15: the history tables partitioned by month on PostgreSQL (SQLite unchanged)

``case_events`` and ``report_acts`` by the instant ``at``, ``report_acts_daily`` by the local
day number ``day`` (datasource/store/partitions.py makes the months).  Each table is rebuilt
with its rows kept: renamed aside, a partitioned table of the same columns made under the
old name (its bigserial sequence handed over), one partition per month of the data up to
two months ahead plus a default partition, the rows copied, the indexes made again, the old
table dropped.  A partitioned table's unique keys must hold the partition key, so:

- ``case_events``: primary key ``(id, at)``, unique ``(event_id, at)`` plus an index on
  ``event_id`` (the worker's duplicate check looks events up by ``event_id`` alone, and
  tells a re-delivery from a reused id by the content — ``datasource/follower/projector.py``);
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

#: table → (primary key before, after; unique constraints before, after)
KEYS = {
    "case_events": (("id",), ("id", "at"), {"case_events_event_id_key": (("event_id",), ("event_id", "at"))}),
    "report_acts": (("event_id",), ("event_id", "at"), {}),
    "report_acts_daily": (("id",), ("id", "day"), {}),
}
EXTRA_INDEX = ("ix_case_events_event_id", "case_events", "event_id")   # lookups by event_id alone


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
    for name, (plain, with_key) in uniques.items():
        _sql(f"ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE ({', '.join(with_key if partitioned else plain)})")
    for name, definition in indexes:
        if name != EXTRA_INDEX[0]:
            _sql(definition.replace(" ON ONLY ", " ON "))   # a partitioned index's definition says ONLY
    if table == EXTRA_INDEX[1] and partitioned:
        _sql(f"CREATE INDEX {EXTRA_INDEX[0]} ON {table} ({EXTRA_INDEX[2]})")


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


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in KEYS:
        _rebuild(table, partitioned=False)
