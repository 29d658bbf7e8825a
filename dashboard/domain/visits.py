"""Return visits (回访, issue 11): after a case first reported by the public is closed, a
call-taker of the supervision centre calls the reporter back and records whether they are
satisfied.  The satisfaction rate is the figure the field is judged by (Dongcheng Q1 2018:
47.8 %, 46.5 %, 52.1 %).

Rules (pure, no I/O):

* only cases whose ``source`` is a public channel (:data:`PUBLIC_SOURCES`) are visited, and
  only when closed; a case waits for a visit until one is recorded after its (last) closure;
* a visit's result is satisfied (满意), basically satisfied (基本满意) or unsatisfied (不满意),
  with a note;
* an *unsatisfied* visit may reopen the case (a ``reopened`` event after the ``visited``
  one): it goes back to **dispatched**, with the same department, as rework (返工 —
  ``rework_count`` + 1, a new handling clock), and after it is closed again it waits for
  another visit;
* satisfaction rate = (satisfied + basically satisfied) / visited, counting each case by
  its latest visit.
"""
from __future__ import annotations

from dashboard.domain.lifecycle import Stage

#: sources that are the public (12345 hotline, the app, a phone call to the centre)
PUBLIC_SOURCES = ("hotline12345", "app", "phone")
RESULTS = ("satisfied", "basically", "unsatisfied")
SATISFIED = ("satisfied", "basically")
#: the stage an unsatisfied visit sends a case back to (its department handles it again)
REOPEN_STAGE = Stage.DISPATCHED
NOTE_MAX = 1000


class VisitRefused(ValueError):
    """A visit that cannot be recorded; ``key`` names the reason (an i18n key suffix)."""

    def __init__(self, key: str):
        self.key = key
        super().__init__(key)


def check_visit(stage: str | None, source: str | None, result, reopen: bool = False) -> None:
    """Raise :class:`VisitRefused` unless a visit with ``result`` may be recorded for a case
    in ``stage`` reported through ``source`` (``reopen``: the visit reopens the case)."""
    if result not in RESULTS:
        raise VisitRefused("result")
    if source not in PUBLIC_SOURCES:
        raise VisitRefused("not_public")
    if stage != Stage.CLOSED.value:
        raise VisitRefused("not_closed")
    if reopen and result != "unsatisfied":
        raise VisitRefused("reopen_satisfied")


def awaiting_visit(row: dict) -> bool:
    """Whether a case (a ``cases`` row) waits for a return visit: closed, reported by the
    public, and not visited since its last closure."""
    if row.get("stage") != Stage.CLOSED.value or row.get("source") not in PUBLIC_SOURCES:
        return False
    visited, closed = row.get("visited_at"), row.get("closed_at")
    return visited is None or (closed is not None and visited < closed)


def satisfaction_rate(satisfied: int, basically: int, visited: int) -> float | None:
    """(satisfied + basically satisfied) / visited; None when nobody was visited."""
    return (satisfied + basically) / visited if visited else None
