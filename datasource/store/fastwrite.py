"""The worker's reads and writes on its hot path, straight through the DBAPI driver.

The projector hands over one :class:`Changes` per batch; a writer turns it into the
fewest statements its database can take: ``executemany`` on SQLite, COPY on PostgreSQL.
Only what changed is written — the new events, new cases in full, and for a known case
the columns an event changed (SQLite: one statement per set of changed columns;
PostgreSQL: one statement for all, see :meth:`PgWriter._update_cases`), the live count
deltas and the day flow.  The SQL is plain and fixed (table and column names
from :mod:`datasource.store.schema`), so SQLAlchemy's per-row parameter processing, which
dominated the worker's profile, is skipped.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from operator import itemgetter

import orjson

from sqlalchemy.dialects import postgresql

from datasource.store import partitions, schema

UTC = timezone.utc
CASE_COLUMNS = tuple(c.name.encode().decode() for c in schema.cases.columns)   # plain str (orjson's keys)
CASE_TIME_COLUMNS = frozenset(c.name for c in schema.cases.columns if isinstance(c.type, schema.UTCDateTime))
EVENT_COLUMNS = ("event_id", "stream_id", "case_id", "type", "at", "actor", "body")
DEAD_COLUMNS = ("stream_id", "event_id", "reason", "fields", "recorded_at")
STATE_KEY = "stream"    # the position of the single stream; partition p's is "stream:pNN"


def position_name(stream) -> str:
    """The ``projection_state`` row of a stream: ``stream`` for the single stream, ``stream:p07``
    for partition 7 of a partitioned one (:mod:`datasource.redis.partitions`)."""
    return STATE_KEY if stream.index is None else f"{STATE_KEY}:p{stream.index:02d}"


@dataclass
class Changes:
    """Everything one batch writes (besides nothing: a batch of re-deliveries writes nothing)."""

    position: str                                                   # last stream id of the batch
    events: list[tuple] = field(default_factory=list)               # EVENT_COLUMNS, ``at`` aware
    new_cases: list[dict] = field(default_factory=list)             # full rows
    updates: dict[tuple, list[dict]] = field(default_factory=dict)   # changed columns → the rows (in full)
    counts: dict = field(default_factory=dict)                      # (scope, key, stage) → delta
    flow: Counter = field(default_factory=Counter)                  # (local date, type) → events
    dead: list[tuple] = field(default_factory=list)                 # DEAD_COLUMNS, ``recorded_at`` aware


class _TimeTexts(dict):
    """UTC instant → its SQLite text, and None → None: a hit is one dict look-up in C (the
    writer maps it over a row's times), a miss computes the text (:meth:`__missing__`)."""

    def __missing__(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored")
        if value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        text = value.isoformat(" ")[:-6]
        if len(text) == 19:
            text += ".000000"
        if len(self) > 200_000:
            self.clear()
        self[value] = text
        return text


_TEXTS = _TimeTexts()
_text_of = _TEXTS.__getitem__


def sqlite_time(value: datetime | None) -> str | None:
    """SQLAlchemy's SQLite DATETIME text for the UTC instant (always with microseconds,
    so that text order is time order).  Memoised: a batch writes the same instants in
    several columns and tables."""
    return _text_of(value)


def _columns(names) -> str:
    return ", ".join(f'"{n}"' for n in names)


_CASE_VALUES = itemgetter(*CASE_COLUMNS)
_PLAIN_COLUMNS = tuple(n for n in CASE_COLUMNS if n not in CASE_TIME_COLUMNS)
_TIME_COLUMNS = tuple(n for n in CASE_COLUMNS if n in CASE_TIME_COLUMNS)
_PLAIN_VALUES, _TIME_VALUES = itemgetter(*_PLAIN_COLUMNS), itemgetter(*_TIME_COLUMNS)
_SQLITE_INSERT_CASE = (f"INSERT INTO cases ({_columns(_PLAIN_COLUMNS + _TIME_COLUMNS)}) "
                       f"VALUES ({', '.join('?' * len(CASE_COLUMNS))})")
_UPDATES: dict[tuple, tuple] = {}


def _getter(names: tuple):
    """A function giving the values of columns ``names`` of a row as a tuple (one C call
    for two names or more)."""
    if len(names) > 1:
        return itemgetter(*names)
    if names:
        return lambda row, name=names[0]: (row[name],)
    return lambda row: ()


def _sqlite_update(names: tuple) -> tuple:
    """(UPDATE of the columns ``names``, plain columns first then times; getter of the
    plain values; getter of the times) — made once per set of columns."""
    plan = _UPDATES.get(names)
    if plan is None:
        if len(_UPDATES) > 1000:   # a few dozen sets occur; bounded whatever the stream
            _UPDATES.clear()
        plain = tuple(n for n in names if n not in CASE_TIME_COLUMNS)
        times = tuple(n for n in names if n in CASE_TIME_COLUMNS)
        sets = ", ".join(f'"{n}" = ?' for n in plain + times)
        plan = _UPDATES[names] = (f"UPDATE cases SET {sets} WHERE case_id = ?", _getter(plain), _getter(times))
    return plan


def _raw(connection):
    return connection.connection.dbapi_connection


class SqliteWriter:
    """``executemany`` per statement; times as UTC text, dates as ISO text."""

    placeholder = "?"

    def __init__(self, position: str = STATE_KEY):
        self.position_name = position
        self.position_sql = "SELECT last_stream_id FROM projection_state WHERE name = ?"

    def read_position(self, connection) -> str | None:
        row = _raw(connection).execute(self.position_sql, (self.position_name,)).fetchone()
        return row[0] if row else None

    def write(self, connection, changes: Changes) -> None:
        raw = _raw(connection)
        t = _text_of
        if changes.events:
            raw.executemany(f"INSERT INTO case_events ({_columns(EVENT_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            [(e[0], e[1], e[2], e[3], t(e[4]), e[5], e[6]) for e in changes.events])
        # A row's columns in two runs, times last: two C calls fetch its values and the
        # times become text through one C look-up each.
        if changes.new_cases:
            plain, times = _PLAIN_VALUES, _TIME_VALUES
            raw.executemany(_SQLITE_INSERT_CASE, [(*plain(row), *map(t, times(row))) for row in changes.new_cases])
        for names, rows in changes.updates.items():
            sql, plain, times = _sqlite_update(names)
            raw.executemany(sql, [(*plain(row), *map(t, times(row)), row["case_id"]) for row in rows])
        if changes.counts:
            ordered = sorted(changes.counts.items())
            raw.executemany("INSERT INTO live_counts (scope, key, stage, n) VALUES (?, ?, ?, ?) ON CONFLICT "
                            "(scope, key, stage) DO UPDATE SET n = live_counts.n + excluded.n",
                            [(s, k, st, n) for (s, k, st), n in ordered])
            raw.executemany("DELETE FROM live_counts WHERE scope = ? AND key = ? AND stage = ? AND n = 0",
                            [(s, k, st) for (s, k, st), n in ordered if n < 0])
        if changes.flow:
            raw.executemany("INSERT INTO daily_flow (day, type, n) VALUES (?, ?, ?) ON CONFLICT (day, type) "
                            "DO UPDATE SET n = daily_flow.n + excluded.n",
                            [(d.isoformat(), k, n) for (d, k), n in sorted(changes.flow.items())])
        if changes.dead:
            raw.executemany(f"INSERT INTO dead_letters ({_columns(DEAD_COLUMNS)}) VALUES (?, ?, ?, ?, ?) "
                            "ON CONFLICT (stream_id) DO NOTHING", [(*d[:4], t(d[4])) for d in changes.dead])
        raw.execute("INSERT INTO projection_state (name, last_stream_id) VALUES (?, ?) ON CONFLICT (name) "
                    "DO UPDATE SET last_stream_id = excluded.last_stream_id", (self.position_name, changes.position))


class PgWriter:
    """COPY for new rows (one round trip for thousands); changed rows (as JSON) and count
    deltas (as arrays) in one set-based statement each — the planner then expects few
    rows and joins through the primary key, where a temporary table made it scan the
    whole ``cases`` table.  The position row is read FOR UPDATE, so
    concurrent workers take turns."""

    def __init__(self, position: str = STATE_KEY):
        self.position_name = position
        self.case_types = {c.name: c.type.compile(dialect=postgresql.dialect()) for c in schema.cases.columns}
        self.months: set = set()        # the months whose partitions are known to exist

    def _update_cases(self, cursor, updates: dict[tuple, list[dict]]) -> None:
        """The changed rows in one statement: every column any of them changed, for each
        row its current value (a column a row did not change is set to the value it holds).
        The rows travel as one JSON text (orjson, in C) that ``json_to_recordset`` reads:
        one statement planned once, where one per set of changed columns (thirty a batch)
        with an array per column cost most of the batch on both sides of the connection."""
        changed = set().union(*updates)
        names = tuple(n for n in CASE_COLUMNS if n in changed)
        rows = [row for group in updates.values() for row in group]
        values = _getter(names)
        payload = orjson.dumps([dict(zip(names, values(row)), case_id=row["case_id"]) for row in rows])
        sets = ", ".join(f'"{n}" = u."{n}"' for n in names)
        record = ", ".join(f'"{n}" {self.case_types[n]}' for n in (*names, "case_id"))
        cursor.execute(f"UPDATE cases AS c SET {sets} FROM json_to_recordset(%s::json) AS u({record}) "
                       f"WHERE c.case_id = u.case_id", (payload.decode(),))

    def read_position(self, connection) -> str | None:
        with _raw(connection).cursor() as cursor:
            cursor.execute("SELECT last_stream_id FROM projection_state WHERE name = %s FOR UPDATE", (self.position_name,))
            row = cursor.fetchone()
        return row[0] if row else None

    def write(self, connection, changes: Changes) -> None:
        if changes.events:      # the batch's months and the next ones: made before an event needs them
            months = partitions.months_of_instants(e[4] for e in changes.events)
            months.update(partitions.months_between(max(months), partitions.next_month(max(months), partitions.AHEAD)))
            partitions.ensure(connection, months, self.months)
        with _raw(connection).cursor() as cursor:
            if changes.events:
                with cursor.copy(f"COPY case_events ({_columns(EVENT_COLUMNS)}) FROM STDIN") as copy:
                    for row in changes.events:
                        copy.write_row(row)
            if changes.new_cases:
                with cursor.copy(f"COPY cases ({_columns(CASE_COLUMNS)}) FROM STDIN") as copy:
                    for row in changes.new_cases:
                        copy.write_row(_CASE_VALUES(row))
            if changes.updates:
                self._update_cases(cursor, changes.updates)
            if changes.counts:   # [scope, key, stage, delta] rows as one JSON text (orjson: in C)
                ordered = sorted(changes.counts.items())
                cursor.execute("INSERT INTO live_counts (scope, key, stage, n) SELECT d->>0, d->>1, d->>2, "
                               "(d->>3)::integer FROM json_array_elements(%s::json) AS d "
                               "ON CONFLICT (scope, key, stage) DO UPDATE SET n = live_counts.n + EXCLUDED.n",
                               (orjson.dumps([(*k, n) for k, n in ordered]).decode(),))
                emptied = [k for k, n in ordered if n < 0]
                if emptied:
                    cursor.execute("DELETE FROM live_counts AS l USING json_array_elements(%s::json) AS d "
                                   "WHERE l.scope = d->>0 AND l.key = d->>1 AND l.stage = d->>2 AND l.n = 0",
                                   (orjson.dumps(emptied).decode(),))
            if changes.flow:
                cursor.executemany("INSERT INTO daily_flow (day, type, n) VALUES (%s, %s, %s) ON CONFLICT (day, type) "
                                   "DO UPDATE SET n = daily_flow.n + EXCLUDED.n",
                                   [(d, k, n) for (d, k), n in sorted(changes.flow.items())])
            if changes.dead:
                cursor.executemany(f"INSERT INTO dead_letters ({_columns(DEAD_COLUMNS)}) VALUES (%s, %s, %s, %s, %s) "
                                   "ON CONFLICT (stream_id) DO NOTHING", changes.dead)
            cursor.execute("INSERT INTO projection_state (name, last_stream_id) VALUES (%s, %s) ON CONFLICT (name) "
                           "DO UPDATE SET last_stream_id = EXCLUDED.last_stream_id", (self.position_name, changes.position))


def writer_for(dialect_name: str, position: str = STATE_KEY):
    """The writer of a dialect, keeping the database's position in stream ``position``."""
    return PgWriter(position) if dialect_name == "postgresql" else SqliteWriter(position)
