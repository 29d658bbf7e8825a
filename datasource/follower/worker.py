"""The stream worker: Redis stream → reporting database, through a consumer group.

Loop: reclaim entries left pending by a crashed consumer (XAUTOCLAIM), read new ones
(XREADGROUP), apply them in one transaction (:class:`Projector`), acknowledge only after the
commit.  A crash between commit and acknowledgement re-delivers entries whose event ids are
already recorded: they are skipped, so nothing is applied twice and nothing is lost.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass

import redis
from sqlalchemy.exc import SQLAlchemyError

from datasource.follower.projector import BatchResult, Projector
from datasource.redis.backlog import group_lag
from datasource.redis.stream import EventStream

log = logging.getLogger("citygrid.worker")


@dataclass
class WorkerStats:
    applied: int = 0
    duplicates: int = 0
    dead: int = 0
    batches: int = 0

    def add(self, result: BatchResult) -> None:
        self.applied += result.applied
        self.duplicates += result.duplicates
        self.dead += len(result.dead)
        self.batches += 1


def default_consumer() -> str:
    """The consumer name when neither --consumer nor CITYGRID_CONSUMER (Settings.consumer) gives one."""
    return f"{socket.gethostname()}-worker"


class Worker:
    def __init__(self, stream: EventStream, group: str, projector: Projector, consumer: str | None = None,
                 batch_size: int = 2000, claim_idle_ms: int = 30_000):
        self.stream, self.group, self.projector = stream, group, projector
        self.consumer = consumer or default_consumer()
        self.batch_size, self.claim_idle_ms = batch_size, claim_idle_ms
        self.stats = WorkerStats()
        self.client = stream.client
        self._stop = False

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

    def _apply_isolating(self, entries: list) -> BatchResult:
        """Apply a batch; if it fails for a reason other than the database, apply its
        entries one by one and dead-letter the ones that fail, so one poisonous entry
        cannot stop the stream."""
        try:
            return self.projector.apply(entries)
        except SQLAlchemyError:
            raise
        except Exception:  # noqa: BLE001 - a bug or an entry nobody foresaw
            log.exception("batch failed; applying its %d entries one by one", len(entries))
        total = BatchResult()
        for entry in entries:
            try:
                result = self.projector.apply([entry])
            except SQLAlchemyError:
                raise
            except Exception as exc:  # noqa: BLE001
                result = self.projector.dead_letter(entry, f"internal error: {exc.__class__.__name__}: {exc}")
            total.applied += result.applied
            total.duplicates += result.duplicates
            total.dead.extend(result.dead)
        return total

    def _process(self, entries: list) -> None:
        ids = [entry_id for entry_id, _ in entries]
        for attempt in range(1, 1000):
            try:
                result = self._apply_isolating(entries)
                break
            except SQLAlchemyError as exc:
                # The database is down or busy: keep the entries pending and try again.
                log.error("database error, retrying in %ss: %s", min(attempt, 10), str(exc).splitlines()[0])
                time.sleep(min(attempt, 10))
                if self._stop:
                    return
        else:  # pragma: no cover
            return
        self.client.xack(self.stream.key, self.group, *ids)
        self.stats.add(result)
        for stream_id, reason in result.dead:
            log.warning("dead letter %s: %s", stream_id, reason)

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

    def step(self, block_ms: int | None = None) -> int:
        """Process one batch (own pending first, then claimed, then new); entries processed."""
        entries = self._own_pending() or self._claim()
        if not entries:
            reply = self.client.xreadgroup(self.group, self.consumer, {self.stream.key: ">"},
                                           count=self.batch_size, block=block_ms)
            entries = reply[0][1] if reply else []
        # A deleted entry is delivered with no fields: acknowledge and move on.
        gone = [entry_id for entry_id, fields in entries if not fields]
        if gone:
            self.client.xack(self.stream.key, self.group, *gone)
        entries = [e for e in entries if e[1]]
        if entries:
            self._process(entries)
        return len(entries) + len(gone)

    def drain(self, progress=None) -> WorkerStats:
        """Process everything available now, then return."""
        self.ensure_group()
        while not self._stop:
            n = self.step(block_ms=None)
            if progress:
                progress(n)
            if n == 0:
                break
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
