"""China's public holidays and make-up working days (调休) from the ``holidays`` package, and
:func:`load_scenario`, the one way the system, the tools and the tests build a scenario.

The domain's :class:`~dashboard.domain.calendar.WorkingCalendar` imports only the standard
library, so this adapter turns the package's ``holidays.China`` into a plain
:class:`~dashboard.domain.calendar.HolidayData`; the scenario's ``calendar.json`` adjusts it.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import holidays
from holidays.countries.china import ChinaStaticHolidays

from dashboard.domain.calendar import HolidayData
from dashboard.domain.scenario import DEFAULT_SCENARIO, Scenario

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


def load_scenario(root: Path | str = DEFAULT_SCENARIO) -> Scenario:
    """The scenario at ``root`` with the package's holidays under its calendar."""
    return Scenario(Path(root), holidays=china_holidays())
