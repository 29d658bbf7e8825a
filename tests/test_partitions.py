"""The partitioned stream (issue 15 item 1) against real Redis and SQLite (PostgreSQL too for
the commands): any interleaving of events over N partitions read by K workers that die at
random points gives the same tables as the single stream; the checked append splits a batch
per partition and keeps the ids unique; workers share the partitions through leases; the
inbox files a re-sent report once; and the embedded default is the single stream, unchanged.
"""
from __future__ import annotations

import itertools
import json
import uuid

import pytest
import redis
from hypothesis import HealthCheck, given, settings, strategies as st

from dashboard.domain.events import CaseEvent
from dashboard.domain.lifecycle import EventType
from dashboard.settings import Settings
from datasource.follower.locator import GridLocator
from datasource.follower.partitioned import PartitionedWorker
from datasource.follower.projector import Projector
from datasource.store.fastwrite import position_name
from datasource.follower.rebuild import rebuild
from datasource.follower.worker import Worker
from datasource.redis import backlog
from datasource.redis.partitions import PartitionedStream, is_partitioned, partition_of
from datasource.redis.stream import MARKER, EventStream, stamped
from datasource.services.commands import Actor, CommandService
from datasource.services.health import Health
from datasource.services.inbox import Gateway
from datasource.store.database import make_engine, prepare
from datasource.system import System
from tests.helpers import LAT, LON, TEST_NOW
from tests.streams import clear_projection, differences, snapshot, streams

SUP = Actor("sup", "supervision")
OP = Actor("op", "operator")


class Died(Exception):
    """A worker process killed between its commit and its acknowledgement."""


# ---------------------------------------------------------------------------- helpers

def partitioned_ids(entries: list[tuple[int, dict]], parts: int) -> list[tuple[int, str]]:
    """(partition, entry id) per entry: ids increase in entry order, and the sequence number of
    an id is its partition modulo ``parts`` — the rule the checked append follows."""
    out, last_ms, seq = [], None, -1
    for ms, fields in entries:
        case_id = fields.get("case_id", "")
        part = partition_of(case_id.decode() if isinstance(case_id, bytes) else str(case_id), parts)
        if ms != last_ms:
            last_ms, seq = ms, -1
        seq = seq + 1 + ((part - seq - 1) % parts)
        out.append((part, f"{ms}-{seq}"))
    return out


def _entry(fields: dict) -> dict:
    """The fields as written (with the checked append's marker unless the entry drops it)."""
    if MARKER in fields and fields[MARKER] is None:
        return {k: v for k, v in fields.items() if k != MARKER}
    return fields if MARKER in fields else stamped(fields)


def publish_at(client, keys: list[str], entries, ids) -> None:
    pipe = client.pipeline(transaction=False)
    for (_, fields), (part, entry_id) in zip(entries, ids):
        pipe.xadd(keys[part], _entry(fields), id=entry_id)
    pipe.execute()


def expire(client, worker: PartitionedWorker) -> None:
    """Time passes for a dead worker: its leases run out and its heartbeat grows old."""
    for lease in worker.leases:
        if client.get(lease.name) == worker.consumer.encode():
            client.delete(lease.name)
    backlog.beat(client, worker.stream.key, worker.consumer, now=0)


def _without_positions(shot: dict) -> dict:
    return {name: rows for name, rows in shot.items() if name != "projection_state"}


@pytest.fixture(scope="module")
def engines(tmp_path_factory, scenario):
    """Two SQLite databases (the single stream's, the partitions'), prepared once."""
    folder = tmp_path_factory.mktemp("partitions")
    out = []
    for name in ("single", "parts"):
        engine = make_engine(f"sqlite:///{folder / name}.db")
        prepare(engine, scenario)
        out.append(engine)
    yield out
    for engine in out:
        engine.dispose()


@pytest.fixture(scope="module")
def client(redis_server_url):
    client = redis.Redis.from_url(redis_server_url)
    yield client
    client.close()


# ---------------------------------------------------------------------------- properties

@st.composite
def schedules(draw, workers: int):
    """What happens, turn by turn: a worker steps, dies mid-batch, or vanishes."""
    return draw(st.lists(st.tuples(st.integers(0, workers - 1),
                                   st.sampled_from(["step"] * 6 + ["die", "vanish"])), max_size=25))


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(story=streams(max_cases=6, max_entries=30), parts=st.integers(2, 4), k=st.integers(1, 3),
       batch=st.sampled_from([1, 3, 500]), data=st.data())
def test_any_interleaving_over_partitions_and_workers_with_kills_equals_the_single_stream(
        engines, scenario, client, story, parts, k, batch, data):
    single_db, parts_db = engines
    locator = GridLocator(scenario)
    schedule = data.draw(schedules(k))
    base = f"test:parts:{uuid.uuid4().hex[:10]}"
    stream = PartitionedStream(client, base, parts)
    ids = partitioned_ids(story, parts)
    try:
        publish_at(client, [base] * parts, story, ids)                       # the single stream …
        publish_at(client, [p.key for p in stream.partitions()], story, ids)  # … and the partitions
        clear_projection(single_db)
        Worker(EventStream(client, base), "g", Projector(single_db, scenario, locator), consumer="one").drain()
        clear_projection(parts_db)
        made = itertools.count()

        def new_worker() -> PartitionedWorker:
            return PartitionedWorker(stream, "g", lambda part: Projector(parts_db, scenario, locator,
                                                                         position=position_name(part)),
                                     consumer=f"w{next(made)}", batch_size=batch)

        workers = [new_worker() for _ in range(k)]
        for w in workers:
            w.ensure_group()
        for who, action in schedule:
            worker = workers[who]
            if action == "die":
                for sub in worker.workers:
                    sub._acknowledge = _die
                try:
                    worker.step()          # committed a batch, then died before acknowledging it
                except Died:
                    pass
            else:
                worker.step()
            if action != "step":
                expire(client, worker)
                workers[who] = new_worker()
        for w in workers:
            w.release()   # the survivors stop cleanly …
        for w in workers:
            w.drain()     # … and drain what is left
        incremental = snapshot(parts_db)
        positions = {name: last for name, last in incremental["projection_state"] if last}
        clear_projection(parts_db)
        rebuild(_AsSystem(stream, parts_db, scenario, locator), parts_db)
        rebuilt = snapshot(parts_db)
        acked = sum(int(client.xpending(p.key, "g")["pending"]) for p in stream.partitions())
    finally:
        for key in client.scan_iter(match=base + "*", count=1000):
            client.delete(key)
    assert differences(_without_positions(snapshot(single_db)), _without_positions(incremental)) == []
    assert differences(incremental, rebuilt) == []
    assert acked == 0, "every entry acknowledged"
    last = {}
    for part, entry_id in ids:
        last[part] = entry_id
    assert positions == {f"stream:p{p:02d}": entry_id for p, entry_id in last.items()}


def _die(ids):
    raise Died()


class _AsSystem:
    """What :func:`rebuild` needs of a system, for a stream and a database of the test."""

    def __init__(self, stream, engine, scenario, locator):
        self.stream, self.engine, self.scenario, self.locator = stream, engine, scenario, locator

    def projector(self, engine=None, stream=None):
        return Projector(engine or self.engine, self.scenario, self.locator,
                         position=position_name(stream or self.stream.partitions()[0]))


# ---------------------------------------------------------------------------- the product

@pytest.fixture
def parted(settings, clock):
    """A system on a stream of three partitions (real Redis, SQLite and PostgreSQL)."""
    system = System(settings.with_(stream_partitions=3), clock=clock).start()
    yield system
    system.close()


def test_the_embedded_default_is_the_single_stream_unchanged(tmp_path):
    from datasource.redis.server import stop_embedded
    defaults = Settings(data_dir=tmp_path, components_autoload=False)
    assert defaults.stream_partitions == 1 and defaults.redis_cluster is False
    system = System(defaults).start(database=False)
    try:
        assert type(system.stream) is EventStream and system.stream.key == "citygrid:events"
        assert system.stream.case_key("DC20261102000001") == "citygrid:events:case:DC20261102000001"
        assert system.redis_url.startswith("unix://") and not system.cluster
    finally:
        system.close()
        stop_embedded(tmp_path)


def test_a_cluster_without_a_url_is_a_one_line_startup_error(tmp_path):
    from datasource.system import StartupError
    with pytest.raises(StartupError, match="CITYGRID_REDIS_CLUSTER=true needs CITYGRID_REDIS_URL"):
        System(Settings(data_dir=tmp_path, redis_cluster=True, components_autoload=False)).start(database=False)
    assert not (tmp_path / "redis").exists()     # no embedded server started for it


def test_the_single_stream_keeps_its_keys_ids_and_worker(system):
    stream = system.stream
    assert isinstance(stream, EventStream) and not is_partitioned(stream)
    assert stream.key == system.settings.stream and stream.partitions() == [stream]
    case_id = CommandService(system).report(SUP, "E0102", LON, LAT, "垃圾", "phone", "normal").case_id
    assert system.redis.exists(f"{system.settings.stream}:case:{case_id}")
    assert system.redis.xlen(system.settings.stream) == 1
    worker = system.worker()
    assert type(worker) is Worker
    worker.drain()
    assert system.projector().position() == system.redis.xrange(system.settings.stream)[-1][0].decode()
    assert position_name(stream) == "stream"


def test_commands_go_to_their_cases_partition_with_unique_ids(parted):
    service = CommandService(parted)
    stream = parted.stream
    cases = []
    for _ in range(12):
        case_id = service.report(SUP, "E0102", LON, LAT, "垃圾桶满溢", "phone", "normal").case_id
        service.file(SUP, case_id)
        cases.append(case_id)
    assert not parted.redis.exists(parted.settings.stream)      # no single stream beside the partitions
    seen = set()
    for part in stream.partitions():
        assert part.key == f"{parted.settings.stream}:{{p{part.index:02d}}}"
        for entry_id, fields in part.client.xrange(part.key):
            case_id = fields[b"case_id"].decode()
            assert partition_of(case_id, 3) == part.index
            assert int(entry_id.split(b"-")[1]) % 3 == part.index    # ids never collide across partitions
            seen.add(entry_id)
        assert parted.redis.exists(*(part.case_key(c) for c in cases if stream.part(c) is part)) == \
            sum(1 for c in cases if stream.part(c) is part)
    assert len(seen) == 24 and stream.length() == 24
    assert {service.state(c)["stage"] for c in cases} == {"filed"}
    # a batch of several cases is split per partition; the outcomes come back in order
    at = TEST_NOW
    events = [CaseEvent(uuid.uuid4().hex, c, EventType.DISPATCHED, at, "op", {"department": "sanitation"})
              for c in cases] + [CaseEvent(uuid.uuid4().hex, cases[0], EventType.FILED, at, "op", {})]
    outcomes = stream.append_many(events)
    assert all(isinstance(o, str) for o in outcomes[:-1])
    assert outcomes[-1].reason == "stage" and outcomes[-1].case_id == cases[0]


def test_workers_share_the_partitions_and_the_tables_equal_a_rebuild(parted, tmp_path):
    service = CommandService(parted)
    for _ in range(9):
        case_id = service.report(SUP, "E0102", LON, LAT, "垃圾桶满溢", "phone", "normal").case_id
        service.file(SUP, case_id)
    first, second = parted.worker(consumer="first"), parted.worker(consumer="second")
    assert isinstance(first, PartitionedWorker)
    first.ensure_group()
    first.rebalance()
    assert first.held == {0, 1, 2}                  # alone: all three
    second.rebalance()
    assert second.held == set()                     # nothing free yet
    first.rebalance()
    assert len(first.held) == 2                     # gives back what is beyond its share …
    second.rebalance()
    assert len(second.held) == 1 and first.held.isdisjoint(second.held)   # … which the other takes
    holders = first.holders()
    assert sorted(holders.values()) == ["first", "first", "second"]
    while first.step() + second.step():
        pass
    assert first.lag() == 0 and Health(parted).report()["worker"]["lag"] == 0
    # the second dies: after its lease, the first takes its partition over and reads on
    service.report(SUP, "E0102", LON, LAT, "又满了", "phone", "normal")
    expire(parted.redis, second)
    first.rebalance()
    assert first.held == {0, 1, 2}
    first.step()
    assert first.lag() == 0
    report = Health(parted).report()
    assert report["redis"]["stream_length"] == 19 and report["worker"]["heartbeat"]["consumer"] == "first"
    target = make_engine(f"sqlite:///{tmp_path / 'rebuilt.db'}")
    figures = rebuild(parted, target)
    assert figures["applied"] == 19
    assert differences(snapshot(parted.engine), snapshot(target)) == []


def test_a_resent_report_without_case_id_is_filed_once(parted):
    body = {"category": "E0102", "lon": LON, "lat": LAT, "description": "12345 转来", "source": "hotline12345",
            "urgency": "normal"}
    fields = {"event_id": uuid.uuid4().hex, "case_id": "", "type": "reported", "at": TEST_NOW.isoformat(),
              "actor": "hotline-12345", "body": json.dumps(body, ensure_ascii=False)}
    gateway = Gateway(parted, consumer="g")
    gateway.ensure_group()
    inbox = parted.settings.stream + ":inbox"
    parted.redis.xadd(inbox, fields)
    assert gateway.drain().accepted == 1
    parted.redis.xadd(inbox, fields)            # the producer sends it again
    stats = gateway.drain()
    assert (stats.accepted, stats.duplicates) == (1, 1)
    assert parted.stream.length() == 1


@pytest.fixture
def parted_sqlite(tmp_path, stream_key, redis_server_url, clock):
    """Three partitions on real Redis and one SQLite file shared by worker processes."""
    settings = Settings(data_dir=tmp_path, redis_url=redis_server_url, stream=stream_key, stream_partitions=4,
                        database_url=f"sqlite:///{tmp_path / 'citygrid.db'}", components_autoload=False)
    system = System(settings, clock=clock).start()
    yield system
    system.close()


def test_worker_processes_share_the_partitions_and_one_takes_over_when_the_other_is_killed(parted_sqlite, tmp_path):
    """Two `citygrid worker` processes: two partitions each; SIGKILL one, and after its leases
    expire the other reads all four, claiming what the dead one left pending."""
    import os
    import signal
    import subprocess
    import sys
    from tests.helpers import wait_until
    system = parted_sqlite
    service = CommandService(system)
    for _ in range(8):
        service.file(SUP, service.report(SUP, "E0102", LON, LAT, "垃圾桶满溢", "phone", "normal").case_id)
    env = dict(os.environ, PYTHONPATH=os.getcwd(), CITYGRID_DATA_DIR=str(tmp_path),
               CITYGRID_REDIS_URL=system.settings.redis_url, CITYGRID_STREAM=system.settings.stream,
               CITYGRID_STREAM_PARTITIONS="4", CITYGRID_DATABASE_URL=system.settings.database_url,
               CITYGRID_COMPONENTS_AUTOLOAD="false")
    workers = {name: subprocess.Popen([sys.executable, "-m", "dashboard.cli.commands", "worker", "--consumer", name],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for name in ("alpha", "beta")}
    probe = system.worker(consumer="probe")
    try:
        wait_until(lambda: sorted(v or "-" for v in probe.holders().values()) == ["alpha", "alpha", "beta", "beta"]
                   and probe.lag() == 0, timeout=60, message="two partitions each, and everything read")
        os.kill(workers["alpha"].pid, signal.SIGKILL)
        workers["alpha"].wait(timeout=10)
        for _ in range(4):
            service.report(SUP, "E0102", LON, LAT, "又满了", "phone", "normal")
        wait_until(lambda: sorted(v or "-" for v in probe.holders().values()) == ["beta"] * 4 and probe.lag() == 0,
                   timeout=60, message="beta to take alpha's partitions over and read them")
    finally:
        for process in workers.values():
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
    assert sum(int(system.redis.xpending(p.key, system.settings.group)["pending"])
               for p in system.stream.partitions()) == 0
    target = make_engine(f"sqlite:///{tmp_path / 'rebuilt.db'}")
    assert rebuild(system, target)["applied"] == 20
    assert differences(snapshot(system.engine), snapshot(target)) == []
