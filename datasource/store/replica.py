"""Reads routed to a streaming replica (issue 15; ``CITYGRID_READ_DATABASE_URL``).

:class:`ReadRouter` is what the read-only reports and the briefing connect through
(``system.read_engine``): a connection to the replica when one is configured and reachable,
else to the primary.  Writes never come here — the worker, the commands, the audit, the
sessions and the acts' refresh use ``system.engine``, the primary.

When the replica cannot be reached, the connection is made to the primary instead and one
warning is logged; the replica is tried again after :data:`RETRY_SECONDS` (one attempt per
period, so a dead replica costs a page no more than one failed connection attempt per
period), and its return is logged too.  A replica whose replay has fallen more than
:data:`MAX_LAG_SECONDS` behind is treated as down (checked at most every
:data:`RETRY_SECONDS`): a report is then at most that much older than the primary's.

The replica's lag (:func:`lag`): bytes of WAL the primary has written that the replica has
not replayed, and the seconds of the primary's ``pg_stat_replication.replay_lag`` (0 when
the replica has replayed everything).
"""
from __future__ import annotations

import logging
import threading
import time

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0
MAX_LAG_SECONDS = 30.0
CONNECT_TIMEOUT_S = 2


def replica_options(url: str) -> dict:
    """Engine options for a replica: stale pooled connections are found before use, and an
    unreachable server fails in seconds, not minutes."""
    options: dict = {"pool_pre_ping": True}
    if url.startswith(("postgresql", "postgres")):
        options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
    return options


class ReadRouter:
    """Connects to the replica when it answers and keeps up, else to the primary."""

    def __init__(self, primary: Engine, replica: Engine | None = None, clock=time.monotonic):
        self.primary = primary
        self.replica = replica
        self.clock = clock
        self._down_since: float | None = None
        self._checked = -RETRY_SECONDS
        self._lock = threading.Lock()

    @property
    def dialect(self):
        return self.primary.dialect

    @property
    def using(self) -> str:
        """``replica`` or ``primary``: where the next read goes (as far as is known now)."""
        return "replica" if self.replica is not None and self._down_since is None else "primary"

    def connect(self):
        """A connection for reading (use it as a context manager, as ``Engine.connect``)."""
        if self.replica is None:
            return self.primary.connect()
        now = self.clock()
        if self._down_since is not None and now - self._checked < RETRY_SECONDS:
            return self.primary.connect()
        try:
            connection = self.replica.connect()
        except DBAPIError as exc:
            self._mark_down(now, f"unreachable ({_first_line(exc)})")
            return self.primary.connect()
        if now - self._checked >= RETRY_SECONDS:
            self._checked = now
            behind = self._replay_delay(connection)
            if behind is not None and behind > MAX_LAG_SECONDS:
                connection.close()
                self._mark_down(now, f"{behind:.0f} s behind the primary")
                return self.primary.connect()
        if self._down_since is not None:
            with self._lock:
                if self._down_since is not None:
                    log.warning("read replica %s is back: reports read from it again after %.0f s on the primary",
                                _where(self.replica), now - self._down_since)
                    self._down_since = None
        return connection

    def _mark_down(self, now: float, why: str) -> None:
        with self._lock:
            self._checked = now
            if self._down_since is None:
                self._down_since = now
                log.warning("read replica %s %s: reports read from the primary", _where(self.replica), why)

    @staticmethod
    def _replay_delay(connection) -> float | None:
        """Seconds the replica's replay is behind, when it is replaying (None otherwise)."""
        if connection.dialect.name != "postgresql":
            return None
        try:
            with connection.begin():
                return connection.exec_driver_sql(
                    "SELECT CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() "
                    "THEN 0 ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END").scalar()
        except DBAPIError:
            return None

    def dispose(self) -> None:
        if self.replica is not None:
            self.replica.dispose()


def lag(primary: Engine, replica: Engine) -> dict:
    """How far the replica is behind: ``bytes`` of WAL not yet replayed and ``seconds`` of
    replay lag (both 0 when it has replayed all the primary wrote)."""
    with replica.connect() as c:
        replayed = c.exec_driver_sql("SELECT pg_last_wal_replay_lsn()::text").scalar()
    with primary.connect() as c:
        row = c.exec_driver_sql(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %(r)s::pg_lsn), "
            "(SELECT extract(epoch FROM max(replay_lag)) FROM pg_stat_replication)", {"r": replayed}).one()
    return {"bytes": max(int(row[0]), 0), "seconds": float(row[1] or 0.0)}


def _where(engine: Engine) -> str:
    url = engine.url
    return f"{url.host}:{url.port}" if url.host else str(url.database)


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
