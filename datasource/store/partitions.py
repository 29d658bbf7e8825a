"""Monthly partitions of the history tables on PostgreSQL (issue 15; migration 0004_partitions).

``case_events`` and the acts' roll-ups ``report_acts`` (by the instant ``at``) and
``report_acts_daily`` (by the local day number ``day``) are declaratively partitioned by
month: a 30-day report reads one or two months' partitions instead of years of history, and
an old month can be detached or dropped in one statement.  SQLite is unchanged.

Partitions are made by the product itself, not by ``pg_partman``:

* ahead of time — :func:`maintain`, run by every process at start (``database.prepare``),
  makes this month and the next :data:`AHEAD` months;
* on demand — the worker's writer calls :func:`ensure` with the months of a batch's events
  before its COPY (a set lookup once the month is known), so a backfill of an old month or
  a worker that runs across a month's end never meets a missing partition;
* a ``DEFAULT`` partition per table catches any row written by another path (bulk loads,
  tools); :func:`ensure` moves a month's rows out of it into the new month's partition, in
  the same transaction, so the default partition stays empty in normal operation.

Why not ``pg_partman``: its partitions are made by a maintenance job run on a schedule
(``run_maintenance``), and rows of a month it has not premade land in the default
partition until someone moves them; the worker must make its months on demand anyway.
The whole of what the product needs is the short code below, with no extension to install
on the database server (many managed PostgreSQL offerings restrict extensions).

Two processes making the same month are kept apart by a transaction-level advisory lock;
``CREATE TABLE … PARTITION OF`` locks the parent table briefly, once per month.

**Event ids stay unique across months.**  A unique key of a partitioned table must hold its
partition key, so ``event_id`` alone could only be unique per month.  The plain table
:data:`REGISTRY` (``event_id`` primary key, ``at``) is kept by statement-level triggers on
``case_events`` (insert, delete, truncate — whatever path writes the events) and enforces
it for the whole history, as the old unique index did; the worker's duplicate check looks
event ids up there (:func:`event_lookup_sql`) — one index, however many months — and reads
the found events from their one partition.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from datasource.store.locks import xact_lock

UTC = timezone.utc
AHEAD = 2                       # months made ahead of the current one
LOCK_KEY = 910_015              # pg_advisory_xact_lock key of partition making
EPOCH = date(1970, 1, 1)
#: table → (partition key, kind of key): "instant" (timestamptz, UTC month bounds) or
#: "day" (local day number, the local month's first and next first day).
TABLES = {"case_events": ("at", "instant"), "report_acts": ("at", "instant"), "report_acts_daily": ("day", "day")}
#: Instants within this of a month's end also make the neighbouring month (an act's local
#: day may fall in the next or previous month of its UTC instant).
MARGIN = timedelta(hours=14)
_DAY = timedelta(days=1)

REGISTRY = "case_event_ids"
Month = tuple[int, int]


def month_of(value: datetime | date) -> Month:
    return value.year, value.month


def next_month(month: Month, n: int = 1) -> Month:
    index = month[0] * 12 + month[1] - 1 + n
    return index // 12, index % 12 + 1


def months_between(first: Month, last: Month) -> list[Month]:
    out, month = [], first
    while month <= last:
        out.append(month)
        month = next_month(month)
    return out


def months_of_instants(instants) -> set[Month]:
    """The months a batch of instants needs (each instant's UTC month and its neighbours'
    within :data:`MARGIN`)."""
    months: set[Month] = set()
    for at in instants:
        months.add((at.year, at.month))
        if 1 < at.day < 28 and MARGIN < _DAY:   # MARGIN either side stays in the month (the worker's
            continue                            # every event passes here)
        for shifted in (at - MARGIN, at + MARGIN):
            months.add((shifted.year, shifted.month))
    return months


def partition_name(table: str, month: Month) -> str:
    return f"{table}_p{month[0]:04d}_{month[1]:02d}"


def default_name(table: str) -> str:
    return f"{table}_default"


def bounds(table: str, month: Month) -> tuple[str, str]:
    """The partition's FROM and TO literals."""
    end = next_month(month)
    if TABLES[table][1] == "day":
        return (str((date(*month, 1) - EPOCH).days), str((date(*end, 1) - EPOCH).days))
    return (f"'{month[0]:04d}-{month[1]:02d}-01 00:00:00+00'", f"'{end[0]:04d}-{end[1]:02d}-01 00:00:00+00'")


def _range_condition(table: str, month: Month) -> str:
    key = TABLES[table][0]
    lo, hi = bounds(table, month)
    return f"{key} >= {lo} AND {key} < {hi}"


def is_partitioned(connection, table: str = "case_events") -> bool:
    if connection.dialect.name != "postgresql":
        return False
    kind = connection.exec_driver_sql(
        "SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass(%(t)s)", {"t": table}).scalar()
    return kind == "p"


def existing(connection) -> dict[str, set[Month]]:
    """The monthly partitions each partitioned table has, from the catalog."""
    rows = connection.exec_driver_sql(
        "SELECT p.relname, c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname IN ('case_events', 'report_acts', "
        "'report_acts_daily')").all()
    out: dict[str, set[Month]] = {t: set() for t in TABLES}
    for parent, child in rows:
        suffix = child[len(parent) + 2:]
        if child.startswith(parent + "_p") and len(suffix) == 7 and suffix[4] == "_":
            out[parent].add((int(suffix[:4]), int(suffix[5:])))
    return out


def event_lookup_sql(connection, columns: str) -> str:
    """SELECT ``columns`` (of ``case_events``) of the events whose ids are in the array
    parameter: through the registry when the table is partitioned."""
    if is_partitioned(connection):
        listed = ", ".join(f"e.{c.strip()}" for c in columns.split(","))
        return (f"SELECT {listed} FROM {REGISTRY} i JOIN case_events e ON e.event_id = i.event_id "
                f"AND e.at = i.at WHERE i.event_id = ANY(%s)")
    return f"SELECT {columns} FROM case_events WHERE event_id = ANY(%s)"


def ensure(connection, months, known: set[Month] | None = None) -> list[Month]:
    """Make every table's partition of each month in ``months`` (in the caller's transaction),
    moving that month's rows out of the default partition; the months made.  ``known`` is
    the caller's cache of months that exist (updated)."""
    wanted = set(months) - (known if known is not None else set())
    if not wanted or not is_partitioned(connection):
        if known is not None:
            known.update(wanted)
        return []
    xact_lock(connection, LOCK_KEY)
    have = existing(connection)
    made = []
    for month in sorted(wanted):
        missing = [t for t in TABLES if month not in have[t]]
        for table in missing:
            _make(connection, table, month)
        if missing:
            made.append(month)
    if known is not None:
        known.update(wanted)
    return made


def _make(connection, table: str, month: Month) -> None:
    """One month's partition of ``table``; the default partition's rows of that month move in."""
    lo, hi = bounds(table, month)
    name = partition_name(table, month)
    moving = f"moving_{name}"
    connection.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {moving} ON COMMIT DROP AS WITH d AS (DELETE FROM {default_name(table)} "
        f"WHERE {_range_condition(table, month)} RETURNING *) SELECT * FROM d")
    connection.exec_driver_sql(f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES FROM ({lo}) TO ({hi})")
    if table == "case_events":     # registered when they came in; the insert below registers them again
        connection.exec_driver_sql(f"DELETE FROM {REGISTRY} WHERE event_id IN (SELECT event_id FROM {moving})")
    connection.exec_driver_sql(f"INSERT INTO {table} SELECT * FROM {moving}")
    connection.exec_driver_sql(f"DROP TABLE {moving}")


def months_in_default(connection) -> set[Month]:
    """The months of the rows that landed in a default partition (bulk loads)."""
    months: set[Month] = set()
    for table, (key, kind) in TABLES.items():
        if kind == "day":
            rows = connection.exec_driver_sql(
                f"SELECT DISTINCT date '1970-01-01' + {key} FROM {default_name(table)}").scalars()
        else:
            rows = connection.exec_driver_sql(
                f"SELECT DISTINCT date_trunc('month', {key} AT TIME ZONE 'UTC') FROM {default_name(table)}").scalars()
        months.update(month_of(r) for r in rows)
    return months


def maintain(engine, today: date | None = None) -> list[Month]:
    """Make this month and the next :data:`AHEAD` months, and move any rows out of the
    default partitions (PostgreSQL; nothing on SQLite or before the migration)."""
    if engine.dialect.name != "postgresql":
        return []
    today = today or datetime.now(UTC).date()
    with engine.begin() as connection:
        if not is_partitioned(connection):
            return []
        months = set(months_between(month_of(today), next_month(month_of(today), AHEAD)))
        months |= months_in_default(connection)
        return ensure(connection, months)
