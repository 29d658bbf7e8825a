"""The inbox: the documented door to the case stream for other systems.

Other systems (a 12345 hotline platform, camera analytics, an importer …) must not XADD to
the case stream itself: only the checked append may write there, or the command side
(the per-case hashes the API checks) and the stream would disagree.  They XADD the same
envelope (``event_id``, ``case_id``, ``type``, ``at``, ``actor``, ``body``) to
``<stream>:inbox`` instead.  The :class:`Gateway` reads the inbox with its own consumer
group, validates each entry with the domain's rules (the envelope — no NaN, NUL or lone surrogate
anywhere —, free text as :mod:`dashboard.domain.inputs` bounds it, a new case's category,
position, urgency and source, a dispatch's department and deadline, an extension's date)
and re-appends the accepted ones through the checked Lua append (stage transition and
"not before the report" are checked there, atomically).  A ``reported`` entry may leave
``case_id`` empty: the gateway assigns the next id of the report's day.

Idempotency: the producer's ``event_id`` is kept.  The append script sets
``<stream>:inbox:done:<event_id>`` ("<entry id> <case id>", kept :data:`DONE_TTL`) in the
same atomic step, so an inbox entry delivered twice (a producer's retry, a gateway crash
before its acknowledgement) is appended once; producers may read that key to learn the
outcome and an assigned case id.  Refused entries go, with the reason, to the stream
``<stream>:inbox:rejected``: nothing is dropped silently.  Processed entries are
acknowledged and deleted from the inbox (the accepted ones live on in the case stream).
"""
from __future__ import annotations

import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime

import redis

from dashboard.domain.events import MAX_DEADLINE, CaseEvent, InvalidEvent, parse_entry, parse_time
from dashboard.domain.inputs import DESCRIPTION_MAX, TEXT_MAX, InputRefused, clean_text
from dashboard.domain.lifecycle import EventType, Stage, TransitionRefused, check_stage
from dashboard.domain.projection import apply_event
from datasource.redis.partitions import is_partitioned
from datasource.redis.stream import Conflict, event_args

log = logging.getLogger("citygrid.gateway")

INBOX_GROUP = "citygrid-gateway"
DONE_TTL = 30 * 86400            # how long an inbox event id is remembered (and its outcome readable)
REJECTED_MAXLEN = 100_000        # refusals kept for producers to read (approximately, newest)
PLACEHOLDER_CASE = "DC20000101000001"   # lets a report without case id through the envelope check
#: free-text fields of a body and their limits: the same edge rule as the API's (refused, not
#: cleaned, here — the gateway appends the producer's body as written)
TEXT_FIELDS = {"description": DESCRIPTION_MAX, "note": TEXT_MAX, "reason": TEXT_MAX}
# Raise a day's serial counter to a producer-chosen case id, so our own ids never collide with it.
SEQ_AT_LEAST = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
"""


def inbox_key(stream_key: str) -> str:
    return stream_key + ":inbox"


@dataclass
class GatewayStats:
    accepted: int = 0
    duplicates: int = 0
    refused: int = 0
    batches: int = 0


@dataclass
class _Checked:
    """An inbox entry that passed validation, ready for the checked append."""

    inbox_id: str
    event: CaseEvent
    at_text: str
    body_text: str
    state: dict


def default_consumer() -> str:
    return os.environ.get("CITYGRID_CONSUMER") or f"{socket.gethostname()}-gateway"


def _s(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _raw(fields: dict) -> dict:
    """Field names as text; values as they came (bytes), for parse_entry to judge."""
    return {_s(k): v for k, v in fields.items()}


class Gateway:
    """Inbox → validated → checked append to the case stream (see the module text)."""

    def __init__(self, system, consumer: str | None = None, batch_size: int = 500, claim_idle_ms: int = 30_000):
        self.system, self.stream, self.client = system, system.stream, system.stream.client
        self.inbox = inbox_key(self.stream.key)
        self.partitioned = is_partitioned(self.stream)
        self.rejected = self.inbox + ":rejected"
        self.consumer = consumer or default_consumer()
        self.batch_size, self.claim_idle_ms = batch_size, claim_idle_ms
        self.stats = GatewayStats()
        self._seq_at_least = self.client.register_script(SEQ_AT_LEAST)
        self._commands = None
        self._stop = False

    def done_key(self, event_id: str, case_id: str | None = None) -> str:
        """The once-only key of an inbox event.  The single stream keeps them all beside the
        inbox; a partitioned stream keeps each in its case's partition (the script touches it
        with the case's hash, in one cluster slot), so it needs the case id."""
        if not self.partitioned:
            return f"{self.inbox}:done:{event_id}"
        return self.stream.part(case_id or "").slot_key(f"inbox:done:{event_id}")

    def _assigned(self, event_id: str) -> str | None:
        """The case id given before to a report of this ``event_id`` (partitioned stream only)."""
        if not self.partitioned:
            return None
        value = self.client.get(f"{self.inbox}:assigned:{event_id}")
        return value.decode() if isinstance(value, bytes) else value

    def _assign(self, event: CaseEvent, day) -> str:
        """A new case id for a report without one.  On a partitioned stream it is remembered
        for the event id (:data:`DONE_TTL`), so that a re-sent report finds its partition's
        once-only key and is not filed twice."""
        if not self.partitioned:
            return self.stream.next_case_id(day)
        before = self._assigned(event.event_id)
        if before:
            return before
        case_id = self.stream.next_case_id(day)
        if not self.client.set(f"{self.inbox}:assigned:{event.event_id}", case_id, nx=True, ex=DONE_TTL):
            case_id = self._assigned(event.event_id) or case_id   # another gateway was quicker
        return case_id

    def ensure_group(self) -> None:
        try:
            self.client.xgroup_create(self.inbox, INBOX_GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def stop(self) -> None:
        self._stop = True

    # ------------------------------------------------------------------ validation
    def check(self, inbox_id: str, fields: dict, now: datetime | None = None) -> _Checked:
        """Validate one inbox entry with the domain's rules; InvalidEvent with the reason."""
        raw = _raw(fields)
        assign = _s(raw.get("type", b"")) == EventType.REPORTED.value and not _s(raw.get("case_id", b"")).strip()
        if assign:
            raw["case_id"] = PLACEHOLDER_CASE
        event = parse_entry(raw, self.system.locator.bbox, now)
        for name, limit in TEXT_FIELDS.items():
            if name in event.body:
                try:
                    clean_text(event.body[name], name, limit)
                except InputRefused as exc:
                    raise InvalidEvent(str(exc)) from None
        at_text, body_text = _s(raw["at"]), _s(raw["body"])
        scenario, state = self.system.scenario, {}
        if event.type is EventType.REPORTED:
            body = event.body
            place = self.system.locator.locate(float(body["lon"]), float(body["lat"]))
            row = apply_event(None, event, scenario, place)   # the projection's own rules for a new case
            state = {"category": row["category_code"], "urgency": row["urgency"], "grid": row["grid_code"],
                     "street": row["street_code"]}
        elif event.type is EventType.DISPATCHED:
            department = str(event.body["department"])
            if department not in scenario.departments:
                raise InvalidEvent(f"unknown department {department[:40]!r}")
            if event.body.get("deadline"):
                deadline = parse_time(str(event.body["deadline"]), future=MAX_DEADLINE)
                if deadline <= event.at:
                    raise InvalidEvent("the dispatch deadline is not after the dispatch time")
            state = {"department": department}
        elif event.type is EventType.EXTENDED:
            until = parse_time(str(event.body["until"]), future=MAX_DEADLINE)
            current = self.commands.state(event.case_id).get("deadline")
            if current and until <= datetime.fromisoformat(current):
                raise InvalidEvent("an extension must move the deadline later")
        if assign:
            event.case_id = self._assign(event, event.at.astimezone(scenario.calendar.tz).date())
        else:
            self._reserve_serial(event)
        return _Checked(inbox_id, event, at_text, body_text, state)

    @property
    def commands(self):
        """The command service's view of a case (deadline known from the hash or the database)."""
        if self._commands is None:
            from datasource.services.commands import CommandService
            self._commands = CommandService(self.system)
        return self._commands

    def _reserve_serial(self, event: CaseEvent) -> None:
        """A producer-chosen id of a new case: our own ids of that day continue after it."""
        if event.type is EventType.REPORTED:
            day, serial = event.case_id[2:10], int(event.case_id[10:])
            self._seq_at_least(keys=[f"{self.stream.prefix}seq:{day}"], args=[serial])

    # ------------------------------------------------------------------ processing
    def process(self, entries: list) -> GatewayStats:
        """Validate and append one batch of inbox entries, record refusals, acknowledge."""
        batch = GatewayStats(batches=1)
        entries = [(_s(entry_id), fields) for entry_id, fields in entries]
        live = [(i, f) for i, f in entries if f]
        ids = [_s(_raw(f).get("event_id", b"")) for _, f in live]
        done = self._seen(ids, [_s(_raw(f).get("case_id", b"")).strip() for _, f in live])
        checked, refused = [], []
        for (inbox_id, fields), event_id, seen in zip(live, ids, done):
            if seen is not None:   # appended before (a retry or a re-delivery)
                batch.duplicates += 1
                continue
            try:
                checked.append(self.check(inbox_id, fields))
            except (InvalidEvent, TransitionRefused) as exc:
                refused.append((inbox_id, fields, str(exc)))
            except (redis.RedisError, OSError):
                raise   # nothing acknowledged: the batch is read again
            except Exception as exc:  # noqa: BLE001 - an entry nobody foresaw must not stop the door
                log.exception("inbox entry %s failed validation unexpectedly", inbox_id)
                refused.append((inbox_id, fields, f"internal error: {exc.__class__.__name__}: {exc}"))
        if checked:
            by_id = dict(live)
            args = [a for c in checked for a in event_args(c.event, state=c.state, at_text=c.at_text,
                                                          body_text=c.body_text)]
            outcomes = self.stream.append_args([c.event.case_id for c in checked], args,
                                               dedupe=[self.done_key(c.event.event_id, c.event.case_id)
                                                       for c in checked], ttl=DONE_TTL)
            for item, outcome in zip(checked, outcomes):
                if isinstance(outcome, str):
                    batch.accepted += 1
                elif outcome.reason == "duplicate":
                    batch.duplicates += 1
                else:
                    refused.append((item.inbox_id, by_id[item.inbox_id], _refusal(item.event, outcome)))
        batch.refused = len(refused)
        # One transaction where it can be one; a cluster's keys lie in several slots.
        pipe = self.client.pipeline(transaction=hasattr(self.client, "connection_pool"))
        for inbox_id, fields, reason in refused:
            log.warning("inbox entry %s refused: %s", inbox_id, reason)
            pipe.xadd(self.rejected, {"inbox_id": inbox_id, "event_id": _s(_raw(fields).get("event_id", b"")),
                                      "reason": reason[:2000], "fields": _fields_json(fields)},
                      maxlen=REJECTED_MAXLEN, approximate=True)
        all_ids = [entry_id for entry_id, _ in entries]
        if all_ids:
            pipe.xack(self.inbox, INBOX_GROUP, *all_ids)
            pipe.xdel(self.inbox, *all_ids)
        pipe.execute()
        for name in ("accepted", "duplicates", "refused", "batches"):
            setattr(self.stats, name, getattr(self.stats, name) + getattr(batch, name))
        return batch

    def _seen(self, event_ids: list[str], case_ids: list[str]) -> list:
        """Per event: its once-only key's value (appended before) or None.  A report without
        a case id is looked up under the case id it was given the first time."""
        if not event_ids:
            return []
        if not self.partitioned:
            return self.client.mget([self.done_key(e) for e in event_ids])
        pipe = self.client.pipeline(transaction=False)
        for event_id, case_id in zip(event_ids, case_ids):
            pipe.get(self.done_key(event_id, case_id or self._assigned(event_id)))
        return pipe.execute()

    def _read(self, block_ms: int | None) -> list:
        """Own pending entries first (after a crash), then ones idle at a dead consumer, then new."""
        reply = self.client.xreadgroup(INBOX_GROUP, self.consumer, {self.inbox: "0"}, count=self.batch_size)
        entries = reply[0][1] if reply else []
        if not entries:
            try:
                entries = [e for e in self.client.xautoclaim(self.inbox, INBOX_GROUP, self.consumer, self.claim_idle_ms,
                                                              start_id="0-0", count=self.batch_size)[1]]
            except redis.ResponseError:
                entries = []
        if not entries:
            reply = self.client.xreadgroup(INBOX_GROUP, self.consumer, {self.inbox: ">"},
                                           count=self.batch_size, block=block_ms)
            entries = reply[0][1] if reply else []
        return entries

    def step(self, block_ms: int | None = None) -> int:
        """Process one batch; the number of inbox entries it held."""
        entries = self._read(block_ms)
        if entries:
            self.process(entries)
        return len(entries)

    def drain(self) -> GatewayStats:
        """Process everything in the inbox now, then return."""
        self.ensure_group()
        while not self._stop and self.step():
            pass
        return self.stats

    def run(self, block_ms: int = 1000) -> None:
        """Process forever (until :meth:`stop`), surviving Redis restarts."""
        self.ensure_group()
        while not self._stop:
            try:
                self.step(block_ms=block_ms)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                log.error("Redis unreachable, retrying in 2 s: %s", exc)
                time.sleep(2)
            except redis.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                self.ensure_group()   # the inbox was deleted or the server restarted empty


def _refusal(event: CaseEvent, conflict: Conflict) -> str:
    """The reason the checked append refused an inbox event, in the domain's words."""
    if conflict.reason == "early":
        return f"event time {event.at.isoformat()} is before the case was reported"
    if conflict.reason == "stage":
        try:
            check_stage(Stage(conflict.stage) if conflict.stage else None, None, event.case_id, event.type)
        except TransitionRefused as exc:
            return exc.reason
    return f"refused by the checked append ({conflict.reason}, stage {conflict.stage}, version {conflict.version})"


def _fields_json(fields: dict) -> str:
    return json.dumps({_s(k): _s(v) for k, v in fields.items()}, ensure_ascii=False)[:20000]


def rejected_entries(client, stream_key: str, count: int = 100) -> list[dict]:
    """The latest refusals of the inbox, newest first (for tests, tools and producers)."""
    entries = client.xrevrange(inbox_key(stream_key) + ":rejected", count=count)
    return [{_s(k): _s(v) for k, v in fields.items()} | {"id": _s(entry_id)} for entry_id, fields in entries]


__all__ = ["Gateway", "GatewayStats", "INBOX_GROUP", "DONE_TTL", "inbox_key", "rejected_entries"]
