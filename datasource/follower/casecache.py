"""Hot ``cases`` rows kept in memory between the worker's batches.

On a backfilled or live stream nearly every event touches a case that an earlier batch
touched (a case lives for hours and its events are spread over many batches), so reading
each touched row back from the database was a large part of a batch.  The cache keeps
the rows of open cases as they were last written.

Exactness (the projection must not depend on it): the cache is only trusted while the
database's stream position — read under lock at the start of every batch — is the
position this projector committed last.  Any other writer (a second worker, a rebuild
into the same database, a restart) moves the position, and the cache is emptied.  Rows
enter the cache only after their transaction committed, so a rolled-back batch leaves
nothing behind.
"""
from __future__ import annotations

from dashboard.domain.lifecycle import Stage

CLOSED = frozenset({Stage.CLOSED.value, Stage.REJECTED.value})


class CaseCache:
    """Rows of open cases by case id, valid for one stream position; bounded."""

    def __init__(self, capacity: int = 50_000):
        self.capacity = capacity
        self.rows: dict[str, dict] = {}
        self.position: str | None = None
        self.hits = self.misses = 0

    def check(self, position: str | None) -> None:
        """Start of a batch: forget everything unless the database is where we left it."""
        if position is None or position != self.position:
            self.rows.clear()
            self.position = None

    def take(self, case_ids) -> tuple[dict[str, dict], list[str]]:
        """(cached rows, ids to read from the database)."""
        found, missing, rows = {}, [], self.rows
        for case_id in case_ids:
            row = rows.get(case_id)
            if row is None:
                missing.append(case_id)
            else:
                found[case_id] = row
        self.hits += len(found)
        self.misses += len(missing)
        return found, missing

    def committed(self, rows: list[dict], position: str) -> None:
        """After the commit: keep the written rows of open cases, drop closed ones."""
        cache = self.rows
        for row in rows:
            case_id = row["case_id"]
            cache.pop(case_id, None)        # re-inserted at the end: the newest stay longest
            if row["stage"] not in CLOSED:
                cache[case_id] = row
        if len(cache) > self.capacity:
            for case_id in list(cache)[:len(cache) - self.capacity]:
                del cache[case_id]
        self.position = position
