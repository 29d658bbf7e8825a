"""Projection of one event onto a row of the ``cases`` table (pure).

The worker and ``citygrid rebuild`` both fold events through :func:`apply_event`, so
incremental processing and a replay give the same table.  A row is a plain dict with
the columns of ``cases``; times are aware datetimes.

Every column is settled when its event is applied — the clock of a stage (``warn_at``,
``deadline_at`` and, for a dispatch, ``handle_deadline_at``) is computed as the case
enters the stage.  So a row depends only on the events of its case, in stream order:
never on where a batch of the worker began or ended.  (An earlier version computed
clocks lazily at the end of a batch and lost the handling deadline of a case dispatched
and then suspended or returned within one batch.)
"""
from __future__ import annotations

from datetime import datetime

from dashboard.domain.components import is_component_code
from dashboard.domain.events import MAX_DEADLINE, CaseEvent, InvalidEvent, parse_time
from dashboard.domain.evidence import EvidenceRefused, check_photos
from dashboard.domain.visits import RESULTS as VISIT_RESULTS
from dashboard.domain.lifecycle import EventType, Stage, TransitionRefused, check_stage
from dashboard.domain.limits import warn_point
from dashboard.domain.scenario import Scenario

STAGE_TIME_COLUMN = {
    Stage.FILED: "filed_at", Stage.DISPATCHED: "dispatched_at", Stage.HANDLED: "handled_at",
    Stage.VERIFIED: "verified_at", Stage.CLOSED: "closed_at", Stage.REJECTED: "rejected_at",
}
SOURCES = ("inspector", "hotline12345", "app", "camera", "phone", "api", "import")
#: Stages without a clock: nothing is due while a case is closed, rejected or suspended.
UNTIMED = frozenset({Stage.CLOSED.value, Stage.REJECTED.value, Stage.SUSPENDED.value})
# Plain strings and dicts on the hot path: an Enum's ``.value`` is a Python-level property.
_DISPATCHED = Stage.DISPATCHED.value
_STAGE_VALUE = {s: s.value for s in Stage}
_TIME_COLUMN = {s.value: c for s, c in STAGE_TIME_COLUMN.items()}


_STAGES = {s.value: s for s in Stage}


def apply_event(row: dict | None, event: CaseEvent, scenario: Scenario,
                location: tuple[str, str, str] | None = None) -> dict:
    """The ``cases`` row after ``event`` (a new dict; ``row`` is not changed).

    Raises TransitionRefused or InvalidEvent.  ``location`` is (grid, community, street)
    of a ``reported`` event's position, found by the caller (the domain has no geometry
    engine).  Deadline sanity checks are relative to the event's own time, so the
    verdict does not depend on when the event is projected.
    """
    if row is None:
        stage = check_stage(None, None, event.case_id, event.type)
        return _new_case(event, scenario, location, stage)
    suspended = row["suspended_from"]
    stage = check_stage(_STAGES[row["stage"]], _STAGES[suspended] if suspended else None,
                        event.case_id, event.type)
    body, at, kind = event.body, event.at, event.type
    if at < row["reported_at"]:
        raise InvalidEvent(f"event time {at.isoformat()} is before the case was reported")
    row = dict(row)
    explicit = None
    if kind is EventType.DISPATCHED:
        department = str(body["department"])
        if department not in scenario.departments:
            raise InvalidEvent(f"unknown department {department[:40]!r}")
        row["department_code"] = department
        explicit = _explicit_deadline(body, at)
        if row.get("first_dispatched_at") is None:   # the period a case is evaluated in (issue 9)
            row["first_dispatched_at"] = at
    elif kind is EventType.RETURNED:
        row["return_count"] += 1
    elif kind is EventType.REWORK:
        row["rework_count"] += 1
    elif kind is EventType.EXTENDED:
        row["extension_count"] += 1
    elif kind is EventType.SUSPENDED:
        row["suspended_from"] = row["stage"]
    elif kind is EventType.RESUMED:
        row["suspended_from"] = None
    elif kind is EventType.HANDLED:
        deadline = row["handle_deadline_at"]
        row["handled_on_time"] = deadline is None or at <= deadline
    elif kind in _ISSUE11:
        _follow_up(row, kind, body, at)
    stage = _STAGE_VALUE[stage]
    if stage != row["stage"] or kind is EventType.REWORK:
        row["stage"] = stage
        row["stage_entered_at"] = at
        column = _TIME_COLUMN.get(stage)
        if column:
            row[column] = at
        _start_clock(row, scenario, at, explicit)
    if kind is EventType.EXTENDED:
        until = _later(body["until"], at)
        if row["deadline_at"] is not None and until <= row["deadline_at"]:
            raise InvalidEvent("an extension must move the deadline later")
        row["deadline_at"] = until
        row["warn_at"] = warn_point(row["stage_entered_at"], until)
        if row["stage"] == _DISPATCHED:
            row["handle_deadline_at"] = until
    row["version"] += 1
    row["updated_at"] = at
    row["last_actor"] = event.actor
    return row


_ISSUE11 = frozenset({EventType.ATTACHED, EventType.VISITED, EventType.REOPENED})


def _follow_up(row: dict, kind: EventType, body: dict, at: datetime) -> None:
    """Evidence photos and return visits (issue 11; see ``domain.evidence``, ``domain.visits``).

    Photos leave the row as it is (they are listed from their events); a visit records its
    result; a reopening is rework whose case is no longer closed."""
    if kind is EventType.ATTACHED:
        try:
            check_photos(body)
        except EvidenceRefused as exc:
            raise InvalidEvent(f"'attached' body: bad photos ({exc})") from None
    elif kind is EventType.VISITED:
        if body["result"] not in VISIT_RESULTS:
            raise InvalidEvent(f"visit result {str(body['result'])[:20]!r} is not one of {', '.join(VISIT_RESULTS)}")
        row["visit_result"], row["visited_at"] = body["result"], at
        row["visit_count"] += 1
    else:   # REOPENED
        row["rework_count"] += 1
        row["closed_at"] = None


def _later(value, at: datetime) -> datetime:
    """A deadline given in an event: ISO 8601, after 2000, at most two years after ``at``."""
    return parse_time(str(value), now=at, future=MAX_DEADLINE)


def _explicit_deadline(body: dict, at: datetime) -> datetime | None:
    """A deadline the dispatcher set by hand, checked now (it must lie after the dispatch)."""
    if not body.get("deadline"):
        return None
    deadline = _later(body["deadline"], at)
    if deadline <= at:
        raise InvalidEvent("the dispatch deadline is not after the dispatch time")
    return deadline


def _start_clock(row: dict, scenario: Scenario, at: datetime, explicit: datetime | None) -> None:
    """Start the clock of the stage the case just entered (at ``at``).

    ``handle_deadline_at`` is the deadline of the last dispatch (by hand, or from the
    time-limit table); it is kept while the case is suspended or returned."""
    stage = row["stage"]
    if stage in UNTIMED:
        warn = deadline = None
    elif explicit is not None:
        deadline = explicit
        warn = warn_point(at, deadline)
    else:
        warn, deadline = scenario.limits.deadline(stage, row["category_code"], row["urgency"], at)
    row["warn_at"], row["deadline_at"] = warn, deadline
    if stage == _DISPATCHED:
        row["handle_deadline_at"] = deadline


def _new_case(event: CaseEvent, scenario: Scenario, location, stage: Stage) -> dict:
    body = event.body
    category = str(body["category"])
    if category not in scenario.categories:
        raise InvalidEvent(f"unknown category {category[:40]!r}")
    if location is None:
        raise InvalidEvent(f"position {body['lon']},{body['lat']} is in no grid of the district")
    urgency = body.get("urgency", "normal")
    if urgency not in ("normal", "urgent"):
        raise InvalidEvent(f"urgency {str(urgency)[:20]!r} is neither normal nor urgent")
    source = body.get("source", "inspector")
    if source not in SOURCES:
        raise InvalidEvent(f"unknown source {str(source)[:20]!r} (one of {', '.join(SOURCES)})")
    component = body.get("component")
    if component is not None and not is_component_code(component):
        raise InvalidEvent(f"component {str(component)[:40]!r} is not a 16-digit component code")
    grid, community, street = location
    row = {
        "case_id": event.case_id, "stage": stage.value, "category_code": category, "urgency": urgency,
        "department_code": None, "grid_code": grid, "community_code": community, "street_code": street,
        "lon": float(body["lon"]), "lat": float(body["lat"]), "source": source,
        "description": str(body.get("description", ""))[:2000], "reporter": event.actor,
        "reported_at": event.at, "filed_at": None, "dispatched_at": None, "first_dispatched_at": None,
        "handled_at": None,
        "verified_at": None, "closed_at": None, "rejected_at": None, "stage_entered_at": event.at,
        "warn_at": None, "deadline_at": None, "handle_deadline_at": None, "handled_on_time": None,
        "rework_count": 0, "return_count": 0, "extension_count": 0, "suspended_from": None,
        "version": 1, "updated_at": event.at, "last_actor": event.actor, "component_code": component,
        "visit_result": None, "visited_at": None, "visit_count": 0,
    }
    _start_clock(row, scenario, event.at, None)
    return row


__all__ = ["apply_event", "TransitionRefused", "InvalidEvent", "SOURCES"]
