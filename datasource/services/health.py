"""Health of the system, computed once for everyone who asks: the API's ``/api/v1/health``
and the wall's freshness banner read the same facts, so they cannot disagree.

A probe has its own Redis client with short timeouts and no retries: a health check must
answer "down" within a second, not after the client's reconnection back-off.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import func, select, text

from datasource.redis import backlog
from datasource.redis.server import DOWN, cluster_probe
from datasource.store.stream_loss import LossWatch, watched
from datasource.store import schema


class Health:
    """Probes of Redis, the stream's backlog and the reporting database for one system."""

    def __init__(self, system, timeout: float = 1.0):
        self.system, self.timeout = system, timeout
        self._probe: tuple[redis.Redis, redis.Redis] | None = None  # (the system's client, its probe)
        self._loss = None   # LossWatch on the probe, built on first use

    @property
    def client(self) -> redis.Redis:
        """A probe on the same server (or cluster) as the system's client (rebuilt if that
        client changes)."""
        source = self.system.redis
        if self._probe is None or self._probe[0] is not source:
            if not hasattr(source, "connection_pool"):
                self._probe = (source, cluster_probe(source, self.timeout))
            else:
                kwargs = dict(source.connection_pool.connection_kwargs)
                kwargs.update(socket_connect_timeout=self.timeout, socket_timeout=2 * self.timeout,
                              retry=Retry(NoBackoff(), 0), health_check_interval=0)
                pool = redis.ConnectionPool(connection_class=source.connection_pool.connection_class, **kwargs)
                self._probe = (source, redis.Redis(connection_pool=pool))
        return self._probe[1]

    @property
    def key(self) -> str:
        """The stream's key: the heartbeats live beside it (also for a partitioned stream)."""
        return self.system.settings.stream

    @property
    def keys(self) -> list[str]:
        """The keys of the streams the worker reads (the partitions of a partitioned stream)."""
        return [part.key for part in self.system.stream.partitions()]

    @property
    def group(self) -> str:
        return self.system.settings.group

    def redis_ok(self) -> bool:
        try:
            return bool(self.client.ping())
        except DOWN:
            return False

    def oldest_unprocessed_ms(self) -> int | None:
        """Publish time of the oldest entry the worker has not committed (see :mod:`backlog`)."""
        ages = [backlog.oldest_unprocessed_ms(self.client, key, self.group) for key in self.keys]
        return min((ms for ms in ages if ms is not None), default=None)

    def data_age(self, now: float, oldest_ms: int | None) -> float:
        """Seconds the oldest unprocessed entry has waited (0 while the worker keeps up)."""
        return max(0.0, now - oldest_ms / 1000.0) if oldest_ms else 0.0

    def is_stale(self, redis_ok: bool, db_ok: bool, age: float) -> bool:
        """The one rule for "the data shown is not live" (wall banner, API): a service down,
        the oldest unprocessed entry too old, or Redis restarted without the stream."""
        return (not redis_ok) or (not db_ok) or age > self.system.settings.stale_seconds or bool(self.stream_lost())

    def stream_lost(self) -> str | None:
        """Why the stream counts as lost (:mod:`datasource.store.stream_loss`), else None."""
        if self._loss is None:
            self._loss = LossWatch(self.client, watched(self.system.stream), self.system.engine)
        try:
            return self._loss.reason()
        except (redis.RedisError, OSError):
            return None   # Redis down is its own fact

    def report(self) -> dict:
        """Redis, database, worker lag and data age, the worker's last heartbeat, dead letters
        (all, and in the last hour); ``ok`` is False when a service is down or when entries
        wait and the worker has been silent longer than ``worker_silence_seconds``; ``stale``
        as the wall shows it."""
        out: dict = {"ok": True}
        try:
            started = time.perf_counter()
            self.client.ping()
            out["redis"] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 2),
                            "stream_length": sum(int(self.client.xlen(key)) for key in self.keys)}
        except DOWN as exc:
            out["ok"] = False
            out["redis"] = {"ok": False, "error": str(exc).splitlines()[0][:200]}
        engine = self.system.engine
        try:
            started = time.perf_counter()
            with engine.connect() as c:
                c.execute(text("SELECT 1"))
                dead = c.execute(select(func.count()).select_from(schema.dead_letters)).scalar()
                hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)
                recent = c.execute(select(func.count()).select_from(schema.dead_letters)
                                   .where(schema.dead_letters.c.recorded_at >= hour_ago)).scalar()
            out["database"] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 2),
                               "dialect": engine.dialect.name}
            out["dead_letters"] = int(dead)
            out["dead_letters_last_hour"] = int(recent)
        except Exception as exc:  # noqa: BLE001 - any failure of the database is a health fact
            out["ok"] = False
            out["database"] = {"ok": False, "error": str(exc).splitlines()[0][:200]}
            out["dead_letters"] = out["dead_letters_last_hour"] = None
        age = 0.0
        worker = {"group": self.group, "lag": None, "heartbeat": None, "silent": False}
        if out["redis"]["ok"]:
            try:
                now = time.time()
                worker["lag"] = sum(backlog.group_lag(self.client, key, self.group) or 0 for key in self.keys)
                age = self.data_age(now, self.oldest_unprocessed_ms())
                worker.update(self.heartbeat(now, worker["lag"]))
            except DOWN as exc:
                worker["error"] = str(exc)[:200]
        worker["age_s"] = round(age, 1)
        out["worker"] = worker
        if worker["silent"]:
            out["ok"] = False
        out["stale"] = self.is_stale(out["redis"]["ok"], out["database"]["ok"], age)
        lost = self.stream_lost() if out["redis"]["ok"] and out["database"]["ok"] else None
        if lost:
            out["ok"] = False
            out["stream_lost"] = lost
        return out

    def heartbeat(self, now: float, lag: int | None) -> dict:
        """The worker's last heartbeat and whether it is ``silent``: entries wait (``lag`` > 0)
        and no worker has beaten for ``worker_silence_seconds`` (or ever)."""
        last = backlog.last_beat(self.client, self.key)
        beat = None if last is None else {
            "consumer": last[0], "at": datetime.fromtimestamp(last[1] / 1000, timezone.utc).isoformat(),
            "age_s": round(max(0.0, now - last[1] / 1000), 1)}
        quiet = beat is None or beat["age_s"] > self.system.settings.worker_silence_seconds
        return {"heartbeat": beat, "silent": bool(lag) and quiet}

    def close(self) -> None:
        if self._probe is not None:
            self._probe[1].close()
