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
from dashboard.domain.lifecycle import REQUIRED_BODY, EventType

ENVELOPE = ("event_id", "case_id", "type", "at", "actor", "body")
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
MAX_FUTURE = timedelta(hours=1)
MAX_DEADLINE = timedelta(days=731)
MAX_BODY = 16_384
_EVENT_TYPES = {t.value: t for t in EventType}


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


def _text(fields: dict, name: str, key: bytes) -> str:
    """One field as text (Redis gives bytes); missing, empty or bad UTF-8 is an InvalidEvent."""
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
    if not raw or raw.isspace():
        raise InvalidEvent(f"field '{name}' is empty")
    return raw


def parse_time(text: str, now: datetime | None = None, future: timedelta = MAX_FUTURE) -> datetime:
    """Parse an ISO 8601 instant with offset and check it is not absurd.

    ``future`` is how far ahead of now it may lie (an event: an hour of clock skew; a
    deadline: up to two years)."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidEvent(f"time {text!r} is not ISO 8601") from None
    if at.tzinfo is None:
        raise InvalidEvent(f"time {text!r} has no UTC offset")
    now = now or datetime.now(timezone.utc)
    if at < EARLIEST or at > now + future:
        raise InvalidEvent(f"time {text} is absurd (before 2000 or in the future)")
    return at


def parse_entry(fields: dict, bbox: tuple[float, float, float, float] | None = None,
                now: datetime | None = None) -> CaseEvent:
    """Validate raw stream fields (bytes or str) into a :class:`CaseEvent`."""
    event_id = _text(fields, "event_id", b"event_id")
    if len(event_id) > 64:
        raise InvalidEvent("event_id longer than 64 characters")
    case_id = _text(fields, "case_id", b"case_id")
    if not is_case_id(case_id):
        raise InvalidEvent(f"case_id {case_id[:40]!r} is not like DC20261124000123")
    type_text = _text(fields, "type", b"type")
    event_type = _EVENT_TYPES.get(type_text)
    if event_type is None:
        raise InvalidEvent(f"unknown event type {type_text[:40]!r}")
    at = parse_time(_text(fields, "at", b"at"), now)
    actor = _text(fields, "actor", b"actor")[:64]
    body_text = _text(fields, "body", b"body")
    if len(body_text) > MAX_BODY:
        raise InvalidEvent(f"body larger than {MAX_BODY} bytes")
    try:
        body = json.loads(body_text)
    except ValueError:
        raise InvalidEvent("body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidEvent("body is not a JSON object")
    missing = [name for name in REQUIRED_BODY.get(event_type, ()) if body.get(name) in (None, "")]
    if missing:
        raise InvalidEvent(f"'{event_type.value}' body lacks {', '.join(missing)}")
    if event_type is EventType.REPORTED:
        _check_position(body, bbox)
    return CaseEvent(event_id, case_id, event_type, at, actor, body)


def _check_position(body: dict, bbox) -> None:
    lon, lat = body.get("lon"), body.get("lat")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
               for v in (lon, lat)):
        raise InvalidEvent("lon/lat are not numbers")
    if bbox is not None:
        west, south, east, north = bbox
        if not (west <= lon <= east and south <= lat <= north):
            raise InvalidEvent(f"position {lon:.5f},{lat:.5f} is outside the district")
