"""China's public holidays and make-up working days (调休) from the ``holidays`` package — or
another country's, named by ``calendar.json``'s ``country`` (and ``subdivision``) — and
:func:`load_scenario`, the one way the system, the tools and the tests build a scenario.

The domain's :class:`~dashboard.domain.calendar.WorkingCalendar` imports only the standard
library, so this adapter turns the package's ``holidays.China`` into a plain
:class:`~dashboard.domain.calendar.HolidayData`; the scenario's ``calendar.json`` adjusts it.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import holidays
from holidays.countries.china import ChinaStaticHolidays

from dashboard.domain.calendar import HolidayData
from dashboard.domain.scenario import DEFAULT_SCENARIO, Scenario, ScenarioError

#: The years asked of the package: from the first State Council notice it carries (2001) to
#: the last year it computes.  Building all of them takes a few milliseconds, once.
YEARS = range(2001, 2101)


@lru_cache(maxsize=1)
def china_holidays() -> HolidayData:
    """Public holidays, 调休 working days and the years with an official schedule.

    Only the PUBLIC category is taken: the half-day observances (8 March, 4 May …) are for
    some groups of people, not days the offices close.  ``weekend_workdays`` is where the
    package keeps the weekend days worked in exchange for a bridge day (e.g. Saturday
    2026-10-10).  The package *computes* the statutory days for any year, but only the years
    in its table of State Council notices (``special_public_holidays``) carry the published
    schedule with its 调休; for a later year it guesses the bridges and knows no make-up day.
    Those guessed years are left out of ``years`` so start-up asks for them to be confirmed —
    and should a release rename that table, ``years`` is empty and start-up fails loudly
    instead of running on guesses.
    """
    china = holidays.China(years=YEARS)
    return HolidayData(
        holidays=frozenset(china),
        workdays=frozenset(d for d in china.weekend_workdays if d.year in YEARS),
        years=frozenset(y for y in getattr(ChinaStaticHolidays, "special_public_holidays", {}) if y in YEARS),
    )


@lru_cache(maxsize=8)
def country_holidays(country: str = "CN", subdivision: str | None = None) -> HolidayData:
    """The public holidays of ``country`` (an ISO code the ``holidays`` package knows).

    China's come from :func:`china_holidays` (State Council notices, 调休).  Other countries'
    holidays follow fixed statutory rules that the package computes for any year, so every
    year counts as known; ``weekend_workdays`` is kept where a country has them.
    """
    if country.upper() in ("CN", "CHN"):
        return china_holidays()
    try:
        days = holidays.country_holidays(country, subdiv=subdivision, years=YEARS, categories=(holidays.PUBLIC,))
    except NotImplementedError:
        raise ScenarioError(f"calendar.json: the holidays package knows no country {country!r}"
                            + (f" with subdivision {subdivision!r}" if subdivision else "")) from None
    return HolidayData(holidays=frozenset(days),
                       workdays=frozenset(d for d in getattr(days, "weekend_workdays", ()) if d.year in YEARS),
                       years=frozenset(YEARS))


def calendar_country(root: Path | str) -> tuple[str, str | None]:
    """(country, subdivision) named by the scenario's ``calendar.json`` (default China).  A missing or
    broken file is left to :class:`Scenario` to report."""
    try:
        config = json.loads((Path(root) / "calendar.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "CN", None
    config = config if isinstance(config, dict) else {}
    return str(config.get("country") or "CN"), (str(config["subdivision"]) if config.get("subdivision") else None)


def load_scenario(root: Path | str = DEFAULT_SCENARIO) -> Scenario:
    """The scenario at ``root`` with the package's holidays (of its calendar's country) under its calendar."""
    return Scenario(Path(root), holidays=country_holidays(*calendar_country(root)))
