"""The period a report covers: inclusive local dates (Asia/Shanghai by the scenario), read
from ``from``/``to`` text as the API and the pages receive them.

``from=2026-11-01&to=2026-11-30`` covers [2026-11-01 00:00, 2026-12-01 00:00) local time.
A mistake raises :class:`PeriodError` whose :class:`Msg` is one line in either language.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from datasource.services.command_types import Msg

DEFAULT_DAYS = 30
MAX_DAYS = 731   # two years: the working-calendar table a query builds grows with it


class PeriodError(ValueError):
    """Bad ``from``/``to``; ``msg`` renders the one-line reason."""

    def __init__(self, msg: Msg):
        self.msg = msg
        super().__init__(msg.render("en"))


@dataclass(frozen=True)
class Period:
    """Inclusive local dates ``first`` … ``last`` and the instants [start, end) they span."""

    first: date
    last: date
    tz: object

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), self.tz).astimezone(timezone.utc)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(0), self.tz).astimezone(timezone.utc)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def key(self) -> tuple[str, str]:
        return self.first.isoformat(), self.last.isoformat()

    def as_dict(self) -> dict:
        return {"from": self.first.isoformat(), "to": self.last.isoformat(), "days": self.days,
                "timezone": str(self.tz)}


def _date(text: str, name: str) -> date:
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise PeriodError(Msg("report.bad_date", name=name, value=text[:40])) from None


def parse_period(from_text: str | None, to_text: str | None, tz, today: date | None = None,
                 default_days: int = DEFAULT_DAYS) -> Period:
    """The period of ``from``/``to`` (YYYY-MM-DD, inclusive); a missing ``to`` is today, a
    missing ``from`` is ``default_days`` before ``to``."""
    today = today or datetime.now(tz).date()
    last = _date(to_text.strip(), "to") if to_text and to_text.strip() else today
    first = (_date(from_text.strip(), "from") if from_text and from_text.strip()
             else last - timedelta(days=default_days - 1))
    if first > last:
        raise PeriodError(Msg("report.reversed", first=first.isoformat(), last=last.isoformat()))
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError(Msg("report.too_long", days=MAX_DAYS))
    return Period(first, last, tz)
