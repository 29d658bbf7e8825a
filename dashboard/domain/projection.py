"""Projection of one event onto a row of the ``cases`` table (pure).

The worker and ``citygrid rebuild`` both fold events through :func:`apply_event`, so
incremental processing and a replay give the same table.  A row is a plain dict with
the columns of ``cases``; times are aware datetimes.
"""
from __future__ import annotations

from datetime import datetime

from dashboard.domain.events import MAX_DEADLINE, CaseEvent, InvalidEvent, parse_time
from dashboard.domain.lifecycle import EventType, Stage, TransitionRefused, check_stage
from dashboard.domain.limits import warn_point
from dashboard.domain.scenario import Scenario

STAGE_TIME_COLUMN = {
    Stage.FILED: "filed_at", Stage.DISPATCHED: "dispatched_at", Stage.HANDLED: "handled_at",
    Stage.VERIFIED: "verified_at", Stage.CLOSED: "closed_at", Stage.REJECTED: "rejected_at",
}
SOURCES = ("inspector", "hotline12345", "app", "camera", "phone", "api", "import")


_STAGES = {s.value: s for s in Stage}
PENDING = "_pending_deadline"  # (entered_at, explicit deadline) of a clock not yet computed


def apply_event(row: dict | None, event: CaseEvent, scenario: Scenario,
                location: tuple[str, str, str] | None = None, lazy: bool = False) -> dict:
    """The ``cases`` row after ``event``; raises TransitionRefused or InvalidEvent.

    ``location`` is (grid, community, street) of a ``reported`` event's position,
    found by the caller (the domain has no geometry engine).  With ``lazy`` the
    deadline of a newly entered stage is computed only when needed (by a later event
    of the same batch, or by :func:`settle` before the row is written): a case that
    moves through several stages in one batch has only its last clock computed.
    """
    row = _apply(row, event, scenario, location)
    return row if lazy else settle(row, scenario)


def settle(row: dict, scenario: Scenario) -> dict:
    """Compute a pending stage clock (deadline, 80% warning point) in place."""
    pending = row.pop(PENDING, None)
    if pending is not None:
        _set_deadline(row, scenario, *pending)
    return row


def _apply(row, event, scenario, location) -> dict:
    if row is None:
        stage = check_stage(None, None, event.case_id, event.type)
    else:
        suspended = row["suspended_from"]
        stage = check_stage(_STAGES[row["stage"]], _STAGES[suspended] if suspended else None,
                            event.case_id, event.type)
    body, at = event.body, event.at
    if row is None:
        return _new_case(event, scenario, location, stage)
    if at < row["reported_at"]:
        raise InvalidEvent(f"event time {at.isoformat()} is before the case was reported")
    row = dict(row)
    kind = event.type
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
        settle(row, scenario)
        deadline = row["handle_deadline_at"]
        row["handled_on_time"] = deadline is None or at <= deadline
    if stage.value != row["stage"] or kind in (EventType.REWORK,):
        row["stage"] = stage.value
        row["stage_entered_at"] = at
        column = STAGE_TIME_COLUMN.get(stage)
        if column:
            row[column] = at
        row[PENDING] = (at, explicit if kind is EventType.DISPATCHED else None)
    if kind is EventType.EXTENDED:
        settle(row, scenario)
        until = parse_time(str(body["until"]), future=MAX_DEADLINE)
        if row["deadline_at"] is not None and until <= row["deadline_at"]:
            raise InvalidEvent("an extension must move the deadline later")
        row["deadline_at"] = until
        row["warn_at"] = warn_point(row["stage_entered_at"], until)
        if row["stage"] == Stage.DISPATCHED.value:
            row["handle_deadline_at"] = until
    row["version"] += 1
    row["updated_at"] = at
    row["last_actor"] = event.actor
    return row


def _explicit_deadline(body: dict, at: datetime) -> datetime | None:
    """A deadline the dispatcher set by hand, checked now (it must lie after the dispatch)."""
    if not body.get("deadline"):
        return None
    deadline = parse_time(str(body["deadline"]), future=MAX_DEADLINE)
    if deadline <= at:
        raise InvalidEvent("the dispatch deadline is not after the dispatch time")
    return deadline


def _set_deadline(row: dict, scenario: Scenario, at: datetime, explicit: datetime | None) -> None:
    """Start the clock of the stage the case just entered."""
    if explicit is not None:
        deadline = explicit
        warn = warn_point(at, deadline)
    else:
        warn, deadline = scenario.limits.deadline(row["stage"], row["category_code"], row["urgency"], at)
    if row["stage"] in (Stage.CLOSED.value, Stage.REJECTED.value, Stage.SUSPENDED.value):
        warn = deadline = None
    row["warn_at"], row["deadline_at"] = warn, deadline
    if row["stage"] == Stage.DISPATCHED.value:
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
        "version": 1, "updated_at": event.at, "last_actor": event.actor,
    }
    row[PENDING] = (event.at, None)
    return row


__all__ = ["apply_event", "TransitionRefused", "InvalidEvent", "SOURCES"]
