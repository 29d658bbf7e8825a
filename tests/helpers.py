"""Small helpers with verbs for the tests: make events, publish them, read tables."""
from __future__ import annotations

import json
import os
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from dashboard.domain.events import CaseEvent
from dashboard.domain.lifecycle import EventType
from datasource.redis.stream import stamped
from datasource.store import schema

CST = timezone(timedelta(hours=8))
# A point inside Dongcheng (near 东华门).
LON, LAT = 116.4035, 39.9135
#: The tests' "now" when CITYGRID_TEST_NOW is not set: a Wednesday morning, a working day.
DEFAULT_TEST_NOW = "2026-11-18T10:00:00+08:00"


def fixed_now() -> datetime:
    """The fixed instant every test calls "now": ``CITYGRID_TEST_NOW`` (ISO 8601 with offset) or
    :data:`DEFAULT_TEST_NOW`.  It must lie in the past of the real time: the worker judges an
    event's time against its stream entry id (the real time) and dead-letters the future."""
    text = os.environ.get("CITYGRID_TEST_NOW") or DEFAULT_TEST_NOW
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"CITYGRID_TEST_NOW={text!r} is not ISO 8601 (like {DEFAULT_TEST_NOW})") from None
    if at.tzinfo is None:
        raise ValueError(f"CITYGRID_TEST_NOW={text!r} needs a UTC offset (like {DEFAULT_TEST_NOW})")
    if at > datetime.now(timezone.utc) - timedelta(hours=1):
        raise ValueError(f"CITYGRID_TEST_NOW={text!r} must lie at least an hour in the past: events dated "
                         "after the real time are refused by the worker")
    return at.astimezone(timezone.utc)


TEST_NOW = fixed_now()


class FixedClock:
    """A clock that says :attr:`at` until told otherwise (``System(settings, clock=...)``)."""

    def __init__(self, at: datetime = TEST_NOW):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta) -> datetime:
        """Move the clock on by ``timedelta(**delta)``; the new time."""
        self.at += timedelta(**delta)
        return self.at


def wait_until(condition, timeout: float = 30.0, interval: float = 0.1, message: str = "condition"):
    """Poll ``condition()`` until it returns something truthy; that value, or AssertionError."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message} (last value: {last!r})")


@contextmanager
def worker_running(system):
    """A worker following the stream in a thread while the block runs, as in production: the
    reporting database keeps up, and the health's "worker silent" rule sees a live worker however
    long a slow (loaded) machine makes the block last."""
    worker = system.worker()
    thread = threading.Thread(target=worker.run, kwargs={"block_ms": 100}, daemon=True, name="test-worker")
    thread.start()
    try:
        yield worker
    finally:
        worker.stop()
        thread.join(10)


def event(case_id: str, kind: str, at: datetime, actor: str = "tester", **body) -> CaseEvent:
    return CaseEvent(uuid.uuid4().hex, case_id, EventType(kind), at, actor, body)


def loop_events(case_id: str, start: datetime, department: str = "sanitation", stages: int = 6,
                lon: float = LON, lat: float = LAT) -> list[CaseEvent]:
    """The first ``stages`` events of a normal closed loop for one case."""
    steps = [("reported", {"category": "E0102", "lon": lon, "lat": lat, "description": "垃圾", "source": "inspector"}),
             ("filed", {}), ("dispatched", {"department": department}), ("handled", {}), ("verified", {}),
             ("closed", {})]
    return [event(case_id, kind, start + timedelta(minutes=5 * i), **body)
            for i, (kind, body) in enumerate(steps[:stages])]


def case_ids(n: int, day: str = "20261101") -> list[str]:
    return [f"DC{day}{i:06d}" for i in range(1, n + 1)]


def publish(stream, events) -> None:
    """XADD events stamped as checked but WITHOUT the check, to test the worker itself
    (its validation, idempotency); products append through ``EventStream.append``."""
    pipe = stream.client.pipeline(transaction=False)
    for e in events:
        stream.append_raw(stamped(e.to_fields()), pipe)
    pipe.execute()


def cases_table(engine) -> list[dict]:
    """The whole cases table, ordered, as comparable plain values."""
    with engine.connect() as c:
        rows = c.execute(select(schema.cases).order_by(schema.cases.c.case_id)).mappings().all()
    out = []
    for row in rows:
        clean = {}
        for k, v in row.items():
            if isinstance(v, datetime):
                v = (v if v.tzinfo else v.replace(tzinfo=timezone.utc)).astimezone(timezone.utc).isoformat()
            clean[k] = v
        out.append(clean)
    return out


def count(engine, table) -> int:
    from sqlalchemy import func
    with engine.connect() as c:
        return c.execute(select(func.count()).select_from(table)).scalar()


def dead_reasons(engine) -> list[str]:
    with engine.connect() as c:
        return list(c.execute(select(schema.dead_letters.c.reason)).scalars())


def body_of(fields: dict) -> dict:
    return json.loads(fields["body"])


def stream_entries(items) -> list[tuple[str, dict]]:
    """(stream id, fields) for feeding a projector directly, as the checked append would
    have written them: marked, with stream ids at (or just after) each event's own time, in
    order — the projector judges each entry against its stream time."""
    out, last = [], 0
    for fields, at in items:
        ms = max(last + 1, int(at.timestamp() * 1000))
        last = ms
        out.append((f"{ms}-0", stamped(fields)))
    return out


#: a real value for each query parameter an API operation may require
QUERY_SAMPLES = {"grid": "110101001001001"}


def required_query(operation: dict) -> dict:
    """Sample values of the query parameters an OpenAPI ``operation`` requires."""
    return {q["name"]: QUERY_SAMPLES[q["name"]] for q in operation.get("parameters", [])
            if q.get("required") and q.get("in") == "query"}


def case_frames(engine):
    """The ``cases`` and ``case_events`` tables as pandas frames with UTC times — what the tests that
    recompute a page's figures independently start from."""
    import pandas as pd
    with engine.connect() as c:
        cases = pd.read_sql("SELECT * FROM cases", c)
        events = pd.read_sql("SELECT id, case_id, type, at AS t, actor FROM case_events", c)
    for frame, columns in ((cases, ["reported_at", "filed_at", "closed_at", "rejected_at"]), (events, ["t"])):
        for column in columns:
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return cases, events
