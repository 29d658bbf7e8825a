"""``citygrid rebuild``: replay the whole stream into an empty database.

The replay folds the same events through the same :class:`Projector` as the worker,
so the rebuilt ``cases`` table equals the incrementally maintained one.
"""
from __future__ import annotations

import time

from sqlalchemy import func, select

from datasource.store import schema
from datasource.store.database import prepare


class RebuildError(Exception):
    """The target database is not empty, or the stream cannot be read."""


def rebuild(system, target_engine, progress=None, batch: int = 5000) -> dict:
    """Replay ``system``'s stream into ``target_engine`` (which must hold no cases)."""
    prepare(target_engine, system.scenario)
    with target_engine.connect() as connection:
        existing = connection.execute(select(func.count()).select_from(schema.case_events)).scalar()
    if existing:
        raise RebuildError(f"the target database already holds {existing} events; rebuild needs an empty one")
    projector = system.projector(target_engine)
    figures = {"entries": 0, "applied": 0, "duplicates": 0, "dead": 0}
    started = time.perf_counter()
    for entries in system.stream.read_all(batch):
        result = projector.apply(entries)
        figures["entries"] += len(entries)
        figures["applied"] += result.applied
        figures["duplicates"] += result.duplicates
        figures["dead"] += len(result.dead)
        if progress:
            progress(len(entries))
    figures["seconds"] = round(time.perf_counter() - started, 2)
    return figures
