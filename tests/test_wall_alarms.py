"""Wall alarms (issue 13) on a real system, SQLite and PostgreSQL: which cases raise one, the
queue in the live snapshot, and the acknowledge command with its refusals and audit."""
from __future__ import annotations

import pytest

from datasource.services import audit
from datasource.services.command_types import Actor, CommandRefused
from datasource.services.commands import CommandService
from datasource.services.wall import LiveSnapshot

INTAKE, OPERATOR = Actor("intake", "supervision"), Actor("op", "operator")


def report(service, system, category: str, urgency: str, k: int = 100) -> str:
    point = system.locator.polygons[k].representative_point()
    return service.report(INTAKE, category, point.x, point.y, "险情", "phone", urgency).case_id


def test_the_scenario_marks_class_04_as_alarm_and_only_urgent_cases_raise_one(system):
    scenario = system.scenario
    marked = sorted(c.code for c in scenario.categories.values() if c.alarm)
    assert marked and all(code.startswith("E04") for code in marked)
    assert scenario.raises_alarm("E0402", "urgent") and not scenario.raises_alarm("E0402", "normal")
    assert not scenario.raises_alarm("E0102", "urgent") and not scenario.raises_alarm(None, "urgent")
    assert all(d.short_name for d in scenario.departments.values())


def test_alarm_queue_and_acknowledge(system):
    service = CommandService(system)
    first = report(service, system, "E0402", "urgent", 100)
    ordinary = report(service, system, "E0102", "urgent", 200)
    normal = report(service, system, "E0401", "normal", 300)
    second = report(service, system, "E0401", "urgent", 400)
    system.worker().drain()
    live = LiveSnapshot(system, interval=0)
    queue = live.get().alarms
    assert [a[0] for a in queue] == [first, second]          # oldest first; never the ordinary ones
    assert queue[0][3] == "E0402" and queue[0][8][0][0] == "reported"
    assert ordinary not in str(queue) and normal not in str(queue)

    # Who may not, what is not an alarm, what is outside one's area: refused, audited, nothing kept.
    with pytest.raises(CommandRefused) as wall_role:
        service.acknowledge(Actor("screen", "wall"), first)
    assert wall_role.value.status == 403
    with pytest.raises(CommandRefused) as not_alarm:
        service.acknowledge(OPERATOR, ordinary)
    assert not_alarm.value.status == 409 and "不是" in not_alarm.value.message("zh")
    with pytest.raises(CommandRefused) as unknown:
        service.acknowledge(OPERATOR, "DC20990101000001")
    assert unknown.value.status == 404

    answer = service.acknowledge(OPERATOR, first)
    assert answer["acknowledged"] and answer["by"] == "op"
    with pytest.raises(CommandRefused) as twice:
        service.acknowledge(Actor("chief", "supervision"), first)
    assert twice.value.status == 409 and "op" in twice.value.message("en")
    assert [a[0] for a in live.get().alarms] == [second]      # acknowledged: off the queue
    rows = audit.query(system.engine, action="acknowledge")
    assert [(r["case_id"], r["user_name"], r["outcome"]) for r in reversed(rows)] == [
        (first, "screen", "refused"), (ordinary, "op", "refused"), ("DC20990101000001", "op", "refused"),
        (first, "op", "ok"), (first, "chief", "refused")]

    # Dispatched: the alarm ends without an acknowledgement.
    service.file(INTAKE, second)
    service.dispatch(OPERATOR, second, "roads")
    system.worker().drain()
    assert live.get().alarms == []
    with pytest.raises(CommandRefused) as late:
        service.acknowledge(OPERATOR, second)
    assert late.value.status == 409
