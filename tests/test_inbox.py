"""One truth for commands (issue 8): every producer appends through the checked path.

Against real Redis and both databases: a case another system reports through the inbox is
known to the command API, an inbox rejection makes a later filing a 409, a direct XADD to
the case stream is dead-lettered and changes nothing, an inbox entry delivered twice is
appended once, refusals are recorded with their reason, and after a backfill, live
traffic, commands and inbox events the command side equals the projection for every case.
"""
from __future__ import annotations

import ast
import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from dashboard.cli.commands import cli
from dashboard.web.factory import create_app
from datasource.services import accounts
from datasource.store import schema
from datasource.services.commands import Actor, CommandService
from datasource.services.inbox import INBOX_GROUP, Gateway, rejected_entries
from datasource.simulation.traffic import LiveSimulator
from datasource.simulation.backfill import backfill
from datasource.redis.stream import MARKER
from tests.helpers import TEST_NOW, LAT, LON, cases_table, dead_reasons

ROOT = Path(__file__).resolve().parent.parent
SUP = Actor("sup", "supervision")
OP = Actor("op", "operator")


def now() -> datetime:
    """The tests' fixed clock (the system's clock too): inbox events and commands agree on it."""
    return TEST_NOW.astimezone(timezone.utc)


def envelope(kind: str, case_id: str = "", at: datetime | None = None, event_id: str | None = None,
             actor: str = "hotline-12345", **body) -> dict:
    """Stream fields as another system writes them."""
    return {"event_id": event_id or uuid.uuid4().hex, "case_id": case_id, "type": kind,
            "at": (at or now()).isoformat(), "actor": actor, "body": json.dumps(body, ensure_ascii=False)}


def report_fields(case_id: str = "", **overrides) -> dict:
    body = {"category": "E0102", "lon": LON, "lat": LAT, "description": "12345 转来：垃圾堆积",
            "source": "hotline12345", "urgency": "normal"}
    body.update(overrides)
    return envelope("reported", case_id, **body)


def to_inbox(system, *entries: dict) -> None:
    for fields in entries:
        system.redis.xadd(system.stream.key + ":inbox", fields)


def admitted_case(system, fields: dict) -> str:
    """The case id the gateway appended an inbox event to (from its done key)."""
    done = system.redis.get(f"{system.stream.key}:inbox:done:{fields['event_id']}")
    assert done is not None, "the gateway did not append the event"
    return done.decode().split()[1]


@pytest.fixture
def api(system):
    """A test client of the web app and a bearer header per role."""
    headers = {}
    for name, role in (("sup", "supervision"), ("op", "operator")):
        accounts.add_user(system.engine, name, role, "password-123", None)
        headers[role] = {"Authorization": f"Bearer {accounts.create_token(system.engine, name)}"}
    return create_app(system.settings, system).server.test_client(), headers


def test_a_case_reported_through_the_inbox_is_known_to_the_api(system, api):
    client, headers = api
    today = now().astimezone(system.scenario.calendar.tz)
    assigned, chosen = report_fields(), report_fields(f"DC{today:%Y%m%d}900001")
    to_inbox(system, assigned, chosen)
    stats = Gateway(system).drain()
    assert (stats.accepted, stats.refused, stats.duplicates) == (2, 0, 0)
    case_id = admitted_case(system, assigned)
    assert case_id != chosen["case_id"] and admitted_case(system, chosen) == chosen["case_id"]
    for case in (case_id, chosen["case_id"]):
        answer = client.post(f"/api/v1/cases/{case}/file", headers=headers["supervision"])
        assert answer.status_code == 200, answer.json
    assert system.worker().drain().dead == 0
    rows = {r["case_id"]: r for r in cases_table(system.engine)}
    assert {c: (rows[c]["stage"], rows[c]["version"], rows[c]["source"]) for c in rows} == {
        case_id: ("filed", 2, "hotline12345"), chosen["case_id"]: ("filed", 2, "hotline12345")}
    # Our own ids of that day continue after the one the other system chose.
    ours = CommandService(system).report(SUP, "E0102", LON, LAT, "垃圾").case_id
    assert int(ours[-6:]) > 900001


def test_a_rejection_through_the_inbox_makes_filing_a_conflict(system, api):
    client, headers = api
    reported = report_fields()
    to_inbox(system, reported)
    Gateway(system).drain()
    case_id = admitted_case(system, reported)
    to_inbox(system, envelope("rejected", case_id, reason="重复上报"))
    assert Gateway(system).drain().accepted == 1
    answer = client.post(f"/api/v1/cases/{case_id}/file", headers=headers["supervision"])
    assert answer.status_code == 409, answer.json
    assert "rejected" in answer.json["message"] or "不予立案" in answer.json["message"]
    stats = system.worker().drain()
    assert stats.dead == 0 and stats.applied == 2
    assert [(r["stage"], r["version"]) for r in cases_table(system.engine)] == [("rejected", 2)]


def test_a_direct_xadd_to_the_case_stream_is_dead_lettered_and_changes_nothing(system, api):
    client, headers = api
    case_id = f"DC{now():%Y%m%d}000042"
    system.stream.append_raw(report_fields(case_id))   # around the check, as the README used to invite
    answer = client.post(f"/api/v1/cases/{case_id}/file", headers=headers["supervision"])
    assert answer.status_code == 404
    stats = system.worker().drain()
    assert (stats.applied, stats.dead) == (0, 1)
    [reason] = dead_reasons(system.engine)
    assert "not appended through the checked path" in reason and ":inbox" in reason
    assert cases_table(system.engine) == [] and system.stream.case_state(case_id) == {}
    # A checked append of the same event afterwards is applied normally.
    to_inbox(system, report_fields(case_id))
    assert Gateway(system).drain().accepted == 1 and system.worker().drain().applied == 1


def test_an_inbox_entry_delivered_twice_is_appended_once(system):
    fields = report_fields()
    to_inbox(system, fields, fields)                      # a producer's retry: the same event id twice
    gateway = Gateway(system, consumer="g1")
    gateway.ensure_group()
    assert gateway.drain().accepted == 1 and gateway.stats.duplicates == 1
    assert system.stream.length() == 1
    # A re-delivery after a crash between the append and the acknowledgement.
    to_inbox(system, fields)
    crashed = system.redis.xreadgroup(INBOX_GROUP, "crashed", {system.stream.key + ":inbox": ">"}, count=10)
    survivor = Gateway(system, consumer="g2", claim_idle_ms=0)
    assert survivor.drain().duplicates == 1
    again = survivor.process(crashed[0][1])               # and once more, as it was read
    assert (again.accepted, again.duplicates) == (0, 1)
    assert system.stream.length() == 1
    assert system.redis.xpending(system.stream.key + ":inbox", INBOX_GROUP)["pending"] == 0
    assert system.worker().drain().applied == 1


def test_refused_inbox_entries_are_recorded_with_their_reason(system):
    reported = report_fields()
    to_inbox(system, reported)
    Gateway(system).drain()
    case_id = admitted_case(system, reported)
    unknown = f"DC{now():%Y%m%d}777777"
    bad = {
        "outside": report_fields(lon=2.35, lat=48.85),
        "category": report_fields(category="X9999"),
        "transition": envelope("closed", case_id),
        "unknown case": envelope("filed", unknown),
        "early": envelope("filed", case_id, at=now() - timedelta(days=1)),
        "department": envelope("dispatched", case_id, department="nowhere"),
        "envelope": {"event_id": uuid.uuid4().hex, "type": "filed"},
    }
    to_inbox(system, *bad.values())
    stats = Gateway(system).drain()
    assert (stats.accepted, stats.refused) == (0, len(bad))
    reasons = {r["event_id"]: r["reason"] for r in rejected_entries(system.redis, system.stream.key)}
    expected = {"outside": "outside the district", "category": "unknown category",
                "transition": "'closed' is not allowed", "unknown case": "does not exist",
                "early": "before the case was reported", "department": "unknown department",
                "envelope": "missing field"}
    for name, fragment in expected.items():
        assert fragment in reasons[bad[name]["event_id"]], (name, reasons[bad[name]["event_id"]])
    assert system.stream.length() == 1 and system.stream.case_state(unknown) == {}
    assert system.stream.case_state(case_id)["version"] == "1"
    assert system.redis.xlen(system.stream.key + ":inbox") == 0   # processed entries leave the inbox


def test_the_command_side_equals_the_projection_for_every_case(system):
    """Backfill, live traffic, commands and inbox events: hash state == cases row, all cases."""
    backfill(system, 0.3, seed=3)
    simulator = LiveSimulator(system, seed=5)
    outcomes = [simulator.tick() for _ in range(400)]
    assert sum(o not in ("conflict", "skipped") for o in outcomes) > 300
    service = CommandService(system)
    ours = service.report(SUP, "E0102", LON, LAT, "垃圾").case_id
    service.file(SUP, ours)
    service.dispatch(OP, ours, "sanitation")
    system.worker().drain()
    with system.engine.connect() as c:
        reported = c.execute(select(schema.cases.c.case_id).where(schema.cases.c.stage == "reported")
                             .order_by(schema.cases.c.case_id).limit(6)).scalars().all()
    assert len(reported) == 6
    to_inbox(system, *[envelope("filed" if i % 2 else "rejected", case, reason="重复") for i, case in
                       enumerate(reported)], envelope("filed", reported[0]), report_fields())
    stats = Gateway(system).drain()
    assert (stats.accepted, stats.refused) == (7, 1)
    assert system.worker().drain().dead == 0 and dead_reasons(system.engine) == []
    rows = {r["case_id"]: (r["stage"], r["version"]) for r in cases_table(system.engine)}
    pipe = system.redis.pipeline(transaction=False)
    for case in rows:
        pipe.hmget(system.stream.case_key(case), "stage", "version")
    hashes = {case: (stage.decode(), int(version)) for case, (stage, version) in zip(rows, pipe.execute())}
    assert hashes == rows
    keys = sum(1 for _ in system.redis.scan_iter(match=system.stream.prefix + "case:*", count=5000))
    assert keys == len(rows) > 300
    assert all(MARKER.encode() in fields for batch in system.stream.read_all() for _, fields in batch)


def test_the_gateway_command_drains_the_inbox(system):
    fields = report_fields()
    to_inbox(system, fields)
    settings = system.settings
    result = CliRunner().invoke(cli, ["--redis-url", system.redis_url, "--database-url",
                                      settings.effective_database_url, "--data-dir", str(settings.data_dir),
                                      "gateway", "--drain"], env={"CITYGRID_STREAM": settings.stream})
    assert result.exit_code == 0, result.output
    assert "accepted 1, duplicates 0, refused 0" in result.output
    assert CliRunner().invoke(cli, ["gateway", "--help"]).exit_code == 0


def test_production_code_appends_to_the_case_stream_only_through_the_check():
    """No module of the product XADDs, raw-appends or stamps entries itself: the check's
    Lua script (datasource/redis/stream.py) is the case stream's only writer.  (The inbox
    gateway writes its own rejected stream.)"""
    allowed = {ROOT / "datasource" / "redis" / "stream.py": {"xadd"}, ROOT / "datasource" / "services" / "inbox.py": {"xadd"}}
    offenders = []
    files = [ROOT / "app.py", *[p for d in ("datasource", "dashboard", "callbacks", "layouts")
                                for p in (ROOT / d).rglob("*.py")]]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", None))
                if name in ("xadd", "append_raw", "stamped") and name not in allowed.get(path, set()):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert offenders == []
