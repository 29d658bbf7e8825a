"""Apply a batch of stream entries to the reporting database in one transaction.

For each batch: validate every entry (the domain's rules), drop event ids already applied
(idempotency: ``case_events.event_id`` is unique and written with its effect), fold the
events into the touched ``cases`` rows, and write events, cases, live aggregates and
dead letters together.  The caller acknowledges the entries only after the commit.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import String, any_, bindparam, insert, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine

from dashboard.domain.events import CaseEvent, InvalidEvent, parse_entry
from dashboard.domain.lifecycle import EventType, TransitionRefused
from dashboard.domain.projection import apply_event, settle
from dashboard.domain.scenario import Scenario
from datasource.store import schema
from datasource.store.fastwrite import CompiledWrite, PgCopyWrite
from datasource.follower.locator import GridLocator
from datasource.redis.stream import require_checked

CHUNK = 900
CASE_COLUMNS = [c.name for c in schema.cases.columns]
CASE_TIME_COLUMNS = [c.name for c in schema.cases.columns if isinstance(c.type, schema.UTCDateTime)]  # stay under every driver's bound-parameter limit


@dataclass
class BatchResult:
    applied: int = 0
    duplicates: int = 0
    dead: list[tuple[str, str]] = field(default_factory=list)  # (stream id, reason)


def _raw_json(fields: dict) -> str:
    def text(value):
        if isinstance(value, bytes):
            return value.decode("utf-8", "backslashreplace")
        return str(value)
    return json.dumps({text(k): text(v) for k, v in fields.items()}, ensure_ascii=False)[:20000]


def _body_text(fields: dict) -> str:
    """The body as the producer wrote it (already validated as a JSON object)."""
    raw = fields.get(b"body", fields.get("body"))
    return raw.decode("utf-8") if isinstance(raw, bytes) else raw


class Projector:
    """Folds stream entries into the reporting database (used by worker and rebuild)."""

    def __init__(self, engine: Engine, scenario: Scenario, locator: GridLocator | None = None):
        self.engine, self.scenario = engine, scenario
        self.locator = locator or GridLocator(scenario)
        self.dialect = engine.dialect.name
        dialect = engine.dialect
        if self.dialect == "postgresql":
            self._insert_events = PgCopyWrite(schema.case_events)
            self._upsert_cases = PgCopyWrite(schema.cases, conflict=["case_id"])
        else:
            self._insert_events = CompiledWrite(insert(schema.case_events).values(
                {c.name: bindparam(c.name) for c in schema.case_events.columns if c.name != "id"}),
                schema.case_events, dialect)
            self._upsert_cases = CompiledWrite(self._upsert(schema.cases, ["case_id"], replace=True),
                                               schema.cases, dialect)
        self._upsert_counts = self._upsert(schema.live_counts, ["scope", "key", "stage"], add="n")
        self._upsert_flow = self._upsert(schema.daily_flow, ["day", "type"], add="n")

    def _upsert(self, table, keys, replace=False, add=None):
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        statement = dialect_insert(table)
        if replace:
            statement = statement.values({c.name: bindparam(c.name) for c in table.columns})
            updates = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys}
        else:
            updates = {add: table.c[add] + statement.excluded[add]}
        return statement.on_conflict_do_update(index_elements=keys, set_=updates)

    def apply(self, entries: list[tuple], now: datetime | None = None) -> BatchResult:
        """Apply ``entries`` ([(stream id, fields)]) in one transaction."""
        now = now or datetime.now(timezone.utc)
        result = BatchResult()
        dead_rows: list[dict] = []

        def dead(stream_id, fields, reason, event_id=None):
            result.dead.append((stream_id, reason))
            dead_rows.append({"stream_id": stream_id, "event_id": event_id, "reason": reason,
                              "fields": _raw_json(fields), "recorded_at": now})

        events: list[tuple[str, CaseEvent, dict]] = []
        for stream_id, fields in entries:
            stream_id = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
            try:
                require_checked(fields)   # only the checked append writes the stream (issue 8, one truth)
                events.append((stream_id, parse_entry(fields, self.locator.bbox, now), fields))
            except InvalidEvent as exc:
                dead(stream_id, fields, str(exc))
        with self.engine.begin() as connection:
            seen = self._existing_event_ids(connection, [e.event_id for _, e, _ in events])
            locations = self._locate([e for _, e, _ in events if e.type is EventType.REPORTED])
            before = self._load_cases(connection, {e.case_id for _, e, _ in events})
            rows = dict(before)
            event_rows, flow = [], Counter()
            for stream_id, event, fields in events:
                if event.event_id in seen:
                    result.duplicates += 1
                    continue
                try:
                    rows[event.case_id] = apply_event(rows.get(event.case_id), event, self.scenario,
                                                      locations.get(event.event_id), lazy=True)
                except (TransitionRefused, InvalidEvent) as exc:
                    dead(stream_id, fields, str(exc), event.event_id)
                    continue
                seen.add(event.event_id)
                event_rows.append({"event_id": event.event_id, "stream_id": stream_id, "case_id": event.case_id,
                                   "type": event.type.value, "at": event.at, "actor": event.actor,
                                   "body": _body_text(fields)})
                flow[(event.at.astimezone(self.scenario.calendar.tz).date(), event.type.value)] += 1
            changed = [settle(row, self.scenario) for case, row in rows.items() if before.get(case) is not row]
            self._write(connection, event_rows, changed, self._count_deltas(before, changed), flow, dead_rows)
            result.applied = len(event_rows)
        return result

    def dead_letter(self, entry: tuple, reason: str) -> BatchResult:
        """Record one entry as a dead letter (used when applying it failed unexpectedly)."""
        stream_id, fields = entry
        stream_id = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
        with self.engine.begin() as connection:
            connection.execute(insert(schema.dead_letters), [{
                "stream_id": stream_id, "event_id": None, "reason": reason[:2000], "fields": _raw_json(fields),
                "recorded_at": datetime.now(timezone.utc)}])
        return BatchResult(dead=[(stream_id, reason)])

    def _existing_event_ids(self, connection, event_ids: list[str]) -> set[str]:
        found: set[str] = set()
        column = schema.case_events.c.event_id
        if self.dialect == "postgresql" and event_ids:  # one array parameter, not thousands
            ids = literal(event_ids, ARRAY(String))
            return set(connection.execute(select(column).where(column == any_(ids))).scalars())
        for i in range(0, len(event_ids), CHUNK):
            chunk = event_ids[i:i + CHUNK]
            found.update(connection.execute(select(column).where(column.in_(chunk))).scalars())
        return found

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

    @staticmethod
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

    def _write(self, connection, event_rows, case_rows, deltas, flow, dead_rows) -> None:
        self._insert_events.execute(connection, event_rows)
        self._upsert_cases.execute(connection, case_rows)
        if deltas:
            connection.execute(self._upsert_counts, [
                {"scope": s, "key": k, "stage": st, "n": n} for (s, k, st), n in sorted(deltas.items())])
        if flow:
            connection.execute(self._upsert_flow, [
                {"day": d, "type": t, "n": n} for (d, t), n in sorted(flow.items())])
        if dead_rows:
            connection.execute(insert(schema.dead_letters), dead_rows)
