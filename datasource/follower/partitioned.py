"""Several worker processes sharing the partitions of a partitioned stream (issue 15).

**The rule: a partition is read by one consumer at a time.**  Each partition has a lease in
Redis, ``S:{p07}:lease`` (redis-py's :class:`redis.lock.Lock`: the value is the holder's
consumer name, with an expiry of :data:`LEASE_S` seconds).  A worker reads and projects a
partition only while it holds the lease, renewing it before its batches; it takes free
leases up to its fair share (partitions ÷ live workers, from the heartbeats) and gives back
the ones beyond it, so workers started later get their share.  A worker that dies stops
renewing: its leases expire, another worker takes them and claims the entries the dead
one left pending with XAUTOCLAIM (no idle wait: the expired lease already says the holder
is gone), then reads on, in stream order.

Why nothing is applied twice or out of order even if a lease holder is only *slow* (its
lease expired while it was still writing): each partition keeps its own position in the
reporting database (``projection_state`` row ``stream:p07``), read under lock in the same
transaction as the batch; entries at or before it are skipped and a batch after a gap is
refused (:mod:`datasource.follower.projector`).  The lease is what keeps the workers from
doing the same work; the position is what keeps the tables exact.  A case lives in one
partition, so the order of events across partitions does not matter to any row.
"""
from __future__ import annotations

import logging
import math
import time
import zlib

import redis
from redis.exceptions import LockError, RedisClusterException

from datasource.follower.worker import Worker, WorkerBlocked, WorkerStats, default_consumer
from datasource.redis import backlog

log = logging.getLogger("citygrid.worker")

#: Seconds a lease lives without renewal: how long a dead worker's partitions wait.
LEASE_S = 10.0
#: A held lease is extended before a batch when it was last extended this long ago.
RENEW_S = 1.0
#: Errors a Redis (Cluster) outage or fail-over raises; the worker waits and goes on.
OUTAGE = (redis.ConnectionError, redis.TimeoutError, redis.exceptions.ClusterDownError,
          redis.exceptions.TryAgainError, redis.exceptions.MasterDownError, redis.exceptions.ReadOnlyError,
          RedisClusterException)


class PartitionedWorker:
    """One consumer of a partitioned stream: a :class:`Worker` per partition it holds."""

    def __init__(self, stream, group: str, make_projector, consumer: str | None = None,
                 batch_size: int = 2000, claim_idle_ms: int = 0, lease_s: float = LEASE_S):
        self.stream, self.group, self.client = stream, group, stream.client
        self.consumer = consumer or default_consumer()
        self.lease_s = lease_s
        self.stats = WorkerStats()
        self.workers = [Worker(part, group, make_projector(part), self.consumer, batch_size, claim_idle_ms,
                               beat_key=stream.key, stats=self.stats) for part in stream.partitions()]
        self.leases = [self.client.lock(part.slot_key("lease"), timeout=lease_s, blocking=False,
                                        thread_local=False) for part in stream.partitions()]
        self.held: set[int] = set()
        self._renewed: dict[int, float] = {}     # partition → when its lease was last extended
        self.blocked: str | None = None
        self._stop = False
        self._balanced = float("-inf")
        # Where this consumer starts looking for free partitions: spread over the consumers.
        self._start = zlib.crc32(self.consumer.encode()) % len(self.workers)

    # ------------------------------------------------------------------ leases
    def holders(self) -> dict[int, str | None]:
        """Partition → the consumer holding its lease (None: free)."""
        names = [lease.name for lease in self.leases]
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            pipe.get(name)
        return {i: (v.decode() if isinstance(v, bytes) else v) for i, v in enumerate(pipe.execute())}

    def take(self, index: int) -> bool:
        """Take partition ``index``'s lease (or renew it if this consumer holds it already)."""
        lease = self.leases[index]
        lease.local.token = self.consumer.encode()
        try:
            lease.reacquire()          # ours already (e.g. this consumer restarted): keep it
            got = True
        except LockError:
            got = lease.acquire(token=self.consumer)
        if got:
            self.held.add(index)
            self._renewed[index] = time.monotonic()
        return got

    def renew(self, index: int) -> bool:
        """Extend the lease before a batch (at most every :data:`RENEW_S`); False (and the
        partition dropped) if it was lost."""
        now = time.monotonic()
        if now - self._renewed.get(index, float("-inf")) < RENEW_S:
            return True
        try:
            self.leases[index].reacquire()
            self._renewed[index] = now
            return True
        except LockError:
            self._renewed.pop(index, None)
            log.warning("lease of partition %d lost; another worker reads it now", index)
            self.held.discard(index)
            return False

    def give_back(self, index: int) -> None:
        self.held.discard(index)
        self._renewed.pop(index, None)
        try:
            self.leases[index].release()
        except LockError:
            pass

    def live_consumers(self, now_ms: int | None = None) -> int:
        """Workers whose heartbeat is younger than a lease (this one included)."""
        now_ms = now_ms or int(time.time() * 1000)
        beats = self.client.hgetall(f"{self.stream.key}:{backlog.HEARTBEAT}")
        alive = {c.decode() if isinstance(c, bytes) else c for c, ms in beats.items()
                 if now_ms - int(ms) < self.lease_s * 1000}
        return len(alive | {self.consumer})

    def rebalance(self) -> None:
        """Heartbeat; give back partitions beyond the fair share, take free ones up to it."""
        backlog.beat(self.client, self.stream.key, self.consumer)
        parts = len(self.workers)
        share = math.ceil(parts / self.live_consumers())
        for index in sorted(self.held, reverse=True)[:max(0, len(self.held) - share)]:
            self.give_back(index)
        if len(self.held) >= share:
            return
        holders = self.holders()
        for offset in range(parts):
            index = (self._start + offset) % parts
            if index in self.held:
                continue
            if holders[index] in (None, self.consumer) and self.take(index):
                log.info("%s reads partition %d", self.consumer, index)
                if len(self.held) >= share:
                    return

    # ------------------------------------------------------------------ work
    def ensure_group(self) -> None:
        for worker in self.workers:
            worker.ensure_group()

    def stop(self) -> None:
        self._stop = True
        for worker in self.workers:
            worker.stop()

    def lag(self) -> int | None:
        """Entries of all partitions not yet processed by the group."""
        return sum(worker.lag() or 0 for worker in self.workers)

    def step(self, block_ms: int | None = None) -> int:
        """Rebalance (at most once a second), then one batch of each partition held."""
        if time.monotonic() - self._balanced >= 1.0:
            self.rebalance()
            self._balanced = time.monotonic()
        done, blocked = 0, []
        held = sorted(self.held)
        for index in held:
            if self._stop or not self.renew(index):
                continue
            worker = self.workers[index]
            done += worker.step(block_ms=block_ms if len(held) == 1 else None)
            if worker.blocked:
                blocked.append(f"partition {index}: {worker.blocked}")
        self.blocked = "; ".join(blocked) or None
        return done

    def run(self, block_ms: int = 1000, on_batch=None) -> None:
        """Process forever (until :meth:`stop`), surviving Redis restarts and cluster fail-overs;
        give the leases back on the way out."""
        self.ensure_group()
        try:
            while not self._stop:
                try:
                    n = self.step(block_ms=min(block_ms, 200))
                except OUTAGE as exc:
                    log.error("Redis unreachable, retrying in 1 s: %s", str(exc).splitlines()[0][:200])
                    self._balanced = float("-inf")
                    time.sleep(1)
                    continue
                except redis.ResponseError as exc:
                    if "NOGROUP" not in str(exc):
                        raise
                    self.ensure_group()
                    continue
                if n and on_batch:
                    on_batch(n)
                # One partition waits inside XREADGROUP; several are polled, so rest when idle.
                if not n and (self.blocked or len(self.held) != 1):
                    time.sleep(0.2 if self.blocked else 0.05)
        finally:
            self.release()

    def release(self) -> None:
        """Give every lease back (a clean stop: the others need not wait for the expiry)."""
        for index in list(self.held):
            try:
                self.give_back(index)
            except OUTAGE:
                self.held.discard(index)

    def drain(self, progress=None, patience_s: float | None = None) -> WorkerStats:
        """Process everything available now in every partition, then return (a partition
        another worker holds is waited for, at most ``patience_s``, default a lease + 10 s)."""
        self.ensure_group()
        patience = self.lease_s + 10 if patience_s is None else patience_s
        for index, worker in enumerate(self.workers):
            deadline = time.monotonic() + patience
            while not self.take(index):
                if self._stop:
                    return self.stats
                if time.monotonic() > deadline:
                    raise WorkerBlocked(f"partition {index} is held by {self.holders()[index]}")
                time.sleep(0.1)
            try:
                self._drain_one(index, progress)
            finally:
                self.give_back(index)
        return self.stats

    def _drain_one(self, index: int, progress) -> None:
        """Step partition ``index`` (renewing its lease) until nothing is left.  Holding the
        lease, the worker claims every pending entry at once, so being blocked twice in a row
        means a gap nobody will fill (:class:`WorkerBlocked`)."""
        worker, blocked = self.workers[index], 0
        while not self._stop:
            if not self.renew(index):
                raise WorkerBlocked(f"the lease of partition {index} was taken by {self.holders()[index]}")
            n = worker.step(block_ms=None)
            if progress and n:
                progress(n)
            if n:
                blocked = 0
            elif worker.blocked is None:
                return
            else:
                blocked += 1
                if blocked > 1:
                    raise WorkerBlocked(f"partition {index}: {worker.blocked}")
                time.sleep(0.05)
