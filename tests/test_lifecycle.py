"""Domain stories of the closed loop: each step is one event on one case."""
from datetime import datetime, timedelta, timezone

import pytest

from dashboard.domain.events import CaseEvent
from dashboard.domain.lifecycle import EventType, Stage, TransitionRefused
from dashboard.domain.projection import apply_event
from dashboard.domain.events import InvalidEvent

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone(timedelta(hours=8)))  # a Tuesday, 09:00
PLACE = ("110101001001001", "110101001001", "110101001")


def ev(kind, minutes, **body):
    return CaseEvent(f"e-{kind}-{minutes}", "DC20261124000001", EventType(kind), T0 + timedelta(minutes=minutes),
                     "tester", body)


def run(scenario, *events):
    row = None
    for event in events:
        row = apply_event(row, event, scenario, PLACE)
    return row


def test_full_loop_sets_every_stage_time(scenario):
    row = run(scenario,
              ev("reported", 0, category="E0102", lon=116.41, lat=39.92),   # inspector finds rubbish
              ev("filed", 5),                                               # supervision files it
              ev("dispatched", 10, department="sanitation"),                # command centre dispatches
              ev("handled", 60),                                            # department handles
              ev("verified", 90),                                           # inspector verifies
              ev("closed", 100))                                            # supervision closes
    assert row["stage"] == "closed"
    assert [row[c] is not None for c in ("filed_at", "dispatched_at", "handled_at", "verified_at", "closed_at")] == [True] * 5
    assert row["handled_on_time"] is True
    assert row["department_code"] == "sanitation"
    assert row["version"] == 6
    assert row["deadline_at"] is None


def test_refused_transition_names_the_stage(scenario):
    row = run(scenario, ev("reported", 0, category="E0102", lon=116.41, lat=39.92))
    with pytest.raises(TransitionRefused) as refused:
        apply_event(row, ev("dispatched", 1, department="sanitation"), scenario)
    assert "reported" in refused.value.reason
    assert row["stage"] == "reported"  # the row given is never mutated


def test_unknown_case_refused(scenario):
    with pytest.raises(TransitionRefused, match="does not exist"):
        apply_event(None, ev("filed", 1), scenario)


def test_return_goes_back_to_filed_and_rework_to_same_department(scenario):
    row = run(scenario, ev("reported", 0, category="E0102", lon=116.41, lat=39.92), ev("filed", 1),
              ev("dispatched", 2, department="roads"), ev("returned", 3, reason="wrong department"))
    assert row["stage"] == "filed" and row["return_count"] == 1
    row = apply_event(row, ev("dispatched", 4, department="sanitation"), scenario)
    row = apply_event(row, ev("handled", 30), scenario)
    row = apply_event(row, ev("rework", 40, reason="still dirty"), scenario)
    assert row["stage"] == "dispatched" and row["department_code"] == "sanitation" and row["rework_count"] == 1


def test_suspend_and_resume_returns_to_previous_stage(scenario):
    row = run(scenario, ev("reported", 0, category="C0602", lon=116.41, lat=39.92), ev("filed", 1),
              ev("dispatched", 2, department="housing"), ev("suspended", 3, reason="needs budget"))
    assert row["stage"] == "suspended" and row["deadline_at"] is None
    row = apply_event(row, ev("resumed", 100), scenario)
    assert row["stage"] == "dispatched" and row["deadline_at"] is not None


def test_extension_moves_deadline_later_only(scenario):
    row = run(scenario, ev("reported", 0, category="C0602", lon=116.41, lat=39.92), ev("filed", 1),
              ev("dispatched", 2, department="housing"))
    later = (row["deadline_at"] + timedelta(days=2)).isoformat()
    extended = apply_event(row, ev("extended", 5, until=later), scenario)
    assert extended["deadline_at"] > row["deadline_at"] and extended["extension_count"] == 1
    with pytest.raises(InvalidEvent, match="later"):
        apply_event(row, ev("extended", 5, until=(row["deadline_at"] - timedelta(hours=1)).isoformat()), scenario)


def test_rejected_case_is_final(scenario):
    row = run(scenario, ev("reported", 0, category="E0102", lon=116.41, lat=39.92),
              ev("rejected", 3, reason="duplicate"))
    assert row["stage"] == "rejected" and not Stage(row["stage"]).is_open
    with pytest.raises(TransitionRefused):
        apply_event(row, ev("filed", 4), scenario)


def test_unknown_department_and_category_are_invalid(scenario):
    with pytest.raises(InvalidEvent, match="category"):
        run(scenario, ev("reported", 0, category="X9999", lon=116.41, lat=39.92))
    row = run(scenario, ev("reported", 0, category="E0102", lon=116.41, lat=39.92), ev("filed", 1))
    with pytest.raises(InvalidEvent, match="department"):
        apply_event(row, ev("dispatched", 2, department="nobody"), scenario)
