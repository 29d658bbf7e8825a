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
from datasource.store.fastwrite import STATE_KEY

REASON = ("Redis has lost the event stream: the reporting database has processed it up to entry {position}, "
          "which Redis no longer holds (restarted without its append-only file?). Restore Redis with its data "
          "(append-only file or replica); until then commands are refused and the worker waits")


def processed_position(engine) -> str | None:
    """The id of the last stream entry the reporting database has processed (None: none yet)."""
    table = schema.projection_state
    with engine.connect() as connection:
        return connection.execute(select(table.c.last_stream_id).where(table.c.name == STATE_KEY)).scalar()


def stream_lost(client, key: str, engine) -> str | None:
    """Why the stream counts as lost (one sentence), or None when it is whole."""
    position = processed_position(engine)
    if not position or client.xrange(key, min="-", max=position, count=1):
        return None
    return REASON.format(position=position)


class LossWatch:
    """:func:`stream_lost`, asked at most once per ``every`` seconds: the health report and the
    wall (several times a second) cache it; commands and the worker ask every time (``every=0``
    — one indexed read and one XRANGE), so none slips through after a restart."""

    def __init__(self, client, key: str, engine, every: float = 2.0):
        self.client, self.key, self.engine, self.every = client, key, engine, every
        self._checked, self._reason = float("-inf"), None
        self._lock = threading.Lock()

    def reason(self) -> str | None:
        """The last answer, asked again when it is older than ``every``.  While the database
        cannot be read the previous answer stands (the database's outage has its own path)."""
        with self._lock:
            if time.monotonic() - self._checked >= self.every:
                try:
                    self._reason = stream_lost(self.client, self.key, self.engine)
                except SQLAlchemyError:
                    return self._reason
                self._checked = time.monotonic()
            return self._reason
