"""Redis restarted without its data: the one rule that tells, and who asks it.

The reporting database records the id of the last stream entry it has processed
(``projection_state``).  The stream is never trimmed, so that entry — or an older one —
must still be in Redis.  When the database has a position but the stream holds no entry at
or before it, Redis has lost the stream: a restart without persistence (no append-only
file), a failover to an empty server, a ``FLUSHALL``.  The command side's case states and
the day's case-number counters went with it, so carrying on would refuse every command on
an existing case as "unknown" and give new reports the numbers of existing cases (their
events would end as dead letters, the reports lost after a 201).

So while the stream is lost: commands are refused with a 503 and a sentence saying what
happened (:class:`~datasource.services.commands.CommandService`), the worker waits
(:class:`~datasource.follower.worker.Worker`, "blocked" with the same sentence), and the
health report and the wall say the data is stale.  The way out is to bring Redis back
with its data (its append-only file, a replica); see docs/drills.md for what a city must
configure.
"""
from __future__ import annotations

import threading
import time

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from datasource.store import schema
from datasource.store.fastwrite import position_name

REASON = ("Redis has lost the event stream: the reporting database has processed it up to entry {position}, "
          "which Redis no longer holds (restarted without its append-only file?). Restore Redis with its data "
          "(append-only file or replica); until then commands are refused and the worker waits")


def watched(stream) -> list[tuple[str, str]]:
    """(Redis key, ``projection_state`` row) of every stream (partition) of ``stream``."""
    return [(part.key, position_name(part)) for part in stream.partitions()]


def processed_positions(engine, names: list[str]) -> dict[str, str]:
    """Row name → the id of the last stream entry the reporting database has processed there."""
    table = schema.projection_state
    with engine.connect() as connection:
        rows = connection.execute(select(table.c.name, table.c.last_stream_id).where(table.c.name.in_(names)))
        return {name: position for name, position in rows if position}


def stream_lost(client, streams: list[tuple[str, str]], engine) -> str | None:
    """Why the stream (one of its partitions) counts as lost (one sentence), or None when it is whole.
    ``streams``: (Redis key, ``projection_state`` row) pairs, see :func:`watched`."""
    positions = processed_positions(engine, [name for _, name in streams])
    for key, name in streams:
        position = positions.get(name)
        if position and not client.xrange(key, min="-", max=position, count=1):
            return REASON.format(position=position)
    return None


class LossWatch:
    """:func:`stream_lost`, asked at most once per ``every`` seconds: the health report and the
    wall (several times a second) cache it; commands and the worker ask every time (``every=0``
    — one indexed read and one XRANGE), so none slips through after a restart."""

    def __init__(self, client, streams: list[tuple[str, str]], engine, every: float = 2.0):
        self.client, self.streams, self.engine, self.every = client, streams, engine, every
        self._checked, self._reason = float("-inf"), None
        self._lock = threading.Lock()

    def reason(self) -> str | None:
        """The last answer, asked again when it is older than ``every``.  While the database
        cannot be read the previous answer stands (the database's outage has its own path)."""
        with self._lock:
            if time.monotonic() - self._checked >= self.every:
                try:
                    self._reason = stream_lost(self.client, self.streams, self.engine)
                except SQLAlchemyError:
                    return self._reason
                self._checked = time.monotonic()
            return self._reason
