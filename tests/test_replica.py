"""A streaming read replica (issue 15): the pair from ``scripts/pg_replica.py`` (real
``initdb`` + ``pg_basebackup -R`` servers on free loopback ports); a read service reads the
replica, a command writes the primary; with the replica gone the reads fall back to the
primary with one warning, and return to the replica when it is back."""
from __future__ import annotations

import glob
import logging
import os
import shutil

import pytest
from sqlalchemy import text

from dashboard.domain.evaluation import Period
from dashboard.settings import Settings
from datasource.services import audit
from datasource.services.command_types import Actor
from datasource.services.commands import CommandService
from datasource.services.regions import RegionReport
from datasource.store import replica as replica_module
from datasource.store.database import make_engine
from datasource.system import System
from tests.conftest import _absent, create_pg_database
from tests.helpers import LAT, LON, wait_until


def pair_or_skip():
    from scripts.pg_replica import ReplicaPair
    if not glob.glob("/usr/lib/postgresql/*/bin/pg_basebackup") or (os.geteuid() == 0 and not shutil.which("runuser")):
        _absent("PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup)", "not installed")
    return ReplicaPair()


@pytest.fixture(scope="module")
def pair():
    with pair_or_skip() as started:
        yield started


@pytest.fixture
def replicated(pair, tmp_path, stream_key, redis_server_url, clock):
    primary = create_pg_database(pair.primary_url)
    name = primary.rsplit("/", 1)[1]
    settings = Settings(data_dir=tmp_path, redis_url=redis_server_url, database_url=primary,
                        read_database_url=pair.replica_url.rsplit("/", 1)[0] + "/" + name, stream=stream_key,
                        components_autoload=False)
    system = System(settings, clock=clock).start()
    wait_until(lambda: _replica_has_database(pair, name), message="the new database on the replica")
    yield system
    system.close()


def _replica_has_database(pair, name: str) -> bool:
    engine = make_engine(pair.replica_url)
    try:
        with engine.connect() as c:
            return bool(c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar())
    finally:
        engine.dispose()


def _on_replica(pair, statement: str):
    engine = make_engine(pair.replica_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as c:
            return c.execute(text(statement)).scalar()
    finally:
        engine.dispose()


def test_a_read_service_reads_the_replica_and_a_command_writes_the_primary(replicated, pair):
    system = replicated
    with system.read_engine.connect() as c:
        assert c.execute(text("SELECT pg_is_in_recovery()")).scalar() is True
    with system.engine.connect() as c:
        assert c.execute(text("SELECT pg_is_in_recovery()")).scalar() is False
    assert system.read_engine.using == "replica"

    _on_replica(pair, "SELECT pg_wal_replay_pause()")       # the replica stops applying what it receives
    try:
        service, reports = CommandService(system), RegionReport(system)
        audited = audit.count(system.engine)
        answer = service.report(Actor("sup-1", "supervision"), "E0102", LON, LAT, "replica test")
        case_id = answer.case_id
        assert system.worker().drain().applied == 1
        with system.engine.connect() as c:                  # written to the primary …
            grid = c.execute(text("SELECT grid_code FROM cases WHERE case_id = :c"), {"c": case_id}).scalar()
        assert grid and audit.count(system.engine) == audited + 1
        today = system.now().astimezone(system.scenario.calendar.tz).date()
        period = Period(today, today, tz=system.scenario.calendar.tz)
        assert reports.grid_cases(grid, period) == []        # … and not yet seen by the paused replica
        assert audit.count(system.read_engine) == audited
    finally:
        _on_replica(pair, "SELECT pg_wal_replay_resume()")
    wait_until(lambda: [r["case_id"] for r in reports.grid_cases(grid, period)] == [case_id],
               message="the replica replays the report")
    lag = replica_module.lag(system.engine, system.read_engine.replica)
    assert lag["bytes"] >= 0 and lag["seconds"] >= 0


def test_reads_fall_back_to_the_primary_and_return_to_the_replica(replicated, pair, caplog, monkeypatch):
    system = replicated
    monkeypatch.setattr(replica_module, "RETRY_SECONDS", 0.2)
    router = system.read_engine
    caplog.set_level(logging.WARNING, logger=replica_module.__name__)
    pair.stop_replica()
    try:
        with router.connect() as c:                          # the replica is gone: the primary answers
            assert c.execute(text("SELECT pg_is_in_recovery()")).scalar() is False
        assert router.using == "primary"
        assert [r.message for r in caplog.records if "reports read from the primary" in r.message]
        with router.connect() as c:                          # no second warning while it stays down
            c.execute(text("SELECT 1"))
        assert len([r for r in caplog.records if "reports read from the primary" in r.message]) == 1
    finally:
        pair.start_replica()

    def back() -> bool:
        with router.connect() as c:
            return c.execute(text("SELECT pg_is_in_recovery()")).scalar() is True
    wait_until(back, timeout=30, message="reads on the replica again")
    assert router.using == "replica"
    assert [r.message for r in caplog.records if "is back" in r.message]
