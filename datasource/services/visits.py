"""Return visits (回访, issue 11): the queue of closed public cases waiting for a call, the
recording of a visit (and, when the reporter is unsatisfied, the case's reopening), and the
satisfaction rate by department and by street over a period.

The rules are the domain's (:mod:`dashboard.domain.visits`); the events go through the
command service's checked append, so a visit is role-, scope- and version-checked and
audited like every other act.  A visit that reopens its case appends two events —
``visited`` then ``reopened`` — in ONE script call, each checked against the version the
previous one left: both are recorded, or neither.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case as sql_case, func, or_, select

from dashboard.domain.events import CaseEvent, new_event_id
from dashboard.domain.lifecycle import EventType, Stage
from dashboard.domain.visits import (NOTE_MAX, PUBLIC_SOURCES, REOPEN_STAGE, VisitRefused, check_visit,
                                     satisfaction_rate)
from datasource.redis.stream import Conflict, event_args
from datasource.services.command_types import Actor, CommandRefused, CommandResult, Msg
from dashboard.domain.evaluation import Period
from datasource.services.scoping import scoped
from datasource.store import schema

#: refusal reason → HTTP-like status (the case's state: 409; the input: 400)
_STATUS = {"result": 400, "reopen_satisfied": 400, "not_public": 409, "not_closed": 409}


def _awaiting(table):
    """The SQL of :func:`dashboard.domain.visits.awaiting_visit`."""
    return and_(table.c.stage == Stage.CLOSED.value, table.c.source.in_(PUBLIC_SOURCES),
                or_(table.c.visited_at.is_(None), table.c.visited_at < table.c.closed_at))


def satisfaction_counts(engine, start: datetime, end: datetime, by: str = "department",
                        scope: str | None = None) -> list[dict]:
    """Per department or street (``by``): visited, satisfied, basically, unsatisfied — cases
    whose latest visit lies in [start, end), of a sub-centre's ``scope``."""
    table = schema.cases
    if by not in ("department", "street"):
        raise ValueError(f"by must be department or street, not {by!r}")
    key = table.c.department_code if by == "department" else table.c.street_code
    counts = [func.count().label("visited"),
              *[func.sum(sql_case((table.c.visit_result == r, 1), else_=0)).label(r)
                for r in ("satisfied", "basically", "unsatisfied")]]
    where = and_(table.c.visited_at >= start, table.c.visited_at < end, table.c.visit_result.is_not(None))
    statement = scoped(select(key.label("key"), *counts).where(where).group_by(key), table, scope)
    with engine.connect() as c:
        return [dict(r) for r in c.execute(statement).mappings()]


def satisfaction_rates(engine, start: datetime, end: datetime, by: str = "department",
                       scope: str | None = None) -> dict[str, float | None]:
    """key → satisfaction rate (what a drill-down or the briefing adds as a column)."""
    return {r["key"]: satisfaction_rate(int(r["satisfied"] or 0), int(r["basically"] or 0), int(r["visited"] or 0))
            for r in satisfaction_counts(engine, start, end, by, scope)}


class Visits:
    """Return visits on one System (its command service and case queries)."""

    def __init__(self, system, commands, queries):
        self.system, self.commands, self.queries = system, commands, queries

    @property
    def engine(self):
        return self.system.engine

    # ------------------------------------------------------------------ the queue
    def queue(self, scope: str | None = None, limit: int = 200, offset: int = 0) -> dict:
        """Closed public cases waiting for a visit, the longest waiting first: the true
        ``total`` and one page of ``cases``."""
        table = schema.cases
        condition = _awaiting(table)
        columns = [table.c[n] for n in ("case_id", "category_code", "department_code", "street_code", "community_code",
                                        "source", "description", "reporter", "reported_at", "closed_at",
                                        "visit_result", "visited_at", "visit_count", "version")]
        with self.engine.connect() as c:
            total = c.execute(scoped(select(func.count()).select_from(table).where(condition), table, scope)).scalar()
            rows = c.execute(scoped(select(*columns).where(condition), table, scope)
                             .order_by(table.c.closed_at, table.c.case_id).offset(offset).limit(limit)).mappings().all()
        return {"total": int(total or 0), "cases": [dict(r) for r in rows]}

    # ------------------------------------------------------------------ recording
    def record(self, actor: Actor, case_id, result, note="", reopen: bool = False,
               expect_version=None) -> CommandResult:
        """Record a return visit (回访); with ``reopen`` (only when unsatisfied) the case goes
        back to its department as rework.  A note is required when the reporter is unsatisfied."""
        commands = self.commands

        def work():
            commands._permit(actor, "visit")
            if not isinstance(reopen, bool):
                raise CommandRefused(400, Msg("cmd.bad_choice", field="reopen", choices="true, false"))
            text = commands._text(note, "note", NOTE_MAX, required=result == "unsatisfied")
            version = commands._version(expect_version)
            state = commands._load(case_id, actor)
            row = self.queries.row(case_id)
            try:
                check_visit(state["stage"], row["source"] if row else None, result, reopen)
            except VisitRefused as exc:
                raise CommandRefused(_STATUS[exc.key], Msg(f"visit.refused_{exc.key}", case=case_id),
                                     stage=state["stage"]) from None
            current = int(state.get("version") or 0)
            if state.get("type") == EventType.VISITED.value:   # one visit per closure
                raise CommandRefused(409, Msg("cmd.already", case=case_id, **commands._last(state)),
                                     outcome="conflict", stage=state["stage"])
            if version is not None and version != current:
                raise CommandRefused(409, Msg("cmd.changed", case=case_id, **commands._last(state)),
                                     outcome="conflict", stage=state["stage"])
            return self._append(actor, case_id, state, current, result, text, reopen)

        return commands._run(actor, "visit", case_id, work)

    def _append(self, actor: Actor, case_id: str, state: dict, current: int, result: str, text: str,
                reopen: bool) -> CommandResult:
        commands = self.commands
        at = commands.now()
        body = {"result": result}
        if text:
            body["note"] = text
        if reopen:
            body["reopen"] = True   # a ``reopened`` event follows in the same script call
        events = [(CaseEvent(new_event_id(), case_id, EventType.VISITED, at, actor.name, body),
                   {"v": str(current + 1)})]
        after = Stage.CLOSED.value
        if reopen:
            after = REOPEN_STAGE.value
            deadline = commands._deadline(after, state, at)
            events.append((CaseEvent(new_event_id(), case_id, EventType.REOPENED, at, actor.name,
                                     {"reason": text, "visit": events[0][0].event_id}),
                           {"deadline": deadline, "v": str(current + 2)}))
        args = []
        for n, (event, fields) in enumerate(events):
            args.extend(event_args(event, expect_version=current + n, state=fields))
        outcomes = commands.stream.append_args([case_id] * len(events), args)
        refused = next((o for o in outcomes if isinstance(o, Conflict)), None)
        if refused is not None:
            raise commands._conflict(case_id, "visit", EventType.VISITED, refused)
        return CommandResult(case_id, "visit", Stage.CLOSED.value, after, current + len(events), outcomes[-1],
                             at.isoformat(), events[-1][0].type.value, state.get("department"),
                             (events[-1][1].get("deadline") or None))

    # ------------------------------------------------------------------ the figure
    def satisfaction(self, period: Period, by: str = "department", scope: str | None = None,
                     lang: str = "zh") -> dict:
        """Satisfaction over ``period`` (cases by the time of their latest visit), in total and
        per department or street (``by``): visited, satisfied, basically, unsatisfied, rate."""
        rows = satisfaction_counts(self.engine, period.start, period.end, by, scope)
        groups = [self._figure(r, by, lang) for r in rows]
        groups.sort(key=lambda g: (g["rate"] is None, -(g["rate"] or 0), g["key"] or ""))
        total = self._figure({"key": None, **{name: sum(int(r[name] or 0) for r in rows)
                                              for name in ("visited", "satisfied", "basically", "unsatisfied")}}, by, lang)
        return {"period": period.as_dict(), "by": by, "total": total, "groups": groups}

    def rates(self, period: Period, by: str = "department", scope: str | None = None) -> dict[str, float | None]:
        """key → satisfaction rate over ``period`` (:func:`satisfaction_rates`)."""
        return satisfaction_rates(self.engine, period.start, period.end, by, scope)

    def _figure(self, row: dict, by: str, lang: str) -> dict:
        visited, satisfied, basically = int(row["visited"] or 0), int(row["satisfied"] or 0), int(row["basically"] or 0)
        key = row["key"]
        name = None
        if key is not None:
            name = self.queries.department_name(key, lang) if by == "department" else self.queries.street_name(key)
        return {"key": key, "name": name, "visited": visited, "satisfied": satisfied, "basically": basically,
                "unsatisfied": int(row["unsatisfied"] or 0), "rate": satisfaction_rate(satisfied, basically, visited)}

    def now(self) -> datetime:
        return self.commands.now()
