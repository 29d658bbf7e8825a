"""The leaders' daily briefing: what its figures mean (pure rules, standard library only).

A briefing is about one local day D of the centre's time zone (Asia/Shanghai for
Dongcheng): the instants ``[D 00:00, D+1 00:00)``.  Every figure counts by the time an
event happened (``case_events.at``), never by the time it was projected, and a day never
borrows an event from either side of its midnight.

Headline figures (README "Daily briefing" has the same table):

=================  ==========================================================================
``new``            ``reported`` events in D (新增案件)
``filed``          ``filed`` events in D (立案)
``dispatched``     cases whose *first* ``dispatched`` event falls in D (派遣; a re-dispatch
                   after 退回 or 返工 is not counted again) — D's cohort, the "due" cases of
                   the department evaluation for D
``closed``         ``closed`` events in D (结案)
``closure_rate``   of D's cohort, the share closed by now (结案率 = closed / due)
``on_time_rate``   of D's cohort's handled cases (their latest handling stands: stage
                   handled, verified or closed), the share handled no later than their
                   handling deadline (按期处置率 = handled on time / handled)
``overdue``        cases open at the end of D (24:00) past their current stage's deadline
``public_share``   share of D's new cases first reported by the public (hotline 12345, app,
                   phone) — DOMAIN.md §4's public-report rate
=================  ==========================================================================

Each is compared with the previous day and with the same weekday a week earlier.  The
cohort rates of those days are taken *at the same age* (closed / handled within the same
time after their day began), so that a day is not made to look better only because its
cases had longer to close.  (A comparison day's case counts as handled by then when its
latest handling stands now and happened by then.)

These are the definitions of the department evaluation (``/departments``) for one day: a
case belongs to the day it was first dispatched and to the department it is dispatched to
now; due, closed, handled and handled on time as above.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

#: Sources that mean "first reported by the public" (DOMAIN.md §4, 漏报率 and region figures).
PUBLIC_SOURCES = frozenset({"hotline12345", "app", "phone"})
#: Event major class of emergencies (突发事件, DOMAIN.md §8).
EMERGENCY_GROUP = "E04"

HEADLINES = ("new", "filed", "dispatched", "closed", "closure_rate", "on_time_rate", "overdue", "public_share")
RATES = frozenset({"closure_rate", "on_time_rate", "public_share"})
#: Headlines where a rise is bad news (the narrative and the page colour changes by this).
WORSE_WHEN_UP = frozenset({"overdue"})
#: The comparisons every headline carries: name → days back.
COMPARISONS = (("prev_day", 1), ("last_week", 7))
#: A department with fewer cases in the day's cohort is listed but not named best or worst.
RANKING_MIN_DUE = 5
#: Stages in which a department's latest handling stands: a case sent back for rework is
#: not handled until it is handled again (the /departments evaluation's definition).
HANDLED_STAGES = frozenset({"handled", "verified", "closed"})


class BriefingDateError(ValueError):
    """A briefing date that cannot be read or lies in the future (one-line message, in
    English; ``key`` and ``values`` name the same message in the i18n catalogue)."""

    def __init__(self, key: str, text: str, **values):
        self.key, self.values = key, values
        super().__init__(text)


def category_group(category_code: str) -> str:
    """The major class a category belongs to: ``E0102`` → ``E01`` (市容环境事件)."""
    return category_code[:3]


def is_emergency(category_code: str, urgency: str) -> bool:
    """突发事件 in the sense of DOMAIN.md §8: event class 04 reported as urgent."""
    return category_group(category_code) == EMERGENCY_GROUP and urgency == "urgent"


def is_public(source: str) -> bool:
    return source in PUBLIC_SOURCES


def day_bounds(day: date, tz) -> tuple[datetime, datetime]:
    """``[start, end)`` of local day ``day`` as UTC instants (23 or 25 hours on a DST change)."""
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def local_day(at: datetime, tz) -> date:
    """The local date of an instant."""
    return at.astimezone(tz).date()


def resolve_day(text: str | None, today: date) -> date:
    """A briefing date from the command line or a URL: ``YYYY-MM-DD``, ``yesterday``
    (the default) or ``today``; a day after ``today`` is refused."""
    text = (text or "yesterday").strip().lower()
    if text == "yesterday":
        return today - timedelta(days=1)
    if text == "today":
        return today
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BriefingDateError("briefing.date_unreadable", f"date {text[:40]!r} is not YYYY-MM-DD, 'yesterday' or 'today'",
                                date=text[:40]) from None
    if day > today:
        raise BriefingDateError("briefing.date_future", f"date {day.isoformat()} lies in the future "
                                f"(today is {today.isoformat()})", date=day.isoformat(), today=today.isoformat())
    return day


@dataclass(frozen=True)
class Change:
    """A figure against an earlier one: ``delta`` in the figure's unit (cases, or rate
    points for rates), ``relative`` the ratio change of counts (None for rates or when the
    earlier count was 0), and the earlier value itself."""

    base: float | None
    delta: float | None
    relative: float | None


def change(value: float | None, base: float | None, rate: bool = False) -> Change:
    """``value`` against ``base`` (None when either is missing)."""
    if value is None or base is None:
        return Change(base, None, None)
    delta = value - base
    relative = None if rate or base == 0 else delta / base
    return Change(base, delta, relative)


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def direction(delta: float | None, name: str) -> str:
    """``better``, ``worse`` or ``same`` for a change of headline ``name``.

    Rising counts of work (new, filed, dispatched, public share) are neither better nor
    worse — they are ``up``/``down``; rising closures and rates are better; rising overdue
    cases are worse."""
    if delta is None or delta == 0:
        return "same"
    if name in WORSE_WHEN_UP:
        return "worse" if delta > 0 else "better"
    if name in ("closed", "closure_rate", "on_time_rate"):
        return "better" if delta > 0 else "worse"
    return "up" if delta > 0 else "down"


def is_overdue(stage: str, deadline_at: datetime | None, at: datetime) -> bool:
    """An open case whose current stage's deadline has come at instant ``at`` (the wall's and
    the traffic light's rule: red from 100 % of the limit)."""
    return stage not in ("closed", "rejected") and deadline_at is not None and deadline_at <= at


__all__ = ["PUBLIC_SOURCES", "EMERGENCY_GROUP", "HEADLINES", "RATES", "COMPARISONS", "RANKING_MIN_DUE", "HANDLED_STAGES", "BriefingDateError",
           "category_group", "is_emergency", "is_public", "day_bounds", "local_day", "resolve_day", "Change",
           "change", "ratio", "direction", "is_overdue"]
