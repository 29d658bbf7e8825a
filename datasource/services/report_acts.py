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

The same transaction that records a chunk of acts counts again the local days they fall on
in the daily roll-up ``report_acts_daily`` (:mod:`datasource.services.report_rollup`), which
``/inspectors`` reads; its own high-water mark (``acts_daily_upto``) lets a database whose
acts were recorded before the roll-up existed catch up once.
"""
from __future__ import annotations

import threading

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from datasource.services import report_rollup as rollup
from datasource.services.report_sql import Dialect, acts_fill, config_key, for_reports
from datasource.store import schema
from datasource.store.committed import committed_top

CHUNK = 250_000       # events per transaction when catching up
UPTO, CONFIG, DAILY = "acts_upto", "acts_config", "acts_daily_upto"
#: One refresh at a time in a process (every report service has its own ActFacts; the
#: roll-up's recount must not interleave with another's); PostgreSQL also locks across processes.
_REFRESH = threading.Lock()


class ActFacts:
    def __init__(self, system):
        self.system = system
        self._lock = _REFRESH
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
            top = committed_top(self.engine)   # not merely the newest id: several workers commit out of order
            with self.engine.connect() as c:
                rows = dict(c.execute(select(state.c.key, state.c.n)).all())
                values = dict(c.execute(select(state.c.key, state.c.value)).all())
            upto = int(rows.get(UPTO) or 0)
            if values.get(CONFIG) != config:
                upto = self._reset(config)
            elif int(rows.get(DAILY) or 0) < upto:
                self._catch_up_daily(int(rows.get(DAILY) or 0), upto)
            if top <= upto:
                return 0
            after = upto
            tz = self.system.scenario.calendar.tz
            while after < top:
                until = min(after + CHUNK, top)
                with self.engine.begin() as c:
                    rollup.lock(c)
                    for_reports(c)
                    c.execute(statement, {"after": after, "upto": until})
                    rollup.recount(c, tz, rollup.days_of_events(c, tz, after, until))
                    c.execute(update(state).where(state.c.key == UPTO, state.c.n < until).values(n=until))
                    self._mark_daily(c, until)
                after = until
            return top - upto

    def _catch_up_daily(self, done: int, upto: int) -> None:
        """Count the days of the acts recorded before the roll-up followed them (once)."""
        tz = self.system.scenario.calendar.tz
        with self.engine.begin() as c:
            rollup.lock(c)
            for_reports(c)
            rollup.recount(c, tz, rollup.days_of_events(c, tz, done, upto))
            self._mark_daily(c, upto)

    @staticmethod
    def _mark_daily(c, until: int) -> None:
        """The roll-up follows the acts up to event ``until``."""
        state = schema.report_state
        if c.execute(select(state.c.key).where(state.c.key == DAILY)).first() is None:
            c.execute(insert(state).values(key=DAILY, n=until, value=None))
        else:
            c.execute(update(state).where(state.c.key == DAILY, state.c.n < until).values(n=until))

    def _reset(self, config: str) -> int:
        """Empty the table for a new configuration; the high-water mark back to 0."""
        state = schema.report_state
        try:
            with self.engine.begin() as c:
                rollup.lock(c)
                c.execute(delete(schema.report_acts))
                c.execute(delete(schema.report_acts_daily))
                c.execute(delete(state).where(state.c.key.in_((UPTO, CONFIG, DAILY))))
                c.execute(insert(state), [{"key": UPTO, "n": 0, "value": None},
                                          {"key": CONFIG, "n": None, "value": config},
                                          {"key": DAILY, "n": 0, "value": None}])
        except IntegrityError:   # another process reset it at the same moment
            pass
        return 0
