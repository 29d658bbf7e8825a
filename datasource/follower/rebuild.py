"""``citygrid rebuild``: replay the whole stream into an empty database.

The replay folds the same entries through the same :class:`Projector` as the worker —
with the same isolation of a poisonous entry (it becomes a dead letter, the replay goes
on) — so the rebuilt tables equal the incrementally maintained ones, whatever batches
the worker happened to use.  Only a database error stops the replay, with a one-line
:class:`RebuildError`.
"""
from __future__ import annotations

import time

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from datasource.redis.partitions import is_partitioned
from datasource.store import schema
from datasource.store.database import prepare


class RebuildError(Exception):
    """The target database is not empty, or the stream cannot be read."""


def rebuild(system, target_engine, progress=None, batch: int = 5000) -> dict:
    """Replay ``system``'s stream into ``target_engine``, which must be empty."""
    prepare(target_engine, system.scenario)
    parts = system.stream.partitions()
    projectors = ([system.projector(target_engine, stream=part) for part in parts] if is_partitioned(system.stream)
                  else [system.projector(target_engine)])
    with target_engine.connect() as connection:
        existing = connection.execute(select(func.count()).select_from(schema.case_events)).scalar()
    if existing or any(p.position() is not None for p in projectors):
        raise RebuildError(f"the target database already holds {existing} events; rebuild needs an empty one")
    figures = {"entries": 0, "applied": 0, "duplicates": 0, "dead": 0}
    started = time.perf_counter()
    try:
        # Partition after partition: a case lives in one, so no row depends on their interleaving.
        for part, projector in zip(parts, projectors):
            for entries in part.read_all(batch):
                result = projector.apply_isolating(entries)
                figures["entries"] += len(entries)
                figures["applied"] += result.applied
                figures["duplicates"] += result.duplicates
                figures["dead"] += len(result.dead)
                if progress:
                    progress(len(entries))
    except SQLAlchemyError as exc:
        raise RebuildError(f"the target database failed after {figures['entries']} entries "
                           f"(run rebuild again to resume): {str(exc).splitlines()[0]}") from None
    figures["seconds"] = round(time.perf_counter() - started, 2)
    return figures
