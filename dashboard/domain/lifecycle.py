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
    # issue 11: evidence photos and return visits (回访)
    ATTACHED = "attached"       # photos attached (hashes and metadata only, never bytes)
    VISITED = "visited"         # a return visit to the public reporter of a closed case
    REOPENED = "reopened"       # an unsatisfied visit sends the case back to its department


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
    # photos before (reported/filed), during handling (dispatched) and at verification (handled)
    EventType.ATTACHED: (frozenset({Stage.REPORTED, Stage.FILED, Stage.DISPATCHED, Stage.HANDLED}), None),
    EventType.VISITED: (frozenset({Stage.CLOSED}), None),
    # rework (返工) with the same department: the handling clock starts again
    EventType.REOPENED: (frozenset({Stage.CLOSED}), Stage.DISPATCHED),
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
    EventType.ATTACHED: ("photos",),
    EventType.VISITED: ("result",),
    EventType.REOPENED: ("reason",),
}

#: What a person must give for an act, beyond what the stream requires (issue 11: a handling
#: note saying what was done).  Not in :data:`REQUIRED_BODY`: events recorded before the rule
#: (and other systems' events through the inbox) stay valid on the stream and under rebuild.
REQUIRED_INPUT = {
    EventType.HANDLED: ("note",),
}


class MissingInput(ValueError):
    """An act without the input a person must give for it (see :data:`REQUIRED_INPUT`)."""

    def __init__(self, event_type: "EventType", names: tuple[str, ...]):
        self.event_type, self.names = event_type, names
        super().__init__(f"'{event_type.value}' needs {', '.join(names)}")


def check_input(event_type: EventType, body: dict) -> None:
    """Raise :class:`MissingInput` when ``body`` lacks (or leaves blank) an input of
    :data:`REQUIRED_INPUT` for ``event_type``."""
    missing = tuple(name for name in REQUIRED_INPUT.get(event_type, ())
                    if not str(body.get(name) or "").strip())
    if missing:
        raise MissingInput(event_type, missing)


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
