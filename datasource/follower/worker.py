"""The stream worker: Redis stream → reporting database, through a consumer group.

Loop: re-read entries this consumer left pending (a crash), claim entries left pending by
a dead consumer (XAUTOCLAIM), and only then read new ones (XREADGROUP); apply them in one
transaction (:class:`Projector`) and acknowledge only after the commit.

Stream order is what makes the projection exact, so a consumer never overtakes entries
another consumer holds: while the group has pending entries of others, it claims them
once they are idle or waits.  A crash between commit and acknowledgement re-delivers
entries the database has already processed: the projector skips them (its stream
position), so nothing is applied twice, nothing is re-judged and nothing is lost.
"""
from __future__ import annotations

import logging
import socket
import time
from dataclasses import dataclass

import redis
from sqlalchemy.exc import SQLAlchemyError

from datasource.follower.projector import BatchResult, OutOfOrder, Projector
from datasource.redis import backlog
from datasource.redis.backlog import group_lag
from datasource.redis.stream import EventStream
from datasource.store.stream_loss import LossWatch, watched

log = logging.getLogger("citygrid.worker")


@dataclass
class WorkerStats:
    applied: int = 0
    duplicates: int = 0
    replayed: int = 0
    dead: int = 0
    batches: int = 0

    def add(self, result: BatchResult) -> None:
        self.applied += result.applied
        self.duplicates += result.duplicates
        self.replayed += result.replayed
        self.dead += len(result.dead)
        self.batches += 1


class WorkerBlocked(ValueError):
    """The worker cannot go on without breaking stream order (see :class:`OutOfOrder`).
    A ValueError so that the CLI reports it as a one-line message: the user must act."""


def default_consumer() -> str:
    """The consumer name when neither --consumer nor CITYGRID_CONSUMER (Settings.consumer) gives one."""
    return f"{socket.gethostname()}-worker"


class Worker:
    def __init__(self, stream: EventStream, group: str, projector: Projector, consumer: str | None = None,
                 batch_size: int = 2000, claim_idle_ms: int = 30_000, beat_key: str | None = None,
                 stats: WorkerStats | None = None):
        """``beat_key``: the stream key whose heartbeat hash ``/health`` reads (the base key of a
        partitioned stream; default this stream's); ``stats``: shared by a partition's workers."""
        self.stream, self.group, self.projector = stream, group, projector
        self.consumer = consumer or default_consumer()
        self.batch_size, self.claim_idle_ms = batch_size, claim_idle_ms
        self.beat_key = beat_key or stream.key
        self.stats = stats if stats is not None else WorkerStats()
        self.client = stream.client
        self._stop = False
        self.blocked: str | None = None
        self._blocked_logged = 0.0
        self._beaten = float("-inf")
        # asked before every batch: one applied entry of a new stream would move the position
        # past the loss and hide it
        self._loss = LossWatch(self.client, watched(stream), projector.engine, every=0)

    def ensure_group(self) -> None:
        try:
            self.client.xgroup_create(self.stream.key, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def stop(self) -> None:
        self._stop = True

    def lag(self) -> int | None:
        """Entries not yet processed by the group (see :func:`datasource.redis.backlog.group_lag`)."""
        return group_lag(self.client, self.stream.key, self.group)

    def gap(self, after: str | None, before: str) -> bool:
        """Whether the stream holds entries strictly between two ids (``after`` None: the start)."""
        start = "-" if after is None else "(" + after
        return bool(self.client.xrange(self.stream.key, min=start, max="(" + before, count=1))

    def _process(self, entries: list) -> bool:
        """Apply and acknowledge ``entries``; False if stream order forbids it for now."""
        ids = [entry_id for entry_id, _ in entries]
        for attempt in range(1, 1000):
            try:
                result = self.projector.apply_isolating(entries, check_gap=self.gap)
                break
            except OutOfOrder as exc:
                self.blocked = str(exc)
                return False
            except SQLAlchemyError as exc:
                # The database is down or busy: keep the entries pending and try again.
                log.error("database error, retrying in %ss: %s", min(attempt, 10), str(exc).splitlines()[0])
                time.sleep(min(attempt, 10))
                if self._stop:
                    return False
        else:  # pragma: no cover
            return False
        self.blocked = None
        self._acknowledge(ids)
        self.stats.add(result)
        for stream_id, reason in result.dead:
            log.warning("dead letter %s: %s", stream_id, reason)
        return True

    def _acknowledge(self, ids: list) -> None:
        """XACK after the commit (a crash just before it re-delivers entries already processed)."""
        self.client.xack(self.stream.key, self.group, *ids)

    def _own_pending(self) -> list:
        reply = self.client.xreadgroup(self.group, self.consumer, {self.stream.key: "0"}, count=self.batch_size)
        return reply[0][1] if reply else []

    def _claim(self) -> list:
        try:
            reply = self.client.xautoclaim(self.stream.key, self.group, self.consumer, self.claim_idle_ms,
                                           start_id="0-0", count=self.batch_size)
        except redis.ResponseError:
            return []
        return [e for e in reply[1] if e[1] is not None]

    def _others_pending(self) -> int:
        """Entries of the group pending with other consumers."""
        summary = self.client.xpending(self.stream.key, self.group)
        mine = 0
        for consumer in summary.get("consumers") or ():
            name = consumer["name"]
            if (name.decode() if isinstance(name, bytes) else name) == self.consumer:
                mine = int(consumer["pending"])
        return int(summary.get("pending") or 0) - mine

    def step(self, block_ms: int | None = None) -> int:
        """Process one batch (own pending first, then claimed, then new); entries processed.

        Returns 0 without reading new entries while other consumers hold older ones that
        are not yet idle long enough to be claimed; :attr:`blocked` then says why."""
        self.blocked = self._loss.reason()   # Redis lost the stream: wait, apply nothing (stream_loss)
        self._beat()
        if self.blocked:
            return 0
        entries = self._own_pending()
        if entries and self._handle(entries):
            return len(entries)
        if self._claim():                    # a dead consumer's entries, oldest first
            entries = self._own_pending()    # ours and the claimed ones, in stream order
            return len(entries) if self._handle(entries) else 0
        if entries:                          # ours wait for older entries held by others
            return 0
        others = self._others_pending()
        if others:
            self.blocked = f"{others} older entries are pending with other consumers"
            return 0
        reply = self.client.xreadgroup(self.group, self.consumer, {self.stream.key: ">"},
                                       count=self.batch_size, block=block_ms)
        entries = reply[0][1] if reply else []
        return len(entries) if entries and self._handle(entries) else 0

    def _beat(self) -> None:
        """The heartbeat ``/health`` reads (at most once a second): "alive", not "busy"."""
        now = time.monotonic()
        if now - self._beaten >= 1.0:
            backlog.beat(self.client, self.beat_key, self.consumer)
            self._beaten = now

    def _handle(self, entries: list) -> bool:
        """Acknowledge deleted entries (delivered with no fields), process the others;
        False if stream order forbids processing them now."""
        gone = [entry_id for entry_id, fields in entries if not fields]
        if gone:
            self.client.xack(self.stream.key, self.group, *gone)
        live = [e for e in entries if e[1]]
        return not live or self._process(live)

    def drain(self, progress=None, patience_s: float | None = None) -> WorkerStats:
        """Process everything available now, then return.

        While other consumers hold older entries, wait for them to acknowledge or for the
        entries to become claimable (at most ``patience_s``, default the claim idle time
        plus 10 s).  :class:`WorkerBlocked` if stream order forbids going on: the
        database lacks entries nobody holds any more (it is not the one the group fed)."""
        self.ensure_group()
        patience = self.claim_idle_ms / 1000 + 10 if patience_s is None else patience_s
        waiting_since, alone = None, False
        while not self._stop:
            n = self.step(block_ms=None)
            if progress and n:
                progress(n)
            if n:
                waiting_since, alone = None, False
                continue
            if self.blocked is None:
                break
            waiting_since = waiting_since or time.monotonic()
            # Blocked twice in a row with nobody else holding entries: nobody will fill the gap.
            if alone or time.monotonic() - waiting_since > patience:
                raise WorkerBlocked(self.blocked)
            alone = not self._others_pending()
            time.sleep(0.05)
        return self.stats

    def run(self, block_ms: int = 1000, on_batch=None) -> None:
        """Process forever (until :meth:`stop`), surviving Redis restarts."""
        self.ensure_group()
        while not self._stop:
            try:
                n = self.step(block_ms=block_ms)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                log.error("Redis unreachable, retrying in 2 s: %s", exc)
                time.sleep(2)
                continue
            except redis.ResponseError as exc:
                if "NOGROUP" in str(exc):  # the stream was deleted or the server restarted empty
                    self.ensure_group()
                    continue
                raise
            if n and on_batch:
                on_batch(n)
            if not n and self.blocked:
                if time.monotonic() - self._blocked_logged > 60:
                    log.warning("waiting: %s", self.blocked)
                    self._blocked_logged = time.monotonic()
                time.sleep(0.2)
