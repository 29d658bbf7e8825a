"""Apply stream entries to the reporting database: an exact, ordered, idempotent fold.

The reporting tables are a pure function of the stream.  The rule that makes them so:

* **Stream order, each entry once.**  ``projection_state.last_stream_id`` is the last entry
  the database has processed (applied, skipped as a duplicate or dead-lettered); it is
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
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import String, any_, bindparam, insert, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, SQLAlchemyError

from dashboard.domain.events import CaseEvent, InvalidEvent, parse_entry, stream_time
from dashboard.domain.lifecycle import EventType, TransitionRefused
from dashboard.domain.projection import apply_event
from dashboard.domain.scenario import Scenario
from . import schema
from .fastwrite import CompiledWrite, PgCopyWrite
from .locator import GridLocator

log = logging.getLogger("citygrid.projector")

CHUNK = 900   # stay under every driver's bound-parameter limit
CASE_COLUMNS = [c.name for c in schema.cases.columns]
CASE_TIME_COLUMNS = [c.name for c in schema.cases.columns if isinstance(c.type, schema.UTCDateTime)]
STATE_KEY = "stream"


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


def _body_text(fields: dict) -> str:
    """The body as the producer wrote it (already validated as a JSON object)."""
    raw = fields.get(b"body", fields.get("body"))
    return raw.decode("utf-8") if isinstance(raw, bytes) else raw


def is_poison(exc: BaseException) -> bool:
    """An error caused by an entry rather than by the database being unavailable: every
    non-database exception, and a value the database refuses (``DataError``)."""
    return isinstance(exc, DataError) or not isinstance(exc, SQLAlchemyError)


class Projector:
    """Folds stream entries into the reporting database (used by worker and rebuild)."""

    def __init__(self, engine: Engine, scenario: Scenario, locator: GridLocator | None = None):
        self.engine, self.scenario = engine, scenario
        self.locator = locator or GridLocator(scenario)
        self.dialect = engine.dialect.name
        self.tz = scenario.calendar.tz
        dialect = engine.dialect
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
            self._insert_events = PgCopyWrite(schema.case_events)
            self._upsert_cases = PgCopyWrite(schema.cases, conflict=["case_id"])
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
            self._insert_events = CompiledWrite(insert(schema.case_events).values(
                {c.name: bindparam(c.name) for c in schema.case_events.columns if c.name != "id"}),
                schema.case_events, dialect)
            self._upsert_cases = CompiledWrite(self._upsert(dialect_insert, schema.cases, ["case_id"], replace=True),
                                               schema.cases, dialect)
        self._upsert_counts = self._upsert(dialect_insert, schema.live_counts, ["scope", "key", "stage"], add="n")
        self._upsert_flow = self._upsert(dialect_insert, schema.daily_flow, ["day", "type"], add="n")
        self._insert_dead = dialect_insert(schema.dead_letters).on_conflict_do_nothing(index_elements=["stream_id"])
        state = schema.projection_state
        statement = dialect_insert(state).values(name=STATE_KEY, last_stream_id=bindparam("last"))
        self._write_state = statement.on_conflict_do_update(
            index_elements=["name"], set_={"last_stream_id": statement.excluded.last_stream_id})
        self._read_state = select(state.c.last_stream_id).where(state.c.name == STATE_KEY)
        if self.dialect == "postgresql":   # serialise concurrent workers on the position row
            self._read_state = self._read_state.with_for_update()
        counts = schema.live_counts.c
        self._delete_zero = schema.live_counts.delete().where(
            counts.scope == bindparam("s"), counts.key == bindparam("k"), counts.stage == bindparam("st"),
            counts.n == 0)

    @staticmethod
    def _upsert(dialect_insert, table, keys, replace=False, add=None):
        statement = dialect_insert(table)
        if replace:
            statement = statement.values({c.name: bindparam(c.name) for c in table.columns})
            updates = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys}
        else:
            updates = {add: table.c[add] + statement.excluded[add]}
        return statement.on_conflict_do_update(index_elements=keys, set_=updates)

    # ------------------------------------------------------------------ public
    def position(self) -> str | None:
        """The id of the last stream entry this database has processed."""
        with self.engine.connect() as connection:
            return connection.execute(self._read_state).scalar()

    def apply(self, entries: list[tuple], check_gap=None) -> BatchResult:
        """Apply ``entries`` ([(stream id, fields)], in stream order) in one transaction.

        ``check_gap(after, before)`` tells whether the stream holds entries strictly
        between two ids (``after`` None: from the start); when it does, the batch is
        refused with :class:`OutOfOrder` and nothing is written."""
        batch = _normalise(entries)
        result = BatchResult()
        with self.engine.begin() as connection:
            fresh = self._unprocessed(connection, batch, result, check_gap)
            if fresh:
                self._apply_fresh(connection, fresh, result)
                connection.execute(self._write_state, {"last": fresh[-1][0]})
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
        with self.engine.begin() as connection:
            fresh = self._unprocessed(connection, batch, result, check_gap)
            if fresh:
                stream_id, _key, fields = fresh[0]
                connection.execute(self._insert_dead, [self._dead_row(stream_id, fields, reason[:2000], None)])
                connection.execute(self._write_state, {"last": stream_id})
                result.dead.append((stream_id, reason))
        return result

    # ------------------------------------------------------------------ steps
    def _unprocessed(self, connection, batch, result: BatchResult, check_gap) -> list:
        """The entries of ``batch`` after the database's position; OutOfOrder on a gap."""
        last = connection.execute(self._read_state).scalar()
        fresh = batch
        if last is not None:
            last_key = entry_key(last)
            fresh = [e for e in batch if e[1] > last_key]
            result.replayed += len(batch) - len(fresh)
        if fresh and check_gap is not None and check_gap(last, fresh[0][0]):
            raise OutOfOrder(f"stream entries between {last or 'the start'} and {fresh[0][0]} have not been "
                             f"processed by this database (another consumer holds them, or the database "
                             f"is new: run `citygrid rebuild`)")
        return fresh

    def _dead_row(self, stream_id: str, fields: dict, reason: str, event_id: str | None) -> dict:
        if not reason.isascii():  # the reason quotes the entry: keep it storable everywhere
            reason = reason.encode("utf-8", "backslashreplace").decode("utf-8")
        reason = reason.replace("\x00", "\\x00")
        return {"stream_id": stream_id, "event_id": event_id, "reason": reason, "fields": _raw_json(fields),
                "recorded_at": stream_time(stream_id)}

    def _apply_fresh(self, connection, fresh: list, result: BatchResult) -> None:
        dead_rows: list[dict] = []

        def dead(stream_id, fields, reason, event_id=None):
            result.dead.append((stream_id, reason))
            dead_rows.append(self._dead_row(stream_id, fields, reason, event_id))

        events: list[tuple[str, CaseEvent, dict]] = []
        bbox, last_ms, now = self.locator.bbox, None, None
        for stream_id, key, fields in fresh:
            if key[0] != last_ms:   # entries of one millisecond share their clock
                last_ms, now = key[0], stream_time(stream_id)
            try:
                events.append((stream_id, parse_entry(fields, bbox, now), fields))
            except InvalidEvent as exc:
                dead(stream_id, fields, str(exc))
        known = self._known_events(connection, [e.event_id for _, e, _ in events])
        locations = self._locate([e for _, e, _ in events if e.type is EventType.REPORTED and e.event_id not in known])
        before = self._load_cases(connection, {e.case_id for _, e, _ in events})
        rows = dict(before)
        event_rows, flow = [], Counter()
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
            event_rows.append({"event_id": event.event_id, "stream_id": stream_id, "case_id": event.case_id,
                               "type": event.type.value, "at": event.at, "actor": event.actor,
                               "body": _body_text(fields)})
            flow[(event.at.astimezone(self.tz).date(), event.type.value)] += 1
        changed = [row for case, row in rows.items() if before.get(case) is not row]
        self._write(connection, event_rows, changed, _count_deltas(before, changed), flow, dead_rows)
        result.applied = len(event_rows)

    def _known_events(self, connection, event_ids: list[str]) -> dict[str, tuple[str, CaseEvent]]:
        """Already applied events among ``event_ids``: event id → (stream id, event)."""
        table = schema.case_events
        columns = [table.c.event_id, table.c.stream_id, table.c.case_id, table.c.type, table.c.at,
                   table.c.actor, table.c.body]
        found = []
        if self.dialect == "postgresql" and event_ids:  # one array parameter, not thousands
            found = connection.execute(select(*columns).where(table.c.event_id == any_(
                literal(event_ids, ARRAY(String))))).all()
        else:
            for i in range(0, len(event_ids), CHUNK):
                found += connection.execute(select(*columns).where(table.c.event_id.in_(event_ids[i:i + CHUNK]))).all()
        return {r.event_id: (r.stream_id, CaseEvent(r.event_id, r.case_id, EventType(r.type), r.at, r.actor,
                                                    json.loads(r.body))) for r in found}

    def _load_cases(self, connection, case_ids: set[str]) -> dict[str, dict]:
        """Current rows of the touched cases, read through the driver (SQLAlchemy's
        per-value result processing was the worker's largest cost on a spread-out stream)."""
        rows: dict[str, dict] = {}
        ids = sorted(case_ids)
        names = CASE_COLUMNS
        if self.dialect == "postgresql":
            if ids:  # psycopg returns aware datetimes and bools as they are
                result = connection.exec_driver_sql(f"SELECT {', '.join(names)} FROM cases WHERE case_id = ANY(%s)", (ids,))
                rows = {r[0]: dict(zip(names, r)) for r in result}
            return rows
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i:i + CHUNK]
            sql = f"SELECT {', '.join(names)} FROM cases WHERE case_id IN ({', '.join('?' * len(chunk))})"
            for r in connection.exec_driver_sql(sql, tuple(chunk)):
                row = dict(zip(names, r))
                for name in CASE_TIME_COLUMNS:
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

    def _write(self, connection, event_rows, case_rows, deltas, flow, dead_rows) -> None:
        self._insert_events.execute(connection, event_rows)
        self._upsert_cases.execute(connection, case_rows)
        if deltas:
            connection.execute(self._upsert_counts, [
                {"scope": s, "key": k, "stage": st, "n": n} for (s, k, st), n in sorted(deltas.items())])
            # A stage a case left may now hold none: no row, as if no case had ever been there,
            # so the table does not depend on how the events were batched.
            emptied = [{"s": s, "k": k, "st": st} for (s, k, st), n in sorted(deltas.items()) if n < 0]
            if emptied:
                connection.execute(self._delete_zero, emptied)
        if flow:
            connection.execute(self._upsert_flow, [
                {"day": d, "type": t, "n": n} for (d, t), n in sorted(flow.items())])
        if dead_rows:
            connection.execute(self._insert_dead, dead_rows)


def _normalise(entries) -> list[tuple[str, tuple[int, int], dict]]:
    """(stream id as text, sort key, fields), in stream order, each id once."""
    out, seen = [], set()
    for stream_id, fields in entries:
        if isinstance(stream_id, bytes):
            stream_id = stream_id.decode()
        if stream_id not in seen:
            seen.add(stream_id)
            out.append((stream_id, entry_key(stream_id), fields))
    out.sort(key=lambda e: e[1])
    return out


def _same_content(first: CaseEvent, again: CaseEvent) -> bool:
    """Whether a re-used event id carries the same event (a retry) or another one."""
    return (first.case_id == again.case_id and first.type is again.type and first.at == again.at
            and first.actor == again.actor and first.body == again.body)


def _count_deltas(before: dict[str, dict], changed: list[dict]) -> Counter:
    """Changes of the live counts: −1 where a case was, +1 where it is now."""
    deltas: Counter = Counter()
    for row in changed:
        old = before.get(row["case_id"])
        for sign, state in ((-1, old), (1, row)):
            if state is None:
                continue
            stage = state["stage"]
            for scope, key in (("all", ""), ("street", state["street_code"]), ("grid", state["grid_code"]),
                               ("dept", state["department_code"] or "")):
                deltas[(scope, key, stage)] += sign
    return Counter({k: v for k, v in deltas.items() if v})
