"""Return visits (回访, issue 11): the domain's story, the projection and rebuild on SQLite and
PostgreSQL, the API (every documented answer of ``recordVisit``), the queue and the
satisfaction rate."""
from __future__ import annotations

from datetime import timedelta

import pytest

from dashboard.domain.events import CaseEvent
from dashboard.domain.lifecycle import EventType, Stage, TransitionRefused
from dashboard.domain.projection import apply_event
from dashboard.domain.visits import VisitRefused, awaiting_visit, check_visit, satisfaction_rate
from datasource.follower.rebuild import rebuild
from datasource.services.command_types import Actor
from datasource.services.commands import CommandService
from datasource.store.database import make_engine
from tests.conftest import PG_URL, create_pg_database, drop_pg_database
from tests.helpers import LAT, LON, TEST_NOW, cases_table, event, loop_events, publish
from tests.test_api import UNKNOWN_CASE, client, tokens  # noqa: F401 - fixtures

ADMIN = Actor("setup", "admin")
CALLER = Actor("call-taker", "supervision")


def public_loop(case_id, start, source="hotline12345", department="sanitation"):
    events = loop_events(case_id, start, department)
    events[0].body["source"] = source
    return events


def test_story_of_a_visit_that_reopens_the_case(scenario):
    """A 12345 report closed, visited unsatisfied, reopened, handled again, visited satisfied."""
    t0 = TEST_NOW - timedelta(days=2)
    row = None
    for e in public_loop("DC20261101000001", t0):              # reported … closed
        row = apply_event(row, e, scenario, ("110101001001001", "110101001001", "110101001"))
    assert row["stage"] == "closed" and awaiting_visit(row)
    # the reporter is unsatisfied: the visit is recorded; the case is still closed
    visited = event("DC20261101000001", "visited", t0 + timedelta(hours=2), result="unsatisfied", note="还有垃圾")
    row = apply_event(row, visited, scenario)
    assert (row["visit_result"], row["visit_count"], row["stage"]) == ("unsatisfied", 1, "closed")
    assert not awaiting_visit(row)
    # … and reopened: back to the same department as rework, with a new handling clock
    row = apply_event(row, event("DC20261101000001", "reopened", t0 + timedelta(hours=2), reason="还有垃圾"), scenario)
    assert (row["stage"], row["department_code"], row["rework_count"]) == ("dispatched", "sanitation", 1)
    assert row["closed_at"] is None and row["handle_deadline_at"] > t0 + timedelta(hours=2)
    # a second visit cannot be recorded while it is being reworked
    with pytest.raises(TransitionRefused):
        apply_event(row, event("DC20261101000001", "visited", t0 + timedelta(hours=3), result="satisfied"), scenario)
    # handled, verified, closed again → awaits a visit again; then satisfied
    for n, kind in enumerate(("handled", "verified", "closed"), start=3):
        row = apply_event(row, event("DC20261101000001", kind, t0 + timedelta(hours=n)), scenario)
    assert awaiting_visit(row)
    row = apply_event(row, event("DC20261101000001", "visited", t0 + timedelta(hours=7), result="satisfied"), scenario)
    assert (row["visit_result"], row["visit_count"]) == ("satisfied", 2) and not awaiting_visit(row)


def test_the_rules_of_a_visit():
    check_visit("closed", "app", "basically")
    check_visit("closed", "phone", "unsatisfied", reopen=True)
    for args, key in ((("closed", "inspector", "satisfied"), "not_public"), (("handled", "app", "satisfied"), "not_closed"),
                      (("closed", "app", "happy"), "result"), (("closed", "app", "satisfied", True), "reopen_satisfied")):
        with pytest.raises(VisitRefused) as refused:
            check_visit(*args)
        assert refused.value.key == key
    assert satisfaction_rate(1, 1, 4) == 0.5 and satisfaction_rate(0, 0, 0) is None
    assert not awaiting_visit({"stage": "closed", "source": "inspector", "visited_at": None, "closed_at": TEST_NOW})


def test_visits_project_and_rebuild_exactly(system, settings):
    service = CommandService(system)
    visits = _visits(system, service)
    ids = [_closed_public_case(service, source) for source in ("hotline12345", "app", "phone", "inspector")]
    system.worker().drain()
    assert visits.queue()["total"] == 3
    visits.record(CALLER, ids[0], "satisfied", "很快")
    visits.record(CALLER, ids[1], "unsatisfied", "没处理干净", reopen=True)
    visits.record(CALLER, ids[2], "basically")
    system.worker().drain()
    rows = {r["case_id"]: r for r in cases_table(system.engine)}
    assert [rows[c]["visit_result"] for c in ids] == ["satisfied", "unsatisfied", "basically", None]
    assert rows[ids[1]]["stage"] == "dispatched" and rows[ids[1]]["rework_count"] == 1
    assert system.stream.case_state(ids[1])["stage"] == "dispatched"
    assert visits.queue()["total"] == 0
    # the replay into an empty database (of the same kind) gives the same table
    sqlite = settings.database_url.startswith("sqlite")
    url = settings.database_url.replace("citygrid.db", "rebuilt.db") if sqlite else create_pg_database(PG_URL)
    target = make_engine(url)
    try:
        rebuild(system, target)
        assert cases_table(target) == cases_table(system.engine)
    finally:
        target.dispose()
        if not sqlite:
            drop_pg_database(PG_URL, url)


def test_satisfaction_by_department_and_street(system):
    service = CommandService(system)
    visits = _visits(system, service)
    a = [_closed_public_case(service, "hotline12345", "sanitation") for _ in range(3)]
    b = _closed_public_case(service, "app", "roads")
    system.worker().drain()
    for case_id, result in zip(a, ("satisfied", "basically", "unsatisfied")):
        visits.record(CALLER, case_id, result, "回访")
    visits.record(CALLER, b, "unsatisfied", "不满意")
    system.worker().drain()
    from dashboard.domain.evaluation import from_to
    period = from_to(None, None, service.now().date(), tz=system.scenario.calendar.tz)
    figure = visits.satisfaction(period, "department")
    assert figure["total"]["visited"] == 4 and figure["total"]["rate"] == 0.5
    assert visits.rates(period, "department") == {"sanitation": pytest.approx(2 / 3), "roads": 0.0}
    streets = visits.satisfaction(period, "street")["groups"]
    assert sum(g["visited"] for g in streets) == 4 and all(g["name"] for g in streets)


def test_every_documented_answer_of_record_visit(system, client, tokens):
    service = CommandService(system)
    closed = _closed_public_case(service, "hotline12345")
    open_case = service.report(ADMIN, "E0102", LON, LAT, "x", source="app").case_id
    system.worker().drain()
    url = f"/api/v1/cases/{closed}/visit"
    sup = tokens["supervision"]
    statuses = {
        "400": client.post(url, json={"result": "happy"}, headers=sup),
        "401": client.post(url, json={"result": "satisfied"}),
        "403": client.post(url, json={"result": "satisfied"}, headers=tokens["operator"]),
        "404": client.post(f"/api/v1/cases/{UNKNOWN_CASE}/visit", json={"result": "satisfied"}, headers=sup),
        "409": client.post(f"/api/v1/cases/{open_case}/visit", json={"result": "satisfied"}, headers=sup),
        "413": client.post(url, data='{"note": "' + "x" * 70_000 + '"}', content_type="application/json", headers=sup),
        "415": client.post(url, data="result=satisfied", content_type="application/x-www-form-urlencoded", headers=sup),
        "200": client.post(url, json={"result": "unsatisfied", "note": "仍有垃圾", "reopen": True, "version": 6},
                           headers=sup),
    }
    assert {s: str(a.status_code) for s, a in statuses.items()} == {s: s for s in statuses}, \
        {s: a.json for s, a in statuses.items()}
    assert set(client.spec["paths"]["/cases/{case_id}/visit"]["post"]["responses"]) == set(statuses)
    assert statuses["200"].json["after"] == "dispatched" and statuses["200"].json["version"] == 8
    # one visit per closure: a second call-taker's visit of the same closure is a conflict
    twice = _closed_public_case(service, "app")
    system.worker().drain()
    assert client.post(f"/api/v1/cases/{twice}/visit", json={"result": "satisfied"}, headers=sup).status_code == 200
    again_answer = client.post(f"/api/v1/cases/{twice}/visit", json={"result": "basically"}, headers=sup)
    assert again_answer.status_code == 409 and again_answer.json["error"] == "conflict"
    assert "12345" in client.post(f"/api/v1/cases/{_closed_public_case(service, 'inspector')}/visit",
                                  json={"result": "satisfied"}, headers=sup).json["message"]
    # an unsatisfied visit needs a note; reopen only when unsatisfied
    system.worker().drain()
    again = _closed_public_case(service, "phone")
    system.worker().drain()
    assert client.post(f"/api/v1/cases/{again}/visit", json={"result": "unsatisfied"}, headers=sup).status_code == 400
    assert client.post(f"/api/v1/cases/{again}/visit", json={"result": "satisfied", "reopen": True},
                       headers=sup).status_code == 400
    queue = client.get("/api/v1/visits", headers=sup).json
    assert queue["total"] == 1 and queue["cases"][0]["case_id"] == again
    figure = client.get("/api/v1/satisfaction?by=street", headers=tokens["leader"]).json
    assert figure["total"]["visited"] == 2 and figure["total"]["rate"] == 0.5


def _visits(system, service):
    from datasource.services.cases import CaseQueries
    from datasource.services.visits import Visits
    return Visits(system, service, CaseQueries(system))


def _closed_public_case(service, source, department="sanitation") -> str:
    case_id = service.report(ADMIN, "E0102", LON, LAT, "垃圾", source=source).case_id
    service.file(ADMIN, case_id)
    service.dispatch(ADMIN, case_id, department)
    service.handle(ADMIN, case_id, "已清运")
    service.verify(ADMIN, case_id, "pass")
    service.close(ADMIN, case_id)
    return case_id
