"""Apply stream entries to the reporting database: an exact, ordered, idempotent fold.

The reporting tables are a pure function of the stream.  The rule that makes them so:

* **Stream order, each entry once.**  ``projection_state.last_stream_id`` is the last entry
  the database has processed (one row per partition of a partitioned stream) (applied, skipped as a duplicate or dead-lettered); it is
  written in the same transaction as the entries' effects.  Entries at or before it are
  re-deliveries and are skipped without being looked at again — a re-delivered entry
  that was refused is not re-judged against a case that has moved on since.  An entry
  after it is applied only if no stream entry lies in between (``check_gap``), so two
  consumers can never interleave out of order.
* **The entry's own time.**  Validation ("is this event in the future?") measures
  against the time of the stream entry (its id), never the process clock.
* **Settled rows.**  Every column of a case is computed when its event is applied
  (:func:`dashboard.domain.projection.apply_event`), so batch boundaries cannot matter.
* **One dead letter per entry** (unique ``stream_id``), recorded at the entry's time.
* **Event ids.**  An ``event_id`` seen again with the same content is a duplicate (a
  producer's retry) and skipped; with different content it is a dead letter (conflict).

The caller acknowledges the entries only after the commit.
"""
from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from operator import itemgetter

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, DBAPIError, SQLAlchemyError

from dashboard.domain.events import CaseEvent, InvalidEvent, parse_entry, stream_time
from dashboard.domain.lifecycle import EventType, TransitionRefused
from dashboard.domain.projection import apply_event
from dashboard.domain.scenario import Scenario
from datasource.follower.casecache import CaseCache
from datasource.follower.locator import GridLocator
from datasource.redis.stream import require_checked
from datasource.store import partitions
from datasource.store.committed import writing
from datasource.store.fastwrite import CASE_COLUMNS, CASE_TIME_COLUMNS, STATE_KEY, Changes, writer_for

log = logging.getLogger("citygrid.projector")

CHUNK = 900   # stay under every driver's bound-parameter limit
UPDATABLE = tuple(c for c in CASE_COLUMNS if c != "case_id")
_UPDATABLE_VALUES = itemgetter(*UPDATABLE)      # a row's updatable values in one C call
#: the columns whose values place a case in the live counts (``_count_deltas``)
_COUNTED = itemgetter("stage", "street_code", "grid_code", "department_code")
_TYPE_TEXT = {t: t.value for t in EventType}
EVENT_COLUMNS = "event_id, stream_id, case_id, type, at, actor, body"
EVENT_SELECT = f"SELECT {EVENT_COLUMNS} FROM case_events WHERE event_id"


@dataclass
class BatchResult:
    applied: int = 0
    duplicates: int = 0          # event ids already applied (a producer's retry)
    replayed: int = 0            # entries this database had already processed (re-delivery)
    dead: list[tuple[str, str]] = field(default_factory=list)  # (stream id, reason)

    def add(self, other: "BatchResult") -> None:
        self.applied += other.applied
        self.duplicates += other.duplicates
        self.replayed += other.replayed
        self.dead.extend(other.dead)


class OutOfOrder(Exception):
    """Stream entries before this batch have not been processed yet (another consumer
    holds them, or the database was replaced): applying it now would break stream order."""


def entry_key(stream_id: str) -> tuple[int, int]:
    """A stream id as a sortable (milliseconds, sequence) pair."""
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def _raw_json(fields: dict) -> str:
    def text(value):
        if isinstance(value, bytes):
            return value.decode("utf-8", "backslashreplace")
        return str(value).encode("utf-8", "backslashreplace").decode("utf-8")
    return json.dumps({text(k): text(v) for k, v in fields.items()}, ensure_ascii=False)[:20000]


def is_poison(exc: BaseException) -> bool:
    """An error caused by an entry rather than by the database being unavailable: every
    non-database exception, and a value the database refuses (``DataError``)."""
    return isinstance(exc, DataError) or not isinstance(exc, (SQLAlchemyError, StreamUnavailable))


class StreamUnavailable(Exception):
    """Redis failed during the gap check (``__cause__`` holds its error): not the entry's fault."""


@contextmanager
def driver_errors(connection):
    """Raise the driver's own errors (the writers talk to it directly) as SQLAlchemy's,
    so that an outage is retried and a refused value is isolated like any other."""
    dbapi = connection.dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as exc:
        raise DBAPIError.instance(None, None, exc, dbapi.Error) from exc


class Projector:
    """Folds stream entries into the reporting database (used by worker and rebuild)."""

    def __init__(self, engine: Engine, scenario: Scenario, locator: GridLocator | None = None,
                 cache: CaseCache | None = None, position: str = STATE_KEY):
        """``position``: the ``projection_state`` row of the stream (partition) this projector
        folds — each partition keeps its own (:func:`position_name`)."""
        self.engine, self.scenario = engine, scenario
        self.locator = locator or GridLocator(scenario)
        self.dialect = engine.dialect.name
        self.tz = scenario.calendar.tz
        self.writer = writer_for(self.dialect, position)
        self.cache = cache if cache is not None else CaseCache()
        self._days: dict[float, object] = {}
        self._lookup: str | None = None    # PostgreSQL's duplicate look-up (partitions.event_lookup_sql)

    # ------------------------------------------------------------------ public
    def position(self) -> str | None:
        """The id of the last stream entry this database has processed."""
        with self.engine.begin() as connection, driver_errors(connection):
            return self.writer.read_position(connection)

    def apply(self, entries: list[tuple], check_gap=None) -> BatchResult:
        """Apply ``entries`` ([(stream id, fields)], in stream order) in one transaction.

        ``check_gap(after, before)`` tells whether the stream holds entries strictly
        between two ids (``after`` None: from the start); when it does, the batch is
        refused with :class:`OutOfOrder` and nothing is written."""
        batch = _normalise(entries)
        result = BatchResult()
        with self.engine.begin() as connection, driver_errors(connection):
            writing(connection)   # the roll-ups' marks wait for this transaction (datasource.store.committed)
            fresh = self._unprocessed(connection, batch, result, check_gap)
            if not fresh:
                return result
            changes, rows = self._apply_fresh(connection, fresh, result)
            self.writer.write(connection, changes)
        self.cache.committed(rows, changes.position)   # only now: the transaction is durable
        return result

    def apply_isolating(self, entries: list[tuple], check_gap=None) -> BatchResult:
        """Apply a batch; if an entry makes it fail in a way nobody foresaw, apply the
        entries one by one and dead-letter the one that fails, so one poisonous entry
        can neither stop the worker nor kill a rebuild half way.  Database outages are
        raised to the caller (who retries)."""
        try:
            return self.apply(entries, check_gap)
        except OutOfOrder:
            raise
        except StreamUnavailable as exc:
            raise exc.__cause__ from None
        except Exception as exc:  # noqa: BLE001 - a bug or an entry nobody foresaw
            if not is_poison(exc):
                raise
            log.exception("batch failed; applying its %d entries one by one", len(entries))
        total = BatchResult()
        for stream_id, _key, fields in _normalise(entries):
            entry = (stream_id, fields)
            try:
                result = self.apply([entry], check_gap)
            except OutOfOrder:
                raise
            except StreamUnavailable as exc:
                raise exc.__cause__ from None
            except Exception as exc:  # noqa: BLE001
                if not is_poison(exc):
                    raise
                result = self.dead_letter(entry, f"internal error: {exc.__class__.__name__}: {exc}", check_gap)
            total.add(result)
        return total

    def dead_letter(self, entry: tuple, reason: str, check_gap=None) -> BatchResult:
        """Record one entry as a dead letter (its application failed unexpectedly)."""
        batch = _normalise([entry])
        result = BatchResult()
        with self.engine.begin() as connection, driver_errors(connection):
            writing(connection)   # the roll-ups' marks wait for this transaction (datasource.store.committed)
            fresh = self._unprocessed(connection, batch, result, check_gap)
            if not fresh:
                return result
            stream_id, _key, fields = fresh[0]
            self.writer.write(connection, Changes(stream_id, dead=[self._dead_row(stream_id, fields, reason[:2000])]))
            result.dead.append((stream_id, reason))
        self.cache.committed([], stream_id)
        return result

    # ------------------------------------------------------------------ steps
    def _unprocessed(self, connection, batch, result: BatchResult, check_gap) -> list:
        """The entries of ``batch`` after the database's position; OutOfOrder on a gap."""
        last = self.writer.read_position(connection)
        self.cache.check(last)
        fresh = batch
        if last is not None:
            last_key = entry_key(last)
            fresh = [e for e in batch if e[1] > last_key]
            result.replayed += len(batch) - len(fresh)
        if not fresh or check_gap is None:
            return fresh
        try:
            gap = check_gap(last, fresh[0][0])
        except Exception as exc:  # noqa: BLE001 - Redis down: the worker's loop deals with it
            raise StreamUnavailable(str(exc)) from exc
        if gap:
            raise OutOfOrder(f"stream entries between {last or 'the start'} and {fresh[0][0]} have not been "
                             f"processed by this database (another consumer holds them, or the database "
                             f"is new: run `citygrid rebuild`)")
        return fresh

    def _dead_row(self, stream_id: str, fields: dict, reason: str, event_id: str | None = None) -> tuple:
        if not reason.isascii():  # the reason quotes the entry: keep it storable everywhere
            reason = reason.encode("utf-8", "backslashreplace").decode("utf-8")
        reason = reason.replace("\x00", "\\x00")
        return stream_id, event_id, reason, _raw_json(fields), stream_time(stream_id)

    def _apply_fresh(self, connection, fresh: list, result: BatchResult) -> tuple[Changes, list[dict]]:
        """Validate and fold ``fresh`` entries: the batch's changes and the rows written."""
        changes = Changes(fresh[-1][0])
        dead_rows = changes.dead

        def dead(stream_id, fields, reason, event_id=None):
            result.dead.append((stream_id, reason))
            dead_rows.append(self._dead_row(stream_id, fields, reason, event_id))

        events: list[tuple[str, CaseEvent, dict]] = []
        bbox, last_ms, now = self.locator.bbox, None, None
        for stream_id, key, fields in fresh:
            if key[0] != last_ms:   # entries of one millisecond share their clock
                last_ms, now = key[0], stream_time(stream_id)
            try:
                require_checked(fields)   # only the checked append writes the stream (issue 8, one truth)
                events.append((stream_id, parse_entry(fields, bbox, now), fields))
            except InvalidEvent as exc:
                dead(stream_id, fields, str(exc))
        known = self._known_events(connection, [e.event_id for _, e, _ in events])
        locations = self._locate([e for _, e, _ in events if e.type is EventType.REPORTED and e.event_id not in known])
        before = self._rows(connection, {e.case_id for _, e, _ in events})
        rows = dict(before)
        event_rows, flow, local_day = changes.events, changes.flow, self._local_day
        for stream_id, event, fields in events:
            first = known.get(event.event_id)
            if first is not None:
                if _same_content(first[1], event):
                    result.duplicates += 1
                else:
                    dead(stream_id, fields, f"event_id {event.event_id} was already used by stream entry "
                                            f"{first[0]} with different content", event.event_id)
                continue
            try:
                rows[event.case_id] = apply_event(rows.get(event.case_id), event, self.scenario,
                                                  locations.get(event.event_id))
            except (TransitionRefused, InvalidEvent) as exc:
                dead(stream_id, fields, str(exc), event.event_id)
                continue
            known[event.event_id] = (stream_id, event)
            kind = _TYPE_TEXT[event.type]
            event_rows.append((event.event_id, stream_id, event.case_id, kind, event.at, event.actor,
                               event.body_text))
            flow[(local_day(event.at), kind)] += 1
        written = [row for case, row in rows.items() if before.get(case) is not row]
        updates, values = changes.updates, _UPDATABLE_VALUES
        for row in written:
            old = before.get(row["case_id"])
            if old is None:
                changes.new_cases.append(row)
                continue
            # A column an event did not touch holds the very object it held before.
            names = tuple([n for n, new, was in zip(UPDATABLE, values(row), values(old)) if new is not was and new != was])
            if names:
                updates.setdefault(names, []).append(row)
        changes.counts = _count_deltas(before, written)
        result.applied = len(event_rows)
        return changes, written

    def _local_day(self, at: datetime):
        """The local date of an instant (``daily_flow``), memoised per UTC quarter hour: every
        time zone's offset is a whole number of quarter hours."""
        key = at.timestamp() // 900
        day = self._days.get(key)
        if day is None:
            if len(self._days) > 100_000:
                self._days.clear()
            day = self._days[key] = at.astimezone(self.tz).date()
        return day

    def _known_events(self, connection, event_ids: list[str]) -> dict[str, tuple[str, CaseEvent]]:
        """Already applied events among ``event_ids``: event id → (stream id, event)."""
        found = []
        if self.dialect == "postgresql":
            if event_ids:   # one array parameter, not thousands; monthly partitions: through the registry
                if self._lookup is None:
                    self._lookup = partitions.event_lookup_sql(connection, EVENT_COLUMNS)
                found = connection.exec_driver_sql(self._lookup, (event_ids,)).all()
        else:
            for i in range(0, len(event_ids), CHUNK):
                chunk = event_ids[i:i + CHUNK]
                found += connection.exec_driver_sql(f"{EVENT_SELECT} IN ({', '.join('?' * len(chunk))})",
                                                    tuple(chunk)).all()
        return {r[0]: (r[1], CaseEvent(r[0], r[2], EventType(r[3]), _aware(r[4]), r[5], json.loads(r[6])))
                for r in found}

    def _rows(self, connection, case_ids: set[str]) -> dict[str, dict]:
        """Current rows of the touched cases: from the cache, else from the database."""
        found, missing = self.cache.take(case_ids)
        if missing:
            found.update(self._load_cases(connection, missing))
        return found

    def _load_cases(self, connection, case_ids: list[str]) -> dict[str, dict]:
        """Rows of ``case_ids`` read through the driver (SQLAlchemy's per-value result
        processing was the worker's largest cost on a spread-out stream)."""
        rows: dict[str, dict] = {}
        ids = sorted(case_ids)
        names = CASE_COLUMNS
        if self.dialect == "postgresql":
            if ids:  # psycopg returns aware datetimes and bools as they are
                result = connection.exec_driver_sql(f"SELECT {', '.join(names)} FROM cases WHERE case_id = ANY(%s)", (ids,))
                rows = {r[0]: dict(zip(names, r)) for r in result}
            return rows
        times = [n for n in names if n in CASE_TIME_COLUMNS]
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i:i + CHUNK]
            sql = f"SELECT {', '.join(names)} FROM cases WHERE case_id IN ({', '.join('?' * len(chunk))})"
            for r in connection.exec_driver_sql(sql, tuple(chunk)):
                row = dict(zip(names, r))
                for name in times:
                    text = row[name]
                    if text is not None:
                        row[name] = datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
                flag = row["handled_on_time"]
                if flag is not None:
                    row["handled_on_time"] = bool(flag)
                rows[r[0]] = row
        return rows

    def _locate(self, reported: list[CaseEvent]) -> dict[str, tuple]:
        places = self.locator.locate_many([(e.body["lon"], e.body["lat"]) for e in reported])
        return {e.event_id: place for e, place in zip(reported, places) if place is not None}


def _aware(value) -> datetime:
    """A time read back through the driver: SQLite gives UTC text."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
    return value


def _normalise(entries) -> list[tuple[str, tuple[int, int], dict]]:
    """(stream id as text, sort key, fields), in stream order, each id once."""
    out = []
    for stream_id, fields in entries:
        if stream_id.__class__ is bytes:
            stream_id = stream_id.decode()
        ms, _, seq = stream_id.partition("-")
        out.append((stream_id, (int(ms), int(seq or 0)), fields))
    keys = [e[1] for e in out]
    if keys != sorted(keys) or len(set(keys)) != len(keys):   # Redis gives each id once, in order
        unique = {e[1]: e for e in reversed(out)}   # the first of equal ids wins
        out = [unique[k] for k in sorted(unique)]
    return out


def _same_content(first: CaseEvent, again: CaseEvent) -> bool:
    """Whether a re-used event id carries the same event (a retry) or another one."""
    return (first.case_id == again.case_id and first.type is again.type and first.at == again.at
            and first.actor == again.actor and first.body == again.body)


def _count_deltas(before: dict[str, dict], changed: list[dict]) -> dict:
    """Changes of the live counts: −1 where a case was, +1 where it is now."""
    deltas: dict = {}
    get = deltas.get
    for row in changed:
        old = before.get(row["case_id"])
        now = _COUNTED(row)
        if old is not None:
            was = _COUNTED(old)
            if was == now:
                continue    # counted where it was: its −1 and +1 cancel
            stage, street, grid, dept = was
            for key in (("all", "", stage), ("street", street, stage), ("grid", grid, stage), ("dept", dept or "", stage)):
                deltas[key] = get(key, 0) - 1
        stage, street, grid, dept = now
        for key in (("all", "", stage), ("street", street, stage), ("grid", grid, stage), ("dept", dept or "", stage)):
            deltas[key] = get(key, 0) + 1
    return {k: v for k, v in deltas.items() if v}
