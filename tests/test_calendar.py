"""Working calendar, time limits, deadlines and the traffic light; the holidays from the
``holidays`` package, calendar.json's local adjustments and the start-up check.  Every date is fixed."""
import json
import logging
from datetime import date, datetime, timedelta, timezone

import pytest

from dashboard.domain.calendar import HolidayData, WorkingCalendar
from dashboard.domain.limits import Limit, TimeLimits, traffic_light
from dashboard.domain.scenario import DEFAULT_SCENARIO, Scenario, ScenarioError
from dashboard.settings import Settings
from datasource.store.holiday_source import china_holidays, load_scenario
from datasource.system import StartupError, System

CST = timezone(timedelta(hours=8))
HOURS = {"work_periods": [["08:30", "12:00"], ["13:00", "17:30"]], "weekend": [5, 6]}
# National Day 2026 by hand, so the arithmetic tests below do not depend on the package.
CAL = WorkingCalendar.from_config({
    **HOURS,
    "extra_holidays": ["2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06",
                       "2026-10-07"],
    "extra_workdays": ["2026-10-10"],
})
#: The package's calendar with no local adjustment.
PACKAGE = WorkingCalendar.from_config(HOURS, china_holidays())

#: The State Council's notices for 2025 and 2026 (国办发明电〔2024〕12号, 〔2025〕7号) as the old
#: hand-typed calendar.json had them: breaks (first and last day off) and weekend days worked.
NOTICE_BREAKS = [("2025-01-01", "2025-01-01"), ("2025-01-28", "2025-02-04"), ("2025-04-04", "2025-04-06"),
                 ("2025-05-01", "2025-05-05"), ("2025-05-31", "2025-06-02"), ("2025-10-01", "2025-10-08"),
                 ("2026-01-01", "2026-01-03"), ("2026-02-15", "2026-02-23"), ("2026-04-04", "2026-04-06"),
                 ("2026-05-01", "2026-05-05"), ("2026-06-19", "2026-06-21"), ("2026-09-25", "2026-09-27"),
                 ("2026-10-01", "2026-10-07")]
NOTICE_WORKED = ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11",
                 "2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"]


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


def _days(first: str, last: str):
    day, end = date.fromisoformat(first), date.fromisoformat(last)
    while day <= end:
        yield day
        day += timedelta(days=1)


def test_package_agrees_with_the_2025_and_2026_notices_day_by_day():
    off = {d for first, last in NOTICE_BREAKS for d in _days(first, last)}
    worked = {date.fromisoformat(d) for d in NOTICE_WORKED}
    differences = []
    for day in _days("2025-01-01", "2026-12-31"):
        expected = day in worked or (day not in off and day.weekday() < 5)
        if PACKAGE.is_working_day(day) != expected:
            differences.append(f"{day}: notice {'works' if expected else 'rests'}")
    assert differences == []
    assert {2025, 2026} <= china_holidays().years


def test_package_make_up_saturdays_are_worked():
    # 调休: Saturdays worked in exchange for bridge days of the Spring Festival and National Day
    for saturday in (date(2025, 2, 8), date(2026, 2, 14), date(2026, 2, 28), date(2026, 10, 10)):
        assert saturday.weekday() == 5 and PACKAGE.is_working_day(saturday)
    assert not PACKAGE.is_working_day(date(2026, 10, 17))          # an ordinary Saturday


def test_2027_has_statutory_days_but_no_notice_in_the_package():
    # Spring Festival 2027: New Year's Eve Fri 5 Feb, days 1–3 Sat 6 – Mon 8 Feb (statutory since 2025)
    for day in (date(2027, 2, 5), date(2027, 2, 8), date(2027, 10, 1), date(2027, 1, 1)):
        assert not PACKAGE.is_working_day(day), day
    assert PACKAGE.is_working_day(date(2027, 2, 11))
    # ... the weekend days of the festival are moved to Tue 9 and Wed 10 Feb by the package's rule,
    # a guess: without a notice there is no 调休, hence 2027 is not a year it "has".
    assert not PACKAGE.is_working_day(date(2027, 2, 10))
    assert 2027 not in china_holidays().years
    assert not any(d.year == 2027 for d in china_holidays().workdays)


def test_working_hours_across_holidays_of_the_bundled_calendar(scenario):
    cal = scenario.calendar
    # Thu 4 Feb 2027 17:00 + 1 working hour: 30 min that day, then Spring Festival → Thu 11 Feb 09:00
    assert cal.add_working(at(2027, 2, 4, 17), 60) == at(2027, 2, 11, 9)
    # Fri 9 Oct 2026 17:00 + 1 h → Saturday 10 Oct 09:00, a make-up working day
    assert cal.add_working(at(2026, 10, 9, 17), 60) == at(2026, 10, 10, 9)
    # 1 working day (8 h) from Fri 13 Feb 2026 13:00: 4.5 h that afternoon, Sat 14 Feb is
    # worked (调休) for the other 3.5 h → 12:00 on Saturday; the festival (15–23 Feb) is skipped
    assert cal.add_working(at(2026, 2, 13, 13), 480) == at(2026, 2, 14, 12)
    assert cal.working_minutes_between(at(2026, 2, 14, 17, 30), at(2026, 2, 24, 8, 30)) == 0


def test_override_adds_removes_and_wins_over_the_package():
    source = HolidayData(holidays=frozenset({date(2027, 2, 8), date(2027, 2, 9)}),
                         workdays=frozenset({date(2027, 1, 30)}), years=frozenset({2026}))
    cal = WorkingCalendar.from_config({
        **HOURS,
        "extra_holidays": ["2027-03-01", "2027-01-30"],   # a local holiday; a package 调休 Saturday off
        "extra_workdays": ["2027-02-20", "2027-02-09"],   # a 调休 Saturday worked; a package holiday worked
        "not_holidays": ["2027-02-08"],                    # a package holiday that is an ordinary Monday here
        "confirmed_years": {"2027": "notice typed into extra_* by hand"},
    }, source)
    assert not cal.is_working_day(date(2027, 3, 1))
    assert not cal.is_working_day(date(2027, 1, 30))
    assert cal.is_working_day(date(2027, 2, 20)) and date(2027, 2, 20).weekday() == 5
    assert cal.is_working_day(date(2027, 2, 9))
    assert cal.is_working_day(date(2027, 2, 8))
    assert cal.holiday_years == {2026, 2027}
    # Fri 19 Feb 17:00 + 1 h: the worked Saturday comes before Monday
    assert cal.add_working(at(2027, 2, 19, 17), 60) == at(2027, 2, 20, 9)


@pytest.mark.parametrize("config, message", [
    ({"holidays": ["2027-01-01"]}, "no longer typed by hand"),
    ({"extra_holiday": []}, "unknown key"),
    ({"extra_holidays": ["2027-13-01"]}, "not a date"),
    ({"extra_holidays": ["2027-02-20"], "extra_workdays": ["2027-02-20"]}, "both"),
    ({"confirmed_years": {"2027": ""}}, "needs a reason"),
    ({"confirmed_years": ["2027"]}, "map a year"),
])
def test_bad_calendar_override_is_refused(config, message):
    with pytest.raises(ValueError, match=message):
        WorkingCalendar.from_config(config)


def test_years_without_holidays_are_this_and_next_year():
    cal = WorkingCalendar.from_config({"confirmed_years": {"2027": "typed in"}}, HolidayData(years=frozenset({2026})))
    assert cal.years_without_holidays(date(2026, 1, 1)) == []
    assert cal.years_without_holidays(date(2027, 12, 31)) == [2028]
    assert cal.years_without_holidays(date(2029, 6, 1)) == [2029, 2030]


def _scenario_copy(tmp_path, **calendar_changes):
    """The bundled scenario in tmp_path (files linked) with calendar.json changed."""
    root = tmp_path / "scenario"
    root.mkdir()
    for item in DEFAULT_SCENARIO.iterdir():
        if item.name != "calendar.json":
            (root / item.name).symlink_to(item)
    config = json.loads((DEFAULT_SCENARIO / "calendar.json").read_text(encoding="utf-8"))
    config.update(calendar_changes)
    (root / "calendar.json").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    return root


def test_startup_refuses_a_year_without_holidays_in_one_line(tmp_path):
    system = System(Settings(data_dir=tmp_path))
    with pytest.raises(StartupError) as caught:
        system.start(redis=False, database=False, today=date(2027, 12, 1))
    message = str(caught.value)
    assert "\n" not in message
    assert "no holiday data for 2028" in message and "2027" not in message.split("(")[0]
    assert "upgrade the holidays package" in message and "confirmed_years" in message
    assert "calendar.json" in message


def test_startup_runs_on_a_confirmed_year_and_says_so(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="datasource.system"):
        System(Settings(data_dir=tmp_path)).start(redis=False, database=False, today=date(2026, 11, 30))
    assert "2027 holidays confirmed by calendar.json" in caplog.text
    root = _scenario_copy(tmp_path, confirmed_years={"2027": "typed in", "2028": "typed in"})
    System(Settings(data_dir=tmp_path, scenario_dir=root)).start(redis=False, database=False, today=date(2027, 12, 1))


def test_override_file_effects_reach_the_scenario(tmp_path):
    root = _scenario_copy(tmp_path, extra_holidays=["2026-12-01"], not_holidays=["2026-10-05"])
    cal = load_scenario(root).calendar
    assert not cal.is_working_day(date(2026, 12, 1))           # a Tuesday off locally
    assert cal.is_working_day(date(2026, 10, 5))               # National Day Monday worked locally
    assert cal.is_working_day(date(2026, 10, 10))              # the package's 调休 Saturday still worked


def test_scenario_without_the_package_knows_only_its_own_days():
    cal = Scenario().calendar
    assert cal.is_working_day(date(2026, 10, 5)) and cal.holiday_years == {2027}


def test_broken_calendar_file_is_a_scenario_error(tmp_path):
    root = _scenario_copy(tmp_path, extra_workdays=["someday"])
    with pytest.raises(ScenarioError, match="calendar.json: extra_workdays: 'someday' is not a date"):
        load_scenario(root)
