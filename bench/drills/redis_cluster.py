"""Drill: kill a Redis Cluster primary while history is written and projected (issue 15 item 2).

A 6-node cluster (3 primaries, 3 replicas, ``scripts/redis_cluster.py``); the product on it
with a stream of 3 partitions and two workers sharing them; a producer appends simulated
history (the backfill's generator) through the checked path at ~1,000 events/s.  A third
of the way in, the primary serving partition 0 is killed (SIGKILL).  Checked: the health
report (the wall's banner) says stale while the slot has no primary; the replica takes over;
the producer and the workers resume by themselves; a command succeeds afterwards; every
generated event is in the reporting tables exactly once, every stream entry is acknowledged,
and the tables equal a clean rebuild of the partitions.
"""
from __future__ import annotations

import importlib.util
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TITLE = "kill a Redis Cluster primary under load: the replica takes over, nothing lost or applied twice"
NEEDS = ("redis-server", "redis-cli")
PARTITIONS = 3
RATE = 1000            # events per second the producer aims at
CHUNK = 200            # events per append call
POINT = (116.4035, 39.9135)   # lon, lat inside the bundled scenario's grids


def load_cluster_script():
    """``scripts/redis_cluster.py`` as a module (``scripts`` is no package)."""
    name = "citygrid_redis_cluster"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "redis_cluster.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def wait_for(condition, timeout: float, what: str, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Producer(threading.Thread):
    """Appends prepared events in order, CHUNK per call, at about RATE per second; a call that
    fails (the slot's primary is gone) is sent again until it goes through.  Events the
    first, lost reply had already appended are refused on the second try: counted, not lost."""

    def __init__(self, stream, batches: list[tuple[list, list]]):
        super().__init__(daemon=True)
        self.stream, self.batches = stream, batches
        self.sent = self.retries = self.resent_refused = 0
        self.failed: list = []
        self.error: BaseException | None = None

    def run(self) -> None:
        from datasource.follower.partitioned import OUTAGE
        started = time.monotonic()
        try:
            for cases, args in self.batches:
                tries = 0
                while True:
                    try:
                        outcomes = self.stream.append_args(cases, args)
                        break
                    except OUTAGE:
                        tries += 1
                        self.retries += 1
                        time.sleep(0.2)
                refused = [o for o in outcomes if not isinstance(o, str)]
                if tries:
                    self.resent_refused += len(refused)
                else:
                    self.failed += refused
                self.sent += len(cases)
                ahead = self.sent / RATE - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
        except BaseException as exc:  # noqa: BLE001 - reported by the drill
            self.error = exc


def _prepare(system, scale: float) -> tuple[list, set[str], dict]:
    """Simulated history (the backfill's generator) as append batches, its event ids, its serials."""
    import orjson
    from datasource.simulation.backfill import ORDER, generate_history
    from datasource.simulation.story import uuid4_hex
    import random
    days = max(0.3, 6 * scale)
    history = generate_history(system.scenario, system.locator, days, seed=15, now=datetime.now(timezone.utc))
    ids, iso = random.Random("drill-ids"), history.model.iso
    batches, event_ids = [], set()
    for start in range(0, len(history.events), CHUNK):
        cases, args = [], []
        for key, case, kind, actor, body in history.events[start:start + CHUNK]:
            at = key // ORDER
            event_id = uuid4_hex(ids)
            event_ids.add(event_id)
            cases.append(case)
            args += (event_id, case, kind, iso(at), actor, orjson.dumps(body), at * 1_000_000, b"", b"0")
        batches.append((cases, args))
    return batches, event_ids, history.serials


def _tables(engine) -> dict[str, list]:
    """The projected tables, row for row (surrogate ids left out), for comparing two databases."""
    from sqlalchemy import select
    from datasource.store import schema
    out = {}
    with engine.connect() as c:
        for table in (schema.cases, schema.case_events, schema.dead_letters, schema.live_counts,
                      schema.daily_flow, schema.projection_state):
            columns = [col for col in table.columns if col.name != "id"]
            out[table.name] = [tuple(map(str, row)) for row in
                               c.execute(select(*columns).order_by(*columns)).all()]
    return out


def run(say, scale: float = 1.0) -> None:
    from sqlalchemy import func, select
    from dashboard.settings import Settings
    from datasource.follower.rebuild import rebuild
    from datasource.services.command_types import Actor
    from datasource.services.commands import CommandService
    from datasource.services.health import Health
    from datasource.store import schema
    from datasource.store.database import make_engine
    from datasource.system import System

    cluster_script = load_cluster_script()
    folder = Path(tempfile.mkdtemp(prefix="citygrid-drill-cluster-"))
    started = time.monotonic()
    with cluster_script.LocalCluster() as cluster:
        say(f"started a Redis Cluster of {len(cluster.nodes)} nodes (3 primaries, 3 replicas) in "
            f"{time.monotonic() - started:.1f} s: {cluster.url}")
        settings = Settings(data_dir=folder, redis_url=cluster.url, stream="drill:events",
                            stream_partitions=PARTITIONS, components_autoload=False,
                            database_url=f"sqlite:///{folder / 'citygrid.db'}")
        system = System(settings).start()
        workers, threads = [], []
        try:
            batches, event_ids, serials = _prepare(system, scale)
            total = sum(len(cases) for cases, _ in batches)
            say(f"generated {total:,} events of simulated history in {len(batches)} batches "
                f"(stream of {PARTITIONS} partitions)")
            for day, serial in serials.items():
                system.redis.set(f"{system.stream.prefix}seq:{day:%Y%m%d}", serial)
            for name in ("drill-worker-1", "drill-worker-2"):
                worker = system.worker(consumer=name, batch_size=500)
                workers.append(worker)
                threads.append(threading.Thread(target=worker.run, kwargs={"block_ms": 200}, daemon=True))
            for thread in threads:
                thread.start()
            producer = Producer(system.stream, batches)
            producer.start()
            health = Health(system)
            wait_for(lambda: producer.sent >= total // 3 or not producer.is_alive(), 300, "a third of the load")
            victim = cluster.primary_of(system.stream.partitions()[0].key)
            killed_at = time.monotonic()
            cluster.kill(victim)
            say(f"killed primary {victim.address} (serving partition 0) with SIGKILL at entry "
                f"{producer.sent:,} of {total:,}")
            stale = wait_for(lambda: health.report()["stale"], 30, "the health report to say stale")
            say(f"check: health says stale while the slot has no primary — OK ({stale})")
            cluster.wait_ok(60)
            new = cluster.primary_of(system.stream.partitions()[0].key)
            say(f"replica {new.address} took over partition 0 after {time.monotonic() - killed_at:.1f} s")
            if new is victim:
                raise AssertionError("the killed node still serves the slot")
            producer.join(timeout=600)
            if producer.error is not None:
                raise AssertionError(f"the producer failed: {producer.error!r}")
            if producer.failed:
                raise AssertionError(f"the check refused {len(producer.failed)} first-time appends, "
                                     f"first: {producer.failed[0]}")
            say(f"producer done: {producer.sent:,} events, {producer.retries} calls resent during the "
                f"fail-over ({producer.resent_refused} events of them had gone through before)")
            service = CommandService(system)
            actor = Actor("drill", "supervision")
            case_id = wait_for(lambda: _report(service, actor), 30, "a command to succeed")
            service.file(actor, case_id)
            event_ids |= {f[b"event_id"].decode() for p in system.stream.partitions()
                          for _, f in p.client.xrange(p.key) if f[b"case_id"].decode() == case_id}
            say(f"check: commands succeed again (reported and filed {case_id}) — OK")
            wait_for(lambda: workers[0].lag() == 0 and not health.report()["stale"], 300,
                     "the workers to catch up")
            say(f"check: the workers resumed and caught up (lag 0, health fresh) "
                f"{time.monotonic() - killed_at:.1f} s after the kill — OK")
        finally:
            for worker in workers:
                worker.stop()
            for thread in threads:
                thread.join(timeout=30)
        applied = sum(w.stats.applied for w in workers)
        with system.engine.connect() as c:
            stored = set(c.execute(select(schema.case_events.c.event_id)).scalars())
            rows = c.execute(select(func.count()).select_from(schema.case_events)).scalar()
            dead = c.execute(select(func.count()).select_from(schema.dead_letters)).scalar()
        missing = event_ids - stored
        if missing or rows != len(event_ids):
            raise AssertionError(f"{len(missing)} events missing from the tables, {rows - len(stored)} twice "
                                 f"({rows} rows for {len(event_ids)} events)")
        say(f"check: all {len(event_ids):,} events in the tables exactly once ({applied:,} applied by the "
            f"workers, {dead} dead letters) — OK")
        pending = sum(int(p.client.xpending(p.key, settings.group)["pending"]) for p in system.stream.partitions())
        if pending:
            raise AssertionError(f"{pending} stream entries were never acknowledged")
        say("check: every stream entry acknowledged (nothing pending in any partition's group) — OK")
        target = make_engine(f"sqlite:///{folder / 'rebuilt.db'}")
        figures = rebuild(system, target)
        live, rebuilt = _tables(system.engine), _tables(target)
        differ = [name for name in live if live[name] != rebuilt[name]]
        if differ:
            raise AssertionError(f"the tables differ from a clean rebuild of the streams: {', '.join(differ)}")
        say(f"check: the tables equal a clean rebuild of the {PARTITIONS} partitions "
            f"({figures['entries']:,} entries) — OK")
        cluster.restart(victim)
        cluster.wait_ok(60)
        say(f"restarted {victim.address}: it rejoined as a replica")
        system.close()
        target.dispose()


def _report(service, actor) -> str | None:
    """Report a case (a point in the scenario's first street); None while Redis refuses."""
    from datasource.redis.server import DOWN
    try:
        return service.report(actor, "E0102", *POINT, "drill: after the fail-over", "phone", "normal").case_id
    except DOWN:
        return None
