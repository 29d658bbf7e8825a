"""The acts' verdicts, recorded once: ``report_acts`` holds, for every event that stops a
stage clock (filed, rejected, dispatched, verified, rework, closed), its type, actor, time,
the local day and shift its clock started in, and whether it was on time — judged in SQL by
:func:`datasource.services.report_sql.acts_fill`.

Why record them: judging an act needs its case (category, urgency, when the clock started),
so a month of acts means joining ~80,000 events to the cases table on every page view
(≈1 s on PostgreSQL with six months of history).  An act never changes once it happened —
its clock start precedes it — so its verdict is computed once, and a report aggregates
``report_acts`` through its (type, at) index.

:meth:`ActFacts.refresh` brings the table up to the newest projected event before a report
reads it: only the events since the last refresh are judged (a handful per second of live
traffic), in one short transaction per chunk.  Two processes refreshing at once insert the
same rows; ``ON CONFLICT DO NOTHING`` keeps one, and the recorded high-water mark only
moves forward.  When the limits, the calendar or the shifts change (:func:`config_key`),
the table is emptied and judged again.
"""
from __future__ import annotations

import threading

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from datasource.services.report_sql import Dialect, acts_fill, config_key, for_reports
from datasource.store import schema

CHUNK = 250_000       # events per transaction when catching up
UPTO, CONFIG = "acts_upto", "acts_config"


class ActFacts:
    def __init__(self, system):
        self.system = system
        self._lock = threading.Lock()
        self._statement = None
        self._config = None

    @property
    def engine(self):
        return self.system.engine

    def _prepared(self):
        if self._statement is None:
            self._statement = acts_fill(Dialect(self.engine.dialect.name), self.system.scenario)
            self._config = config_key(self.system.scenario)
        return self._statement, self._config

    def refresh(self) -> int:
        """Judge the acts projected since the last refresh; the number of events looked at."""
        statement, config = self._prepared()
        state = schema.report_state
        with self._lock:
            with self.engine.connect() as c:
                top = c.execute(select(func.max(schema.case_events.c.id))).scalar() or 0
                rows = dict(c.execute(select(state.c.key, state.c.n)).all())
                values = dict(c.execute(select(state.c.key, state.c.value)).all())
            upto = int(rows.get(UPTO) or 0)
            if values.get(CONFIG) != config:
                upto = self._reset(config)
            if top <= upto:
                return 0
            after = upto
            while after < top:
                until = min(after + CHUNK, top)
                with self.engine.begin() as c:
                    for_reports(c)
                    c.execute(statement, {"after": after, "upto": until})
                    c.execute(update(state).where(state.c.key == UPTO, state.c.n < until).values(n=until))
                after = until
            return top - upto

    def _reset(self, config: str) -> int:
        """Empty the table for a new configuration; the high-water mark back to 0."""
        state = schema.report_state
        try:
            with self.engine.begin() as c:
                c.execute(delete(schema.report_acts))
                c.execute(delete(state).where(state.c.key.in_((UPTO, CONFIG))))
                c.execute(insert(state), [{"key": UPTO, "n": 0, "value": None},
                                          {"key": CONFIG, "n": None, "value": config}])
        except IntegrityError:   # another process reset it at the same moment
            pass
        return 0
