"""Working calendar, time limits, deadlines and the traffic light."""
from datetime import date, datetime, timedelta, timezone

import pytest

from dashboard.domain.calendar import WorkingCalendar
from dashboard.domain.limits import Limit, TimeLimits, traffic_light

CST = timezone(timedelta(hours=8))
CAL = WorkingCalendar.from_config({
    "work_periods": [["08:30", "12:00"], ["13:00", "17:30"]], "weekend": [5, 6],
    "holidays": ["2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07"],
    "workdays": ["2026-10-10"],
})


def at(y, m, d, h, mi=0):
    return datetime(y, m, d, h, mi, tzinfo=CST)


def test_working_hours_skip_lunch_and_night():
    # Tuesday 11:00 + 4 working hours: 1 h before lunch, 3 h after → 16:00
    assert CAL.add_working(at(2026, 11, 24, 11), 240) == at(2026, 11, 24, 16)
    # Tuesday 17:00 + 1 working hour: 30 min today, 30 min tomorrow from 08:30 → 09:00
    assert CAL.add_working(at(2026, 11, 24, 17), 60) == at(2026, 11, 25, 9)


def test_weekend_and_holidays_are_skipped_and_make_up_days_worked():
    # Friday 17:00 + 1 h → Monday 09:00
    assert CAL.add_working(at(2026, 11, 27, 17), 60) == at(2026, 11, 30, 9)
    # 30 Sept (Wed) 17:00 + 1 h: Oct 1–7 holidays, Oct 8 (Thu) is the next working day
    assert CAL.add_working(at(2026, 9, 30, 17), 60) == at(2026, 10, 8, 9)
    # Saturday 10 October 2026 is a make-up working day (调休)
    assert CAL.is_working_day(date(2026, 10, 10))
    assert not CAL.is_working_day(date(2026, 10, 3))
    assert not CAL.is_working_day(date(2026, 10, 11))


def test_start_outside_hours_starts_at_next_period():
    assert CAL.add_working(at(2026, 11, 24, 6), 30) == at(2026, 11, 24, 9)
    assert CAL.add_working(at(2026, 11, 24, 12, 30), 30) == at(2026, 11, 24, 13, 30)


def test_working_minutes_between_is_inverse_of_add():
    start = at(2026, 11, 24, 10, 17)
    for minutes in (1, 59, 240, 480, 2000):
        assert CAL.working_minutes_between(start, CAL.add_working(start, minutes)) == pytest.approx(minutes)


def test_limits_category_overrides_stage_default_and_natural_units():
    limits = TimeLimits({"stages": {"dispatched": {"normal": {"work_hours": 8}, "urgent": {"hours": 2}}},
                         "categories": {"E0102": {"dispatched": {"normal": {"work_hours": 4}}}}}, CAL)
    warn, deadline = limits.deadline("dispatched", "E0102", "normal", at(2026, 11, 24, 9))
    assert deadline == at(2026, 11, 24, 14)          # 3 h morning + 1 h afternoon
    assert warn == CAL.add_working(at(2026, 11, 24, 9), 0.8 * 240)
    _, urgent = limits.deadline("dispatched", "C0101", "urgent", at(2026, 11, 24, 23))
    assert urgent == at(2026, 11, 25, 1)              # natural hours run at night
    assert limits.deadline("closed", "E0102", "normal", at(2026, 11, 24, 9)) == (None, None)


def test_bad_limit_is_refused():
    with pytest.raises(ValueError, match="positive"):
        Limit.parse({"work_hours": -1})
    with pytest.raises(ValueError):
        Limit.parse({"fortnights": 1})


def test_traffic_light():
    warn, deadline = at(2026, 11, 24, 10), at(2026, 11, 24, 11)
    assert traffic_light(at(2026, 11, 24, 9), warn, deadline) == "green"
    assert traffic_light(at(2026, 11, 24, 10, 30), warn, deadline) == "yellow"
    assert traffic_light(at(2026, 11, 24, 11), warn, deadline) == "red"
    assert traffic_light(at(2026, 11, 24, 11), None, None) == "none"


def test_scenario_calendar_knows_2026_national_day(scenario):
    assert not scenario.calendar.is_working_day(date(2026, 10, 5))
    assert scenario.calendar.is_working_day(date(2026, 9, 20))  # Sunday make-up day
