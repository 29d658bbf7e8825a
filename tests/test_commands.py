"""The command service against real Redis and both databases: races, double clicks, bad
input that must change nothing, ownership, requests, and the audit row of every command."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta

import pytest

from datasource.services import audit
from datasource.services.command_types import Actor, CommandRefused
from datasource.services.commands import CommandService
from datasource.services.recommendation import Recommender
from tests.helpers import LAT, LON

SUP = Actor("sup", "supervision", remote_addr="10.0.0.7")
OP = Actor("op", "operator", remote_addr="10.0.0.8")
SANI = Actor("sani", "department", "sanitation", "10.0.0.9")
ROADS = Actor("roads", "department", "roads", "10.0.0.10")


@pytest.fixture
def service(system) -> CommandService:
    return CommandService(system)


def filed(service: CommandService, category: str = "E0102", urgency: str = "normal") -> str:
    """A new case, reported and filed (waiting for dispatch)."""
    case_id = service.report(SUP, category, LON, LAT, "垃圾桶满溢", "phone", urgency).case_id
    service.file(SUP, case_id)
    return case_id


def dispatched(service: CommandService, department: str = "sanitation") -> str:
    case_id = filed(service)
    service.dispatch(OP, case_id, department)
    return case_id


def events_of(system, case_id: str, kind: str | None = None) -> list[dict]:
    out = []
    for _, fields in system.redis.xrange(system.stream.key):
        f = {k.decode(): v.decode() for k, v in fields.items()}
        if f["case_id"] == case_id and (kind is None or f["type"] == kind):
            out.append(f)
    return out


def refused(call) -> CommandRefused:
    with pytest.raises(CommandRefused) as info:
        call()
    return info.value


def test_twenty_operators_dispatch_the_same_case_at_once(system, service, clock):
    case_id = filed(service)
    operators = [Actor(f"op{i:02d}", "operator", remote_addr=f"10.1.0.{i}") for i in range(20)]
    barrier = threading.Barrier(len(operators))
    results: dict[str, object] = {}

    def click(who: Actor):
        barrier.wait()  # everybody clicks at the same moment
        try:
            results[who.name] = service.dispatch(who, case_id, "sanitation", note=f"by {who.name}")
        except CommandRefused as exc:
            results[who.name] = exc

    threads = [threading.Thread(target=click, args=(who,)) for who in operators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    winners = [name for name, r in results.items() if not isinstance(r, CommandRefused)]
    losers = [r for r in results.values() if isinstance(r, CommandRefused)]
    assert len(winners) == 1 and len(losers) == 19
    winner = winners[0]
    for loss in losers:
        assert loss.status == 409 and loss.outcome == "conflict"
        at = f"{clock().astimezone(service.tz):%H:%M:%S}"  # the winner's time, by the system's clock (today)
        assert f"already dispatched by {winner} at {at}" in loss.message("en")
        assert loss.message("zh").endswith(f"已被 {winner} 于 {at} 派遣")
    assert len(events_of(system, case_id, "dispatched")) == 1
    rows = audit.query(system.engine, case_id=case_id, action="dispatch")
    assert sorted(r["outcome"] for r in rows) == ["conflict"] * 19 + ["ok"]


def test_double_click_dispatches_once(system, service):
    case_id = filed(service)
    version = int(system.stream.case_state(case_id)["version"])
    first = service.dispatch(OP, case_id, "sanitation", expect_version=version)
    second = refused(lambda: service.dispatch(OP, case_id, "sanitation", expect_version=version))
    assert first.after == "dispatched" and first.version == version + 1
    assert second.status == 409 and "already dispatched by op at" in second.message("en")
    assert len(events_of(system, case_id, "dispatched")) == 1


def test_a_stale_version_is_a_conflict_naming_the_last_action(system, service):
    case_id = filed(service)
    stale = int(system.stream.case_state(case_id)["version"]) - 1
    error = refused(lambda: service.dispatch(OP, case_id, "sanitation", expect_version=stale))
    assert error.status == 409 and "filed by sup at" in error.message("en")
    assert events_of(system, case_id, "dispatched") == []


BAD = {
    "unknown case": (lambda s, c: s.dispatch(OP, "DC20990101000001", "sanitation"), 404, "unknown case"),
    "not a case id": (lambda s, c: s.file(SUP, "../etc/passwd"), 404, "unknown case"),
    "wrong stage": (lambda s, c: s.close(SUP, c), 409, "is in stage 'Filed'"),
    "unknown department": (lambda s, c: s.dispatch(OP, c, "nobody"), 400, "unknown department"),
    "deadline in the past": (lambda s, c: s.dispatch(OP, c, "sanitation", "2020-01-01T08:00:00+08:00"), 400, "in the past"),
    "deadline without offset": (lambda s, c: s.dispatch(OP, c, "sanitation", "2030-01-01T08:00:00"), 400, "no UTC offset"),
    "deadline not a time": (lambda s, c: s.dispatch(OP, c, "sanitation", "tomorrow"), 400, "not an ISO 8601"),
    "deadline too far": (lambda s, c: s.dispatch(OP, c, "sanitation", "2099-01-01T08:00:00+08:00"), 400, "two years"),
    "note too long": (lambda s, c: s.dispatch(OP, c, "sanitation", note="x" * 1001), 400, "longer than"),
    "note not text": (lambda s, c: s.dispatch(OP, c, "sanitation", note=["x"]), 400, "must be text"),
    "bad version": (lambda s, c: s.dispatch(OP, c, "sanitation", expect_version=True), 400, "version"),
    "suspend without reason": (lambda s, c: s.suspend(SUP, c, "  "), 400, "reason is required"),
    "extend into the past": (lambda s, c: s.extend(SUP, c, "2020-01-01T00:00:00+00:00"), 400, "in the past"),
    "role may not": (lambda s, c: s.dispatch(SUP, c, "sanitation"), 403, "may not dispatch"),
    "unknown category": (lambda s, c: s.report(SUP, "X9999", LON, LAT), 400, "unknown category"),
    "outside the district": (lambda s, c: s.report(SUP, "E0102", 2.35, 48.85), 400, "in no grid"),
    "lon not a number": (lambda s, c: s.report(SUP, "E0102", "116.4", LAT), 400, "must be a number"),
    "lat not finite": (lambda s, c: s.report(SUP, "E0102", LON, float("nan")), 400, "must be a number"),
    "unknown source": (lambda s, c: s.report(SUP, "E0102", LON, LAT, source="pigeon"), 400, "source must be"),
    "bad urgency": (lambda s, c: s.report(SUP, "E0102", LON, LAT, urgency="asap"), 400, "urgency must be"),
    "description too long": (lambda s, c: s.report(SUP, "E0102", LON, LAT, "描" * 2001), 400, "longer than"),
    "unknown action": (lambda s, c: s.execute(SUP, "explode", c, {}), 404, "unknown action"),
}


def test_bad_input_changes_nothing(system, service, clock):
    """Each bad input: a 4xx with a one-line message in both languages, an audit row, and
    no change at all (stream length, the case's command-side state, the case-id serial)."""
    case_id = filed(service)
    serial_key = system.stream.prefix + "seq:" + clock().astimezone(service.tz).strftime("%Y%m%d")
    assert system.redis.get(serial_key) == b"1"   # the case above took serial 1 of the clock's day
    failures = []
    for name, (call, status, text) in BAD.items():
        length, state, serial = system.stream.length(), system.stream.case_state(case_id), system.redis.get(serial_key)
        audited = audit.count(system.engine)
        try:
            call(service, case_id)
        except CommandRefused as error:
            checks = {"status": error.status == status, "text": text in error.message("en"),
                      "one line": "\n" not in error.message("en") and bool(error.message("zh")),
                      "stream": system.stream.length() == length,
                      "state": system.stream.case_state(case_id) == state,
                      "serial": system.redis.get(serial_key) == serial,
                      "audited": audit.count(system.engine) == audited + 1}
            bad = [k for k, ok in checks.items() if not ok]
            if bad:
                failures.append(f"{name}: {bad} ({error.status} {error.message('en')})")
        else:
            failures.append(f"{name}: accepted")
    assert failures == []


def test_a_department_acts_only_on_its_own_cases(system, service):
    case_id = dispatched(service, "sanitation")
    error = refused(lambda: service.handle(ROADS, case_id, "not ours"))
    assert error.status == 403 and "dispatched to sanitation" in error.message("en")
    error = refused(lambda: service.return_(ROADS, case_id, "not ours"))
    assert error.status == 403
    assert service.handle(SANI, case_id, "清运完毕").after == "handled"


def test_the_whole_loop_with_rework_and_return(system, service):
    case_id = filed(service)
    service.dispatch(OP, case_id, "roads", note="请尽快")
    assert service.return_(Actor("r", "department", "roads"), case_id, "不属于本部门").after == "filed"
    service.dispatch(OP, case_id, "sanitation")
    service.handle(SANI, case_id, "已清运")
    assert refused(lambda: service.verify(SUP, case_id, "fail")).status == 400  # a rework needs a reason
    assert service.verify(SUP, case_id, "fail", "未清理干净").after == "dispatched"
    service.handle(SANI, case_id, "二次清运")
    service.verify(SUP, case_id, "pass")
    done = service.close(SUP, case_id)
    assert done.after == "closed" and done.version == 10
    stats = system.worker().drain()
    assert stats.dead == 0
    row = service.queries.row(case_id)
    assert (row["stage"], row["version"], row["rework_count"], row["return_count"]) == ("closed", 10, 1, 1)
    assert row["department_code"] == "sanitation"


def test_extension_request_approved_and_suspension_resumed(system, service):
    case_id = dispatched(service)
    state = service.state(case_id)
    until = (datetime.fromisoformat(state["deadline"]) + timedelta(days=2)).isoformat()
    error = refused(lambda: service.request(SANI, case_id, "extend", "", until))
    assert error.status == 400
    service.request(SANI, case_id, "extend", "需要协调物业", until)
    assert [r["case_id"] for r in service.requests()] == [case_id]
    too_early = refused(lambda: service.extend(SUP, case_id, state["deadline"]))
    assert too_early.status == 400 and "later than the current deadline" in too_early.message("en")
    service.extend(SUP, case_id, until, "同意")
    assert service.requests() == []
    service.suspend(SUP, case_id, "需市级协调")
    assert service.resume(SUP, case_id).after == "dispatched"
    assert system.worker().drain().dead == 0
    row = service.queries.row(case_id)
    assert row["extension_count"] == 1 and row["stage"] == "dispatched"


def test_decline_a_request(system, service):
    case_id = dispatched(service)
    service.request(SANI, case_id, "suspend", "施工许可未到")
    assert refused(lambda: service.decline(OP, case_id)).status == 403
    service.decline(SUP, case_id, "不符合挂账条件")
    assert service.requests() == []
    assert refused(lambda: service.decline(SUP, case_id)).status == 404


def test_every_command_leaves_an_audit_row(system, service):
    case_id = filed(service)
    service.dispatch(OP, case_id, "sanitation")
    refused(lambda: service.dispatch(OP, case_id, "sanitation"))
    refused(lambda: service.handle(ROADS, case_id))
    rows = audit.query(system.engine, case_id=case_id)
    summary = [(r["action"], r["user_name"], r["outcome"], r["before"], r["after"]) for r in reversed(rows)]
    assert summary == [("report", "sup", "ok", None, "reported"), ("file", "sup", "ok", "reported", "filed"),
                       ("dispatch", "op", "ok", "filed", "dispatched"),
                       ("dispatch", "op", "conflict", "dispatched", "dispatched"),
                       ("handle", "roads", "refused", "dispatched", "dispatched")]
    assert rows[0]["remote_addr"] == "10.0.0.10" and "not to your department" in rows[0]["message"]
    csv_text = audit.to_csv(rows)
    assert csv_text.splitlines()[0].startswith("id,at,user_name")


def test_recommendation_routing_load_rate_and_deadline(system, service, clock):
    for _ in range(3):
        dispatched(service, "sanitation")
    case_id = filed(service)
    system.worker().drain()
    row = service.queries.row(case_id)
    advice = Recommender(system).recommend(row)       # "now" is the system's clock
    first, second = advice["candidates"][:2]
    assert advice["department"] == first["code"] == "sanitation" and first["why"] == "routing"
    assert first["load"] == 3 and first["on_time_rate"] is None
    assert second["code"] == f"street-{row['street_code']}" and second["why"] == "street"
    assert advice["deadline"] == system.scenario.limits.deadline("dispatched", "E0102", "normal", clock())[1]


def test_report_body_keeps_text_verbatim(system, service, clock):
    evil = '<img src=x onerror=window.__xss=1><script>window.__xss=1</script> & "quotes"'
    case_id = service.report(SUP, "E0102", LON, LAT, evil, "phone").case_id
    reported = events_of(system, case_id, "reported")[0]
    assert json.loads(reported["body"])["description"] == evil
    # stamped by the system's clock, in the centre's zone, and numbered on that day
    assert reported["at"] == clock().astimezone(service.tz).isoformat()
    assert case_id.startswith(f"DC{clock().astimezone(service.tz):%Y%m%d}")


def test_cases_moved_by_another_producer_use_the_reporting_database(system, service, clock):
    """The simulator appends without the service's extra fields: after it re-dispatches a case,
    the department rule follows the database, not the service's older note."""
    from tests.helpers import event
    case_id = dispatched(service, "sanitation")
    service.return_(SANI, case_id, "派错了")
    version = int(system.stream.case_state(case_id)["version"])
    other = event(case_id, "dispatched", clock(), actor="simulator", department="roads")
    assert isinstance(system.stream.append(other, expect_version=version), str)
    system.worker().drain()
    assert refused(lambda: service.handle(SANI, case_id)).status == 403
    assert service.handle(ROADS, case_id, "已修复").after == "handled"
