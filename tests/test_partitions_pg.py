"""Monthly partitions on PostgreSQL (issue 15, migration 0004_partitions): the migration of a
filled database keeps every row and the worker goes on after it; the worker makes a new
month's partitions on demand and the start-up moves bulk-loaded rows out of the default
partition; the worker's writes and the acts' roll-ups on partitioned tables equal SQLite's."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from datasource.services.report_acts import ActFacts
from datasource.services.report_sql import Dialect, acts_fill
from datasource.simulation.backfill import append_history, generate_history
from datasource.store import partitions, schema
from datasource.store.database import alembic_config, load_reference, make_engine, migrate, prepare
from datasource.system import System
from tests.helpers import LAT, LON, event, publish
from tests.streams import differences, snapshot

CST = timezone(timedelta(hours=8))


def rollups(engine) -> dict[str, list[tuple]]:
    """The acts and their daily roll-up, row for row (the roll-up's surrogate id left out)."""
    out = {}
    with engine.connect() as c:
        for name in ("report_acts", "report_acts_daily"):
            table = schema.metadata.tables[name]
            columns = [col for col in table.c if col.name != "id"]
            rows = c.execute(select(*columns).order_by(*columns))
            out[name] = [tuple(v.astimezone(timezone.utc).isoformat() if isinstance(v, datetime) else v for v in r)
                         for r in rows]
    return out


def registered(engine) -> int:
    with engine.connect() as c:
        return c.execute(text(f"SELECT count(*) FROM {partitions.REGISTRY}")).scalar()


def kinds(engine) -> dict[str, str]:
    with engine.connect() as c:
        return dict(c.execute(text("SELECT relname, relkind::text FROM pg_class WHERE relname IN "
                                   "('case_events', 'report_acts', 'report_acts_daily')")).all())


def partition_of(engine, table: str, where: str) -> list[str]:
    with engine.connect() as c:
        return sorted(set(c.execute(text(f"SELECT tableoid::regclass::text FROM {table} WHERE {where}")).scalars()))


def default_rows(engine) -> int:
    with engine.connect() as c:
        return sum(c.execute(text(f"SELECT count(*) FROM {partitions.default_name(t)}")).scalar()
                   for t in partitions.TABLES)


@pytest.fixture
def two_systems(pg_database_url, tmp_path, stream_key, redis_server_url, scenario):
    """A PostgreSQL system left at the revision before partitions, and a SQLite one; one stream."""
    from dashboard.settings import Settings
    made = []

    def system(url, group):
        settings = Settings(data_dir=tmp_path, redis_url=redis_server_url, database_url=url, stream=stream_key,
                            group=group, components_autoload=False)
        made.append(System(settings))
        return made[-1]

    engine = make_engine(pg_database_url)
    command.upgrade(alembic_config(engine), "0004_inspector_rollup")
    load_reference(engine, scenario)
    engine.dispose()
    pg, lite = system(pg_database_url, "pg"), system(f"sqlite:///{tmp_path / 'lite.db'}", "lite")
    prepare(lite.engine, scenario)
    yield pg, lite
    for s in made:
        s.close()


def test_the_migration_keeps_every_row_and_partitioned_tables_equal_sqlite(two_systems):
    pg, lite = two_systems
    now = datetime.now(timezone.utc)
    history = generate_history(pg.scenario, pg.locator, 40, seed=15, now=now, per_day=25)   # two or three months
    append_history(pg.stream, history, seed=15)
    assert pg.worker().drain().dead == 0
    ActFacts(pg).refresh()
    before, acts_before = snapshot(pg.engine), rollups(pg.engine)
    with pg.engine.connect() as c:
        top = c.execute(text("SELECT max(id) FROM case_events")).scalar()
        first = c.execute(text("SELECT min(at) FROM case_events")).scalar()
    assert len(before["case_events"]) > 1000 and len(acts_before["report_acts_daily"]) > 100
    assert set(kinds(pg.engine).values()) == {"r"}

    migrate(pg.engine)                                              # 0004_partitions: the tables rebuilt

    assert kinds(pg.engine) == {"case_events": "p", "report_acts": "p", "report_acts_daily": "p"}
    assert differences(before, snapshot(pg.engine)) == [] and rollups(pg.engine) == acts_before
    with pg.engine.connect() as c:
        have = partitions.existing(c)
    months = partitions.months_between(partitions.month_of(first),
                                       partitions.next_month(partitions.month_of(now), partitions.AHEAD))
    assert len(months) >= 4 and all(set(months) <= have[t] for t in partitions.TABLES)
    assert default_rows(pg.engine) == 0 and registered(pg.engine) == len(before["case_events"])
    assert partition_of(pg.engine, "case_events", f"at < '{months[1][0]}-{months[1][1]:02d}-01+00'") == \
        [partitions.partition_name("case_events", months[0])]

    # The worker goes on: a new case, numbered after the copied events; its acts recorded.
    case = "DC20261130009001"
    publish(pg.stream, [event(case, "reported", now - timedelta(minutes=20), category="E0102", lon=LON, lat=LAT,
                              source="phone", description="after the migration"),
                        event(case, "filed", now - timedelta(minutes=10))])
    assert pg.worker().drain().applied == 2
    with pg.engine.connect() as c:
        assert c.execute(text("SELECT min(id) FROM case_events WHERE case_id = :c"), {"c": case}).scalar() > top
    assert ActFacts(pg).refresh() == 2
    assert registered(pg.engine) == len(before["case_events"]) + 2
    # Two refreshes judging the same events (two processes at once): ON CONFLICT keeps one row.
    acts = rollups(pg.engine)
    with pg.engine.begin() as c:
        c.execute(acts_fill(Dialect("postgresql"), pg.scenario), {"after": 0, "upto": top + 2})
    assert rollups(pg.engine) == acts

    # An event id stays unique over every month (the registry's key), as before the partitions.
    with pytest.raises(IntegrityError), pg.engine.begin() as c:
        c.execute(text("INSERT INTO case_events (event_id, case_id, type, at, actor, body) SELECT event_id, case_id, "
                       "type, at - interval '40 days', actor, body FROM case_events WHERE case_id = :c"), {"c": case})

    # The same stream into SQLite: every projected table and both roll-ups equal.
    assert lite.worker().drain().dead == 0
    ActFacts(lite).refresh()
    assert differences(snapshot(lite.engine), snapshot(pg.engine)) == []
    assert rollups(lite.engine) == rollups(pg.engine)

    # And down again: plain tables, every row kept.
    after = snapshot(pg.engine)
    command.downgrade(alembic_config(pg.engine), "0004_inspector_rollup")
    assert set(kinds(pg.engine).values()) == {"r"} and differences(after, snapshot(pg.engine)) == []


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_new_months_get_their_partition(system):
    engine = system.engine
    # An old month the database has never seen, and a case reported 30 minutes after a local
    # midnight that begins a month (its UTC instant is still in the month before).
    old = datetime(2025, 3, 10, 9, 0, tzinfo=CST)
    edge = datetime(2025, 6, 1, 0, 30, tzinfo=CST)
    publish(system.stream, [event("DC20250310000001", "reported", old, category="E0102", lon=LON, lat=LAT,
                                  source="phone", description="old"),
                            event("DC20250601000001", "reported", edge, category="E0102", lon=LON, lat=LAT,
                                  source="phone", description="edge"),
                            event("DC20250601000001", "filed", edge + timedelta(minutes=1))])
    assert system.worker().drain().applied == 3
    assert partition_of(engine, "case_events", "case_id = 'DC20250310000001'") == ["case_events_p2025_03"]
    assert partition_of(engine, "case_events", "case_id = 'DC20250601000001'") == ["case_events_p2025_05"]
    ActFacts(system).refresh()
    assert partition_of(engine, "report_acts", "true") == ["report_acts_p2025_05"]
    assert partition_of(engine, "report_acts_daily", "true") == ["report_acts_daily_p2025_06"]
    assert default_rows(engine) == 0

    # A bulk load that bypasses the worker lands in the default partition; the next start moves it.
    with engine.begin() as c:
        c.execute(text("INSERT INTO case_events (event_id, stream_id, case_id, type, at, actor, body) VALUES "
                       "('bulk-1', NULL, 'DC20240705000001', 'reported', '2024-07-05 10:00+08', 'loader', '{}')"))
    assert partition_of(engine, "case_events", "event_id = 'bulk-1'") == ["case_events_default"]
    assert partitions.maintain(engine) == [(2024, 7)]
    assert partition_of(engine, "case_events", "event_id = 'bulk-1'") == ["case_events_p2024_07"]
    assert default_rows(engine) == 0 and partitions.maintain(engine) == []
    assert registered(engine) == 4

    # Deleting events deletes their registration (the tests' and a rebuild's way to start again).
    with engine.begin() as c:
        c.execute(text("DELETE FROM case_events WHERE event_id = 'bulk-1'"))
    assert registered(engine) == 3
