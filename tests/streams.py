"""Random case stories as raw stream entries (Hypothesis strategies), and table snapshots.

A story is drawn with a small model of the lifecycle so that most events are valid and
cases travel the whole loop (suspensions, resumes, extensions, returns, reworks); the rest
is noise on purpose: invalid transitions, producer retries (same event id, same
content), re-used event ids with other content, events "in the future" of their stream
entry, and poisonous entries (400-digit numbers, deep nesting, lone surrogates, NUL,
bad UTF-8 …).  Entries carry explicit stream ids, so their stream time is part of the
drawn example and the test does not depend on the clock.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

from hypothesis import strategies as st
from sqlalchemy import select, text

from dashboard.domain.events import stream_time
from dashboard.domain.lifecycle import TRANSITIONS, EventType, Stage, TransitionRefused, check_stage
from datasource.store import schema
from datasource.redis.stream import MARKER, stamped

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=CST)      # a Monday morning: working hours matter
# Mostly valid values; the last of each list is refused (a point in no grid, unknown codes).
POINTS = [(116.4035, 39.9135), (116.42, 39.88), (116.41, 39.95)] * 4 + [(116.38, 39.93)]
DEPARTMENTS = ["sanitation", "roads", "street-110101001"] * 4 + ["nobody"]
CATEGORIES = ["E0102", "C0101", "E0401"] * 4 + ["X9999"]
#: The way forward around the loop (drawn more often than the side paths).
FORWARD = {None: EventType.REPORTED, Stage.REPORTED: EventType.FILED, Stage.FILED: EventType.DISPATCHED,
           Stage.DISPATCHED: EventType.HANDLED, Stage.HANDLED: EventType.VERIFIED,
           Stage.VERIFIED: EventType.CLOSED, Stage.SUSPENDED: EventType.RESUMED}
MINUTES = [0, 1, 7, 45, 180, 600, 2 * 1440]
HOUR = 3600_000

#: Entries that have broken a rebuild or a worker (or could): each is a function of
#: (event id, case id, event time) returning raw fields.
POISONS = {
    "lon with 400 digits": lambda e, c, at: _fields(e, c, "reported", at, '{"category":"E0102","lon":1' + "0" * 400 + ',"lat":39.9}'),
    "lon with 5000 digits": lambda e, c, at: _fields(e, c, "reported", at, '{"category":"E0102","lon":1' + "0" * 5000 + ',"lat":39.9}'),
    "body nested 5000 deep": lambda e, c, at: _fields(e, c, "filed", at, '{"a":' + "[" * 5000 + "]" * 5000 + "}"),
    "body nested 40 deep": lambda e, c, at: _fields(e, c, "filed", at, '{"a":' + "[" * 40 + "]" * 40 + "}"),
    "lone surrogate": lambda e, c, at: _fields(e, c, "reported", at, '{"category":"E0102","lon":116.4035,"lat":39.9135,"description":"\\ud800"}'),
    "NUL in a description": lambda e, c, at: _fields(e, c, "reported", at, '{"category":"E0102","lon":116.4035,"lat":39.9135,"description":"a\\u0000b"}'),
    "NUL in the actor": lambda e, c, at: dict(_fields(e, c, "filed", at, "{}"), actor=b"a\x00b"),
    "bad UTF-8": lambda e, c, at: _fields(e, c, "filed", at, b"\xff\xfe"),
    "missing time": lambda e, c, at: {k: v for k, v in _fields(e, c, "filed", at, "{}").items() if k != "at"},
    "unknown type": lambda e, c, at: _fields(e, c, "teleported", at, "{}"),
    "case id with a newline": lambda e, c, at: _fields(e, c + "\n", "filed", at, "{}"),
    "time is not ISO": lambda e, c, at: dict(_fields(e, c, "filed", at, "{}"), at="yesterday"),
    "time at the end of time": lambda e, c, at: dict(_fields(e, c, "filed", at, "{}"), at="9999-12-31T23:59:59-23:59"),
    "time at the start of time": lambda e, c, at: dict(_fields(e, c, "filed", at, "{}"), at="0001-01-01T00:00:00+14:00"),
    "until at the end of time": lambda e, c, at: _fields(e, c, "extended", at, '{"until":"9999-12-31T23:59:59-23:59"}'),
    "department is an object": lambda e, c, at: _fields(e, c, "dispatched", at, '{"department":{"a":[1]}}'),
    "body is a list": lambda e, c, at: _fields(e, c, "filed", at, "[]"),
    "body too large": lambda e, c, at: _fields(e, c, "filed", at, json.dumps({"note": "x" * 17000})),
    "written past the checked path": lambda e, c, at: dict(_fields(e, c, "filed", at, "{}"), **{MARKER: None}),
}


def _fields(event_id: str, case_id: str, kind: str, at: datetime, body) -> dict:
    return {"event_id": event_id, "case_id": case_id, "type": kind, "at": at.isoformat(), "actor": "tester",
            "body": body}


def _valid_next(stage: Stage | None) -> list[EventType]:
    """Allowed event types, the way forward first and three times as likely."""
    allowed = [kind for kind, (sources, _) in TRANSITIONS.items() if stage in sources]
    forward = FORWARD.get(stage)
    return [forward] * 3 + allowed if forward in allowed else allowed


def _body(choose, kind: EventType, at: datetime) -> dict:
    if kind is EventType.REPORTED:
        lon, lat = choose(POINTS)
        return {"category": choose(CATEGORIES), "lon": lon, "lat": lat,
                "description": choose(["垃圾", "<img src=x onerror=alert(1)>", ""]),
                "source": choose(["inspector", "hotline12345"] * 4 + ["pigeon"]),
                "urgency": choose(["normal", "normal", "urgent"])}
    if kind is EventType.DISPATCHED:
        body = {"department": choose(DEPARTMENTS)}
        hours = choose([None, None, None, 0.5, 3, 72, -1, 30000])
        if hours is not None:
            body["deadline"] = (at + timedelta(hours=hours)).isoformat()
        return body
    if kind is EventType.EXTENDED:
        return {"until": (at + timedelta(hours=choose([1, 48, 240, 30000]))).isoformat(), "reason": "需要更多时间"}
    if kind in (EventType.REJECTED, EventType.RETURNED, EventType.REWORK, EventType.SUSPENDED, EventType.REOPENED):
        return {"reason": choose(["不属于本部门", "材料未到", "x"])}
    if kind is EventType.ATTACHED:   # issue 11: photos by hash (a bad one is a dead letter)
        return {"phase": choose(["report", "handle", "verify"]),
                "photos": [{"sha256": choose(["ab" * 32, "cd" * 32, "not-a-hash"]), "type": "image/jpeg", "size": 1234}]}
    if kind is EventType.VISITED:
        return {"result": choose(["satisfied", "basically", "unsatisfied"]), "note": "回访"}
    return choose([{}, {"note": "ok"}])


def _plausible(body: dict) -> bool:
    """Whether a drawn body holds none of the refused values (roughly: the projection judges)."""
    deadline = body.get("deadline") or body.get("until")
    far = deadline and (datetime.fromisoformat(deadline) - T0) > timedelta(days=700)
    return not far and body.get("category") != "X9999" and body.get("department") != "nobody" and \
        body.get("source") != "pigeon" and (body.get("lon"), body.get("lat")) != POINTS[-1]


def story_stream(choose, n_cases: int, n_entries: int, day: str = "20261102") -> list[tuple[int, dict]]:
    """A stream as [(stream milliseconds, fields)], milliseconds never decreasing.

    ``choose(options)`` picks one of a list: a Hypothesis draw, or ``random.choice``."""
    cases = [f"DC{day}{i:06d}" for i in range(1, n_cases + 1)]
    model: dict[str, tuple] = {c: (None, None) for c in cases}   # case → (stage, suspended from)
    t = T0
    stream_ms = int(T0.timestamp() * 1000)
    entries: list[tuple[int, dict]] = []
    for n in range(n_entries):
        t += timedelta(minutes=choose(MINUTES))
        event_id = f"ev{n:05d}"
        open_cases = [c for c in cases if model[c][0] not in (Stage.CLOSED, Stage.REJECTED)]
        case = choose(open_cases * 4 + cases)     # mostly cases whose story goes on
        stage, suspended = model[case]
        what = choose(["valid"] * 10 + ["any", "retry", "reuse", "poison"])
        skew = choose([0] * 5 + [1500, 1500, -2 * HOUR])
        if what in ("retry", "reuse") and entries:
            _ms, previous = choose(entries)
            fields = dict(previous)
            if what == "reuse":
                fields.update(at=t.isoformat(), actor="someone-else")
        elif what == "poison":
            fields = POISONS[choose(sorted(POISONS))](event_id, case, t)
        else:
            kind = choose((_valid_next(stage) if what != "any" else None) or list(EventType))
            body = _body(choose, kind, t)
            fields = _fields(event_id, case, kind.value, t, json.dumps(body, ensure_ascii=False))
            try:
                target = check_stage(stage, suspended, case, kind)
                if skew >= 0 and _plausible(body):   # the model follows what will be applied
                    model[case] = (target, stage if target is Stage.SUSPENDED else
                                   (None if kind is EventType.RESUMED else suspended))
            except TransitionRefused:
                pass
        # Stream time: usually the event's time; sometimes the event lies hours after
        # its entry (it is "in the future" and must be refused, whenever it is read).
        stream_ms = max(stream_ms, int(t.timestamp() * 1000) + skew)
        entries.append((stream_ms, fields))
    return entries


@st.composite
def streams(draw, max_cases: int = 3, max_entries: int = 30) -> list[tuple[int, dict]]:
    """Hypothesis: a small random stream (see :func:`story_stream`)."""
    def choose(options):
        return draw(st.sampled_from(options))
    return story_stream(choose, draw(st.integers(1, max_cases)), draw(st.integers(1, max_entries)))


# ---------------------------------------------------------------------------- hostile entries
# (the fuzzing of tests/test_fuzz_stream.py and the fuzz_mix drill, bench/drills/fuzz_mix.py)

CASE = "DC20261102000001"
NUMBERS = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" + "0" * 400, "116.4035", "true", '"116.4"', "null"]
TEXTS = ["x\\ud800", "\\udfff", "a\\u0000b", "\\u0007\\u001b[2J", "<script>alert(1)</script>", "=cmd|' /C calc'!A0",
         "长" * 3000, "", " ", "\\n\\r\\t"]
KINDS = ["reported", "filed", "dispatched", "handled", "extended", "suspended", "returned", "closed"]


@st.composite
def hostile_bodies(draw) -> str:
    """A body text a hostile or broken producer could write."""
    number, text = draw(st.sampled_from(NUMBERS)), draw(st.sampled_from(TEXTS))
    shape = draw(st.sampled_from(["report", "note", "deadline", "nested", "raw"]))
    if shape == "report":
        return '{"category":"E0102","lon":%s,"lat":39.9135,"description":"%s"}' % (number, text)
    if shape == "note":
        return '{"note":"%s","reason":"%s","department":"sanitation","x":%s}' % (text, text, number)
    if shape == "deadline":
        return '{"department":"sanitation","deadline":"%s","until":"%s"}' % (
            draw(st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59", "2026-11-03T09:00:00+08:00",
                                  "soon", "2026-11-03T09:00:00"])), text)
    if shape == "nested":
        depth = draw(st.sampled_from([3, 17, 40]))
        return '{"a":' + "[" * depth + number + "]" * depth + "}"
    return draw(st.text(max_size=40))


@st.composite
def hostile_entries(draw, start_ms: int, case: str = CASE) -> list[tuple[int, dict]]:
    """1–6 hostile entries (known poisons or hostile bodies) for ``case``, dated a minute before
    their stream time, which lies within an hour after ``start_ms``."""
    out = []
    for i in range(draw(st.integers(1, 6))):
        ms = start_ms + draw(st.integers(0, 3_600_000))
        if draw(st.booleans()):
            make = POISONS[draw(st.sampled_from(sorted(POISONS)))]
            fields = make(f"h{i}-{uuid.uuid4().hex[:6]}", case, stream_time(f"{ms}-0") - timedelta(minutes=1))
        else:
            fields = {"event_id": f"h{i}-{uuid.uuid4().hex[:6]}", "case_id": case, "type": draw(st.sampled_from(KINDS)),
                      "at": (stream_time(f"{ms}-0") - timedelta(minutes=1)).isoformat(), "actor": "fuzz",
                      "body": draw(hostile_bodies())}
        out.append((ms, fields))
    return out


def publish(client, key: str, entries: list[tuple[int, dict]]) -> list[str]:
    """XADD the entries with explicit ids (their stream time); the ids.

    Entries carry the checked-append marker unless they set it to None themselves (an entry
    written past the checked path, which the worker must dead-letter): these streams test the
    worker's own validation, not the command side's."""
    ids, last_ms, seq = [], None, 0
    pipe = client.pipeline(transaction=False)
    for ms, fields in entries:
        seq = seq + 1 if ms == last_ms else 0
        last_ms = ms
        ids.append(f"{ms}-{seq}")
        if MARKER in fields and fields[MARKER] is None:
            fields = {k: v for k, v in fields.items() if k != MARKER}
        elif MARKER not in fields:
            fields = stamped(fields)
        pipe.xadd(key, fields, id=ids[-1])
    pipe.execute()
    return ids


# ---------------------------------------------------------------------------- tables

PROJECTION = {   # table → (columns compared (all but surrogate ids), sort key)
    "cases": ([c.name for c in schema.cases.columns], ["case_id"]),
    "live_counts": ([c.name for c in schema.live_counts.columns], ["scope", "key", "stage"]),
    "daily_flow": ([c.name for c in schema.daily_flow.columns], ["day", "type"]),
    "dead_letters": ([c.name for c in schema.dead_letters.columns if c.name != "id"], ["stream_id"]),
    "case_events": ([c.name for c in schema.case_events.columns if c.name != "id"], ["event_id"]),
    "projection_state": ([c.name for c in schema.projection_state.columns], ["name"]),
}


def _plain(value):
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc).isoformat()
    return value


def snapshot(engine) -> dict[str, list[tuple]]:
    """Every projected table, column for column, in a fixed order (surrogate ids left out)."""
    out = {}
    with engine.connect() as c:
        for name, (columns, order) in PROJECTION.items():
            table = schema.metadata.tables[name]
            rows = c.execute(select(*[table.c[n] for n in columns]).order_by(*[table.c[n] for n in order]))
            out[name] = [tuple(_plain(v) for v in row) for row in rows]
    return out


def clear_projection(engine) -> None:
    """Empty the projected tables (cheaper than a new database per example)."""
    with engine.begin() as c:
        for name in ("cases", "case_events", "dead_letters", "live_counts", "daily_flow"):
            c.execute(text(f"DELETE FROM {name}"))
        c.execute(text("UPDATE projection_state SET last_stream_id = NULL"))


def differences(a: dict, b: dict) -> list[str]:
    """Readable differences between two snapshots (empty when equal)."""
    out = []
    for name in a:
        if a[name] != b[name]:
            only_a = [r for r in a[name] if r not in b[name]]
            only_b = [r for r in b[name] if r not in a[name]]
            out.append(f"{name}: only in first {only_a[:3]}, only in second {only_b[:3]}")
    return out
