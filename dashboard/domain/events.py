"""Case events: the envelope every stream entry carries, and its validation.

Stream entry fields (all strings): ``event_id`` (idempotency key), ``case_id``,
``type`` (an :class:`EventType` value), ``at`` (ISO 8601 with offset), ``actor``,
``body`` (a JSON object).  :func:`parse_entry` turns raw fields into a
:class:`CaseEvent` or raises :class:`InvalidEvent` with a one-line reason.
"""
from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from dashboard.domain.codes import is_case_id
from dashboard.domain.inputs import EARLIEST, LATEST, InputRefused, reject_constant, storable_problem
from dashboard.domain.lifecycle import REQUIRED_BODY, EventType

ENVELOPE = ("event_id", "case_id", "type", "at", "actor", "body")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_LATEST_MS = int((LATEST - EPOCH).total_seconds() * 1000)
MAX_FUTURE = timedelta(hours=1)
MAX_DEADLINE = timedelta(days=731)
MAX_BODY = 16_384
MAX_DEPTH = 16           # a body nests objects/arrays at most this deep
_INF = math.inf
_EVENT_TYPES = {t.value: t for t in EventType}
_KEYS = tuple(name.encode() for name in ENVELOPE)
#: ``json.loads(text, parse_constant=...)`` builds a decoder on every call (a sixth of an
#: entry's parse): one decoder for every body, with json.loads' own refusal of a BOM.
_BODY = json.JSONDecoder(parse_constant=reject_constant)


class InvalidEvent(ValueError):
    """A stream entry that cannot be applied; the reason goes to the dead-letter store."""


@dataclass(slots=True)
class CaseEvent:
    """One event of a case (treat as immutable; not frozen because the worker builds
    hundreds of thousands of them and frozen dataclasses are slow to construct)."""

    event_id: str
    case_id: str
    type: EventType
    at: datetime
    actor: str
    body: dict = field(default_factory=dict)
    #: the body exactly as the producer wrote it (set by :func:`parse_entry`; stored as is)
    body_text: str = field(default="", compare=False, repr=False)

    def to_fields(self) -> dict[str, str]:
        """The stream entry fields for this event."""
        return {
            "event_id": self.event_id,
            "case_id": self.case_id,
            "type": self.type.value,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "body": json.dumps(self.body, ensure_ascii=False, separators=(",", ":")),
        }


def new_event_id() -> str:
    return uuid.uuid4().hex


def stream_time(stream_id: str | bytes) -> datetime:
    """The instant a Redis stream entry was recorded: the milliseconds of its id.

    This is the clock validation runs on ("is this event in the future?"), so that the
    verdict on an entry is the same whenever and wherever it is read.  Ids beyond
    :data:`LATEST` (possible with explicit ids) are clamped to it."""
    if isinstance(stream_id, bytes):
        stream_id = stream_id.decode("ascii")
    ms = int(stream_id.partition("-")[0])
    if ms >= _LATEST_MS:
        return LATEST
    return EPOCH + timedelta(milliseconds=ms)


def _text(fields: dict, name: str, key: bytes) -> str:
    """One field as text (Redis gives bytes); missing, empty, bad UTF-8 or a NUL character
    (which PostgreSQL cannot store) is an InvalidEvent."""
    raw = fields.get(key)
    if raw is None:
        raw = fields.get(name)
        if raw is None:
            raise InvalidEvent(f"missing field '{name}'")
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidEvent(f"field '{name}' is not valid UTF-8 ({exc.reason})") from None
    elif not isinstance(raw, str):
        raw = str(raw)
    elif not raw.isascii():
        _check_storable(raw, f"field '{name}'")
    if not raw or raw.isspace():
        raise InvalidEvent(f"field '{name}' is empty")
    if "\x00" in raw:
        raise InvalidEvent(f"field '{name}' contains a NUL character")
    return raw


def _check_storable(text: str, what: str) -> None:
    """Text every database can store: no NUL, no lone surrogate (``"\ud800"`` in JSON) —
    the edge rule of :func:`dashboard.domain.inputs.storable_problem`."""
    problem = storable_problem(text)
    if problem:
        raise InvalidEvent(f"{what} {problem}")


def _check_body_values(value, depth: int = 1) -> None:
    """Walk a body's nested values: bounded depth, storable strings, finite numbers (only
    called when the body has nesting or escapes, so a plain body costs nothing)."""
    if depth > MAX_DEPTH:
        raise InvalidEvent(f"body nested deeper than {MAX_DEPTH} levels")
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if isinstance(key, str):
            _check_storable(key, "body")
        if isinstance(item, str):
            _check_storable(item, "body")
        elif isinstance(item, float) and not math.isfinite(item):
            raise InvalidEvent("body holds a number that is not finite")
        elif isinstance(item, (dict, list)):
            _check_body_values(item, depth + 1)


def parse_time(text: str, now: datetime | None = None, future: timedelta = MAX_FUTURE) -> datetime:
    """Parse an ISO 8601 instant with offset, as UTC, and check it is not absurd.

    ``future`` is how far ahead of ``now`` it may lie (an event: an hour of clock skew
    past its stream entry's time; a deadline: up to two years after the event).  ``now``
    defaults to the process clock — the projection always passes an instant of the
    stream, never the clock, so that its verdicts do not depend on when it runs."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidEvent(f"time {text!r} is not ISO 8601") from None
    if at.tzinfo is None:
        raise InvalidEvent(f"time {text!r} has no UTC offset")
    now = now or datetime.now(timezone.utc)
    try:
        # One time zone object for every instant of the projection: comparing datetimes
        # that share their tzinfo is 40 times cheaper than across offsets.
        at = at.astimezone(timezone.utc)
        absurd = at < EARLIEST or at >= LATEST or at > now + future
    except OverflowError:   # offsets at the very ends of the datetime range
        absurd = True
    if absurd:
        raise InvalidEvent(f"time {text} is absurd (before 2000 or in the future)")
    return at


def parse_entry(fields: dict, bbox: tuple[float, float, float, float] | None = None,
                now: datetime | None = None) -> CaseEvent:
    """Validate raw stream fields (bytes or str) into a :class:`CaseEvent`.

    ``now`` is the instant the entry was recorded (:func:`stream_time` of its id): the
    event may lie at most :data:`MAX_FUTURE` after it.  Every way an entry can be bad
    ends in :class:`InvalidEvent` — never another exception — so a poisonous entry is a
    dead letter with a reason, the same for the worker and for a rebuild."""
    try:   # the usual entry: six fields of UTF-8 bytes, read without intermediate objects
        values = [raw.decode() for raw in map(fields.get, _KEYS)]
        plain = all(values) and "\x00" not in "".join(values) and not any(map(str.isspace, values))
        event_id, case_id, type_text, at_text, actor, body_text = values
    except (AttributeError, UnicodeDecodeError):
        plain = False
    if not plain:   # anything else: field by field, with the precise reason
        event_id, case_id, type_text, at_text, actor, body_text = [
            _text(fields, name, key) for name, key in zip(ENVELOPE, _KEYS)]
    if len(event_id) > 64:
        raise InvalidEvent("event_id longer than 64 characters")
    if len(case_id) != 16 or not is_case_id(case_id):
        raise InvalidEvent(f"case_id {case_id[:40]!r} is not like DC20261124000123")
    event_type = _EVENT_TYPES.get(type_text)
    if event_type is None:
        raise InvalidEvent(f"unknown event type {type_text[:40]!r}")
    at = parse_time(at_text, now)
    actor = actor[:64]
    if len(body_text) > MAX_BODY:
        raise InvalidEvent(f"body larger than {MAX_BODY} bytes")
    try:   # NaN and Infinity are no JSON: an answer carrying them would be unreadable to clients
        if body_text.startswith("\ufeff"):
            raise ValueError("a BOM")   # as json.loads says
        body = _BODY.decode(body_text)
    except InputRefused:
        raise InvalidEvent("body holds NaN or Infinity, which JSON does not allow") from None
    except RecursionError:
        raise InvalidEvent(f"body nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        raise InvalidEvent("body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidEvent("body is not a JSON object")
    if "\\u" in body_text or "[" in body_text or body_text.find("{", 1) != -1:
        _check_body_values(body)
    elif _INF in body.values() or -_INF in body.values():   # 1e400 parses as inf (NaN never: refused above)
        raise InvalidEvent("body holds a number that is not finite")
    missing = [name for name in REQUIRED_BODY.get(event_type, ()) if body.get(name) in (None, "")]
    if missing:
        raise InvalidEvent(f"'{event_type.value}' body lacks {', '.join(missing)}")
    if event_type is EventType.REPORTED:
        _check_position(body, bbox)
    return CaseEvent(event_id, case_id, event_type, at, actor, body, body_text)


def _coordinate(value) -> float:
    """A finite float from a JSON number (a 400-digit integer does not fit a float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidEvent("lon/lat are not numbers")
    try:
        number = float(value)
    except OverflowError:
        raise InvalidEvent("lon/lat are not finite numbers") from None
    if not math.isfinite(number):
        raise InvalidEvent("lon/lat are not finite numbers")
    return number


def _check_position(body: dict, bbox) -> None:
    lon, lat = _coordinate(body.get("lon")), _coordinate(body.get("lat"))
    body["lon"], body["lat"] = lon, lat   # the parsed body only; the stored text is unchanged
    if bbox is not None:
        west, south, east, north = bbox
        if not (west <= lon <= east and south <= lat <= north):
            raise InvalidEvent(f"position {lon:.5f},{lat:.5f} is outside the district")
