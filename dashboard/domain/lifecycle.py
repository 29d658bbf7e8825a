"""The six-stage closed loop of a case, as a pure state machine.

reported → filed → dispatched → handled → verified → closed, plus the side paths the
field has: rejected (不予立案), returned (退回, back to filed for re-dispatch), rework
(返工, back to the same department), extended (延期: a later deadline, same stage),
suspended (挂账) and resumed.

An event that the current stage does not allow raises :class:`TransitionRefused` with a
reason; it is never applied.  Time limits are not decided here (see ``limits``).
"""
from __future__ import annotations

from enum import Enum


class Stage(str, Enum):
    REPORTED = "reported"
    FILED = "filed"
    DISPATCHED = "dispatched"
    HANDLED = "handled"
    VERIFIED = "verified"
    CLOSED = "closed"
    REJECTED = "rejected"
    SUSPENDED = "suspended"

    @property
    def is_open(self) -> bool:
        return self not in (Stage.CLOSED, Stage.REJECTED)


#: The six stages of the loop, in order (what the wall's stage strip shows).
LOOP_STAGES = (Stage.REPORTED, Stage.FILED, Stage.DISPATCHED, Stage.HANDLED, Stage.VERIFIED, Stage.CLOSED)
OPEN_STAGES = tuple(s for s in Stage if s.is_open)
#: The same as plain names (what pages and JSON carry); the wall's marker colours follow
#: the order of :data:`OPEN_STAGE_NAMES`.
LOOP_STAGE_NAMES = tuple(s.value for s in LOOP_STAGES)
OPEN_STAGE_NAMES = tuple(s.value for s in OPEN_STAGES)


class EventType(str, Enum):
    REPORTED = "reported"
    FILED = "filed"
    REJECTED = "rejected"
    DISPATCHED = "dispatched"
    RETURNED = "returned"
    HANDLED = "handled"
    VERIFIED = "verified"
    REWORK = "rework"
    CLOSED = "closed"
    EXTENDED = "extended"
    SUSPENDED = "suspended"
    RESUMED = "resumed"


class TransitionRefused(Exception):
    """An event that the case's current stage does not allow."""

    def __init__(self, case_id: str, event_type: str, stage: str | None, reason: str):
        self.case_id, self.event_type, self.stage, self.reason = case_id, event_type, stage, reason
        super().__init__(reason)


#: event type → (stages it may be applied in, stage it leads to; None = unchanged/special).
#: ``None`` in the from-set means "the case does not exist yet".
TRANSITIONS: dict[EventType, tuple[frozenset, Stage | None]] = {
    EventType.REPORTED: (frozenset({None}), Stage.REPORTED),
    EventType.FILED: (frozenset({Stage.REPORTED}), Stage.FILED),
    EventType.REJECTED: (frozenset({Stage.REPORTED}), Stage.REJECTED),
    EventType.DISPATCHED: (frozenset({Stage.FILED}), Stage.DISPATCHED),
    EventType.RETURNED: (frozenset({Stage.DISPATCHED}), Stage.FILED),
    EventType.HANDLED: (frozenset({Stage.DISPATCHED}), Stage.HANDLED),
    EventType.VERIFIED: (frozenset({Stage.HANDLED}), Stage.VERIFIED),
    EventType.REWORK: (frozenset({Stage.HANDLED}), Stage.DISPATCHED),
    EventType.CLOSED: (frozenset({Stage.VERIFIED}), Stage.CLOSED),
    EventType.EXTENDED: (frozenset({Stage.FILED, Stage.DISPATCHED, Stage.HANDLED, Stage.VERIFIED}), None),
    EventType.SUSPENDED: (frozenset({Stage.FILED, Stage.DISPATCHED}), Stage.SUSPENDED),
    EventType.RESUMED: (frozenset({Stage.SUSPENDED}), None),
}

#: Body fields each event type must carry (beyond the envelope).
REQUIRED_BODY = {
    EventType.REPORTED: ("category", "lon", "lat"),
    EventType.REJECTED: ("reason",),
    EventType.DISPATCHED: ("department",),
    EventType.RETURNED: ("reason",),
    EventType.REWORK: ("reason",),
    EventType.EXTENDED: ("until",),
    EventType.SUSPENDED: ("reason",),
}


def allowed_from(event_type: EventType) -> frozenset:
    """The stages (``None`` = not yet existing) in which ``event_type`` may be applied."""
    return TRANSITIONS[event_type][0]


def check_stage(current: Stage | None, suspended_from: Stage | None, case_id: str, event_type: EventType) -> Stage:
    """The stage a case in ``current`` (None: not yet existing) moves to with
    ``event_type``, or :class:`TransitionRefused` with the reason."""
    sources, target = TRANSITIONS[event_type]
    if current not in sources:
        if current is None:
            reason = f"case {case_id} does not exist; only a 'reported' event can create it"
        elif event_type is EventType.REPORTED:
            reason = f"case {case_id} already exists (stage {current.value})"
        else:
            allowed = ", ".join(sorted(s.value for s in sources if s))
            reason = (f"'{event_type.value}' is not allowed for case {case_id} in stage "
                      f"'{current.value}' (allowed in: {allowed})")
        raise TransitionRefused(case_id, event_type.value, current.value if current else None, reason)
    if event_type is EventType.RESUMED:
        return suspended_from or Stage.FILED
    return target or current
