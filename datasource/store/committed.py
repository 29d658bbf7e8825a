"""The newest ``case_events`` id below which no row can still appear — what the roll-ups'
high-water marks may safely move to (issue 15: several workers on one PostgreSQL).

The roll-ups (``report_acts_daily``, :mod:`datasource.services.report_acts`;
``report_departments_daily``, :mod:`datasource.services.department_rollup`) count the events
with ids above their mark, then move the mark to the newest id they saw.  With one writer
that is exact.  With several workers writing to one PostgreSQL, ids come from one sequence
but transactions commit in any order: worker A takes ids 100–199, worker B takes 200–299 and
commits first; a refresh then would see 299 as the newest id, move its mark there, and never
count A's events once A commits.

So every transaction that writes events holds a *shared* advisory lock until it commits
(:func:`writing`, called by the projector first thing), and :func:`committed_top` reads the
newest id under the *exclusive* lock: it gets it only when no writing transaction is open,
so every id up to the one it reads is committed, and every id assigned afterwards is greater.
A writer waits at most for that one short read.  SQLite has one writer at a time: nothing to do.
"""
from __future__ import annotations

from sqlalchemy import func, select

from datasource.store import schema
from datasource.store.locks import xact_lock

#: advisory lock key (datasource.store.locks): shared by event writers, exclusive for reading the committed top
WRITERS_KEY = 910_020


def writing(connection) -> None:
    """Call first in a transaction that writes ``case_events`` (PostgreSQL): held until it ends."""
    xact_lock(connection, WRITERS_KEY, shared=True)


def committed_top(engine) -> int:
    """The newest ``case_events`` id such that every smaller id that will ever exist is
    committed (0 for no events)."""
    with engine.begin() as c:
        xact_lock(c, WRITERS_KEY)
        return int(c.execute(select(func.max(schema.case_events.c.id))).scalar() or 0)
