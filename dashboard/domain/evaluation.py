"""Evaluating departments over a period (DOMAIN.md §4): which period a view covers, what
each figure means, the targets its rates are held to and their CityScore-style ratios.

The composite and the grade themselves are :func:`dashboard.domain.indicators.department_score`
(the wall's board uses the same function); this module adds what a period report needs
around them.  Pure: standard library only.

Definitions (the page's "how is this computed" note and the README say the same):

- a case belongs to the period in which it was **first dispatched** (local days of the
  working calendar's time zone, both ends inclusive) and to the department it is
  **dispatched to now** (a returned case waiting for re-dispatch stays with the department
  that returned it until it is dispatched again); rejected reports are never dispatched, so
  they never count;
- ``due`` = the period's cases; ``handled`` = those whose department's latest handling
  stands (stage handled, verified or closed — a case sent back for rework is not handled
  until it is handled again); ``handled_on_time`` = handled no later than the handling
  deadline of their last dispatch or rework, extensions included; ``closed`` = stage closed;
- ``reworks`` = rework orders (返工) on the period's cases; ``extensions`` = extensions
  (延期) granted on them; ``returns`` = returns (退回) of the period's cases, counted for the
  department that returned them (the one the case was dispatched to at that moment);
- ``overdue_now`` = the period's cases waiting for their department (stage dispatched)
  whose handling deadline has passed; ``backlog`` = the period's cases waiting for their
  department, ``backlog_age_days`` = the age of the oldest of them since its first dispatch;
- handling time = working hours (the working calendar: work periods, weekends, holidays,
  调休) from the first dispatch to the latest handling report, over handled cases; median
  and 90th percentile (linear interpolation);
- on-time rate = handled_on_time / handled; closure rate = closed / due; rework rate =
  reworks / due; composite = 30·closure + 30·on-time + 30·(1 − rework) + volume score;
  a department with no case in the period is not graded.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from dashboard.domain.indicators import department_score

#: Longest window the department evaluation (page, API, exports) accepts, in days.
MAX_WINDOW_DAYS = 366
#: Longest window of the regional and people reports (/regions, /inspectors and their API):
#: their working-calendar table grows with the window, two years stays small.
MAX_REPORT_DAYS = 731
#: A period without ``from`` ends today and spans this many days.
DEFAULT_DAYS = 30
#: Period choices of the pages (``?period=``); ``month`` takes ``month=YYYY-MM``, ``custom``
#: takes ``from`` and ``to`` (YYYY-MM-DD, inclusive).
PERIODS = ("today", "7d", "30d", "month", "custom")
DEFAULT_PERIOD = "30d"
ROLLING_DAYS = {"today": 1, "7d": 7, "30d": 30}

#: Targets of the rates (the wall colours the same thresholds: on-time below 90 % and rework
#: above 5 % are warnings).  A ratio ≥ 1 meets the target (Boston CityScore's convention).
TARGETS = {"on_time_rate": 0.90, "closure_rate": 0.95, "rework_rate": 0.05}
LOWER_IS_BETTER = frozenset({"rework_rate"})
RATIO_CAP = 2.0

#: Stages in which the department's latest handling stands.
HANDLED_STAGES = ("handled", "verified", "closed")
#: The stage in which a case waits for its department (its handling clock runs).
WAITING_STAGE = "dispatched"
#: Stages in which an open case belongs to its department's workload (as on the wall).
DEPARTMENT_STAGES = ("dispatched", "handled", "verified", "suspended")


class PeriodError(ValueError):
    """A period that cannot be evaluated; ``key`` and ``values`` name the message (i18n)."""

    def __init__(self, key: str, text: str, **values):
        self.key, self.values = key, values
        super().__init__(text)


@dataclass(frozen=True)
class Period:
    """Local days ``first`` … ``last`` (inclusive) and how the view chose them — the one
    period of every report (departments, regions, people) and its API.

    With the working calendar's time zone ``tz`` it also knows the instants it spans:
    ``from=2026-11-01&to=2026-11-30`` covers [2026-11-01 00:00, 2026-12-01 00:00) local time."""

    first: date
    last: date
    kind: str = "custom"
    tz: object = field(default=None, compare=False)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def _zone(self):
        if self.tz is None:
            raise ValueError("this period has no time zone: give Period(..., tz=calendar.tz)")
        return self.tz

    @property
    def start(self) -> datetime:
        """The first local day's midnight, as a UTC instant."""
        return datetime.combine(self.first, time(0), self._zone()).astimezone(timezone.utc)

    @property
    def end(self) -> datetime:
        """The midnight after the last local day (exclusive), as a UTC instant."""
        return datetime.combine(self.last + timedelta(days=1), time(0), self._zone()).astimezone(timezone.utc)

    @property
    def key(self) -> tuple[str, str]:
        """A cache key: the two dates."""
        return self.first.isoformat(), self.last.isoformat()

    def as_dict(self) -> dict:
        return {"from": self.first.isoformat(), "to": self.last.isoformat(), "days": self.days,
                "timezone": str(self.tz)}

    def zoned(self, tz) -> "Period":
        """The same days in time zone ``tz``."""
        return Period(self.first, self.last, self.kind, tz)

    def dates(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.days)]

    def query(self) -> dict[str, str]:
        """The URL query that shows this period again (relative periods stay relative)."""
        if self.kind in ROLLING_DAYS:
            return {"period": self.kind}
        if self.kind == "month":
            return {"period": "month", "month": f"{self.first:%Y-%m}"}
        return {"period": "custom", "from": self.first.isoformat(), "to": self.last.isoformat()}


def parse_day(text: str | None, name: str) -> date:
    """A ``YYYY-MM-DD`` query value; PeriodError otherwise."""
    try:
        if text is None or len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        shown = "" if text is None else str(text)[:20]
        raise PeriodError("eval.bad_date", f"{name}: {shown!r} is not a date (YYYY-MM-DD)",
                          name=name, value=shown) from None


def checked(first: date, last: date, kind: str = "custom", limit: int = MAX_WINDOW_DAYS, tz=None) -> Period:
    """The period ``first`` … ``last``; PeriodError if it is reversed or longer than ``limit`` days."""
    if first > last:
        raise PeriodError("eval.reversed", f"from {first} is after to {last}", first=first, last=last)
    period = Period(first, last, kind, tz)
    if period.days > limit:
        raise PeriodError("eval.too_long", f"the window has {period.days} days; at most {limit}",
                          days=period.days, limit=limit)
    return period


def from_to(first_text: str | None, last_text: str | None, today: date, limit: int = MAX_WINDOW_DAYS,
            tz=None, default_days: int = DEFAULT_DAYS) -> Period:
    """The period of ``from``/``to`` texts (YYYY-MM-DD, inclusive) as the API and the date
    pickers send them: a missing ``to`` is ``today``, a missing ``from`` is ``default_days``
    days up to ``to``.  PeriodError (one line) for a bad date, a reversed or too long window."""
    first_text = (first_text or "").strip() or None
    last_text = (last_text or "").strip() or None
    last = parse_day(last_text, "to") if last_text else today
    first = parse_day(first_text, "from") if first_text else last - timedelta(days=default_days - 1)
    return checked(first, last, limit=limit, tz=tz)


def resolve(query: dict, today: date, tz=None) -> Period:
    """The period a page's URL query asks for (``period``, ``month``, ``from``, ``to``).

    No ``period`` but ``from``/``to`` given means custom; nothing means the default."""
    kind = query.get("period") or ("custom" if query.get("from") or query.get("to") else DEFAULT_PERIOD)
    if kind in ROLLING_DAYS:
        return Period(today - timedelta(days=ROLLING_DAYS[kind] - 1), today, kind, tz)
    if kind == "month":
        text = str(query.get("month") or f"{today:%Y-%m}")
        try:
            first = date.fromisoformat(f"{text}-01") if len(text) == 7 else None
        except ValueError:
            first = None
        if first is None:
            raise PeriodError("eval.bad_month", f"month: {text[:20]!r} is not a month (YYYY-MM)", value=text[:20])
        following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        return Period(first, following - timedelta(days=1), "month", tz)
    if kind == "custom":
        return from_to(query.get("from"), query.get("to"), today, tz=tz)
    raise PeriodError("eval.bad_period", f"unknown period {str(kind)[:20]!r}", value=str(kind)[:20])


def target_ratio(name: str, value: float | None) -> float | None:
    """The rate as a ratio to its target (≥ 1 meets it), capped at :data:`RATIO_CAP`.

    Higher-is-better rates: value / target; rework (lower is better): target / value."""
    if value is None or name not in TARGETS:
        return None
    target = TARGETS[name]
    if name in LOWER_IS_BETTER:
        ratio = RATIO_CAP if value <= 0 else target / value
    else:
        ratio = value / target
    return round(min(ratio, RATIO_CAP), 3)


def evaluate(due: int, closed: int, handled: int, handled_on_time: int, reworks: int) -> dict:
    """Rates, target ratios, the §4 composite with its four parts, and the grade.

    A department with no case in the period gets rates, score and grade ``None``."""
    score = department_score(due, closed, handled, handled_on_time, reworks)
    rates = {"on_time_rate": score.on_time_rate, "closure_rate": score.closure_rate,
             "rework_rate": score.rework_rate}
    out = dict(rates)
    out.update({f"{name}_ratio": target_ratio(name, value) for name, value in rates.items()})
    if due == 0:
        out.update(closure_points=None, on_time_points=None, rework_points=None, volume_points=None,
                   score=None, grade=None)
        return out
    closure_pts, on_time_pts, rework_pts, volume_pts = score.parts
    out.update(closure_points=round(closure_pts, 1), on_time_points=round(on_time_pts, 1),
               rework_points=round(rework_pts, 1), volume_points=volume_pts, score=score.composite,
               grade=score.grade)
    return out


# ---------------------------------------------------------------------------- the tables
#: Every table a report shows and exports: name → ((column, kind), …).  Kinds tell the page
#: and the exports how to show a value: ``text``, ``name`` (Chinese or English by language),
#: ``int``, ``rate`` (a share, shown in %), ``ratio`` (to target), ``hours`` (working hours),
#: ``clock_hours`` (natural hours), ``days``,
#: ``points``, ``time`` (an instant, shown in the calendar's time zone), ``date``, ``code``
#: (a value translated through the i18n catalogue: stage, event type, kind, light, urgency).
FIGURES = (("due", "int"), ("handled", "int"), ("handled_on_time", "int"), ("on_time_rate", "rate"),
           ("closed", "int"), ("closure_rate", "rate"), ("reworks", "int"), ("rework_rate", "rate"),
           ("overdue_now", "int"))
TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "departments": (("kind", "code"), ("code", "text"), ("name", "name"), ("due", "int"), ("handled", "int"),
                    ("handled_on_time", "int"), ("on_time_rate", "rate"), ("on_time_rate_ratio", "ratio"),
                    ("closed", "int"), ("closure_rate", "rate"), ("closure_rate_ratio", "ratio"),
                    ("reworks", "int"), ("rework_rate", "rate"), ("rework_rate_ratio", "ratio"),
                    ("satisfaction", "rate"),   # return visits (issue 11): satisfied + basically over visited
                    ("returns", "int"), ("extensions", "int"), ("overdue_now", "int"), ("backlog", "int"),
                    ("backlog_age_days", "days"), ("handling_median_h", "hours"), ("handling_p90_h", "hours"),
                    ("closure_points", "points"), ("on_time_points", "points"), ("rework_points", "points"),
                    ("volume_points", "points"), ("score", "points"), ("grade", "text")),
    "trend": (("day", "date"), *FIGURES),
    "categories": (("category", "text"), ("name", "name"), *FIGURES),
    "streets": (("street", "text"), ("name", "name"), *FIGURES),
    "open": (("case_id", "text"), ("stage", "code"), ("light", "code"), ("category_name", "name"),
             ("street_name", "text"), ("urgency", "code"), ("dispatched_at", "time"), ("deadline_at", "time"),
             ("handle_deadline_at", "time"), ("rework_count", "int"), ("return_count", "int"),
             ("extension_count", "int"), ("description", "text")),
    "overdue": (("case_id", "text"), ("category_name", "name"), ("street_name", "text"),
                ("handle_deadline_at", "time"), ("overdue_hours", "clock_hours"), ("rework_count", "int"),
                ("extension_count", "int"), ("description", "text")),
    "events": (("at", "time"), ("type", "code"), ("case_id", "text"), ("category_name", "name"),
               ("street_name", "text"), ("actor", "text"), ("reason", "text")),
}
#: The tables of one department's page (``/departments/<code>``).
DEPARTMENT_TABLES = ("trend", "categories", "streets", "open", "overdue", "events")
#: i18n key prefix of each ``code`` column's values.
CODE_PREFIX = {"kind": "eval.kind.", "stage": "stage.", "type": "event.", "light": "eval.light.",
               "urgency": "eval.urgency."}
