"""The command service: every action a person takes on a case, checked and appended.

One method per action (report, file, reject, dispatch, return, handle, verify, close,
extend, suspend, resume, plus a department's request for an extension or suspension and
the supervision centre's decline).  Each one, in this order:

1. checks the actor's role (:mod:`dashboard.domain.permissions`; admin may do everything) → 403;
2. validates its input with a one-line reason → 400;
3. reads the case from the *command side* (the Redis hash the append script keeps; the
   reporting database may lag the stream) → 404 unknown case, 409 wrong stage;
4. checks ownership (a department acts only on cases dispatched to it) → 403;
5. appends the event with :meth:`EventStream.append` — the stage/version check and the
   XADD are one Lua script, so of two operators only one wins; the other gets a 409
   naming who did it and when;
6. writes its audit row in the same step, whatever the outcome (no row → no effect).

Text, numbers and times pass the domain's edge rules (:mod:`dashboard.domain.inputs`) first,
before a case number is taken or anything is appended.

Refusals are :class:`CommandRefused` with an HTTP-like status; their text comes from the
i18n catalogue (``cmd.*`` keys in ``dashboard/i18n/dispatch.py``) in either language.
"""
from __future__ import annotations

import json
from datetime import datetime
from functools import cached_property

from dashboard.domain.codes import is_case_id
from dashboard.domain.events import MAX_DEADLINE, CaseEvent, new_event_id
from dashboard.domain.inputs import InputRefused, check_json, clean_text, coordinates, parse_instant, quote
from dashboard.domain.lifecycle import EventType, MissingInput, Stage, allowed_from, check_input, check_stage
from dashboard.domain.limits import URGENCIES
from dashboard.domain.projection import SOURCES
from dashboard.domain.scope import covers
from datasource.services import audit
from datasource.redis.stream import Conflict
from datasource.store.stream_loss import LossWatch, watched

from dashboard.domain.permissions import OWN_CASE_ACTIONS, may
from datasource.services.components import named_component
from datasource.services.command_types import (DESCRIPTION_MAX, TEXT_MAX, Actor, CommandRefused, CommandResult, Msg,
                                               _stage_name)


class CommandService:
    """Actions on cases for people (pages) and programs (the API), on one System."""

    def __init__(self, system):
        self.system = system
        self.scenario = system.scenario
        self.stream = system.stream
        self.tz = self.scenario.calendar.tz
        self.requests_key = self.stream.prefix + "requests"

    @cached_property
    def queries(self):
        from datasource.services.cases import CaseQueries
        return CaseQueries(self.system)

    # ------------------------------------------------------------------ helpers
    def now(self) -> datetime:
        return self.system.now().astimezone(self.tz)

    def clock_text(self, iso: str | None) -> str:
        """An instant as the centre reads it: 10:32:05 today, else with the date."""
        if not iso:
            return "?"
        try:
            at = datetime.fromisoformat(iso).astimezone(self.tz)
        except ValueError:
            return iso
        return at.strftime("%H:%M:%S" if at.date() == self.now().date() else "%Y-%m-%d %H:%M:%S")

    def _run(self, actor: Actor, action: str, case_id: str | None, work):
        """Run one command with its audit row written in the same step (:func:`audit.audited`):
        no row, no effect; every outcome — done, refused, lost race, crash — recorded."""
        lost = self.stream_loss.reason()   # asked before the audit's transaction opens (no nested connection)

        def audited_work(entry: audit.Entry):
            try:
                if lost:   # Redis lost the stream: the case states and numbers went with it
                    raise CommandRefused(503, Msg("outage.stream_lost"), outcome="error")
                result = work()
            except InputRefused as exc:
                refused = CommandRefused.of_input(exc)
                entry.finish("refused", message=refused.message("en"))
                raise refused from None
            except CommandRefused as exc:
                entry.finish(exc.outcome, before=exc.stage, after=exc.stage, message=exc.message("en"))
                raise
            if isinstance(result, CommandResult):
                entry.finish("ok", case_id=result.case_id, before=result.before, after=result.after,
                             message=self._summary(result))
            elif isinstance(result, dict):
                entry.finish("ok", before=result.pop("_before", None), after=result.pop("_after", None),
                             message=result.pop("_message", None))
            return result
        return audit.audited(self.system.engine, audited_work, user=actor.name, role=actor.role, action=action,
                             case_id=case_id if isinstance(case_id, str) and is_case_id(case_id) else None,
                             remote_addr=actor.remote_addr)

    @cached_property
    def stream_loss(self) -> LossWatch:
        """Whether Redis lost the stream (:mod:`datasource.store.stream_loss`): then every command
        is refused with a 503, as none can be checked.  Asked before every command."""
        return LossWatch(self.stream.client, watched(self.stream), self.system.engine, every=0)

    @staticmethod
    def _summary(result: CommandResult) -> str:
        parts = [result.event]
        if result.department:
            parts.append(f"department={result.department}")
        if result.deadline:
            parts.append(f"deadline={result.deadline}")
        return " ".join(parts)

    @staticmethod
    def _permit(actor: Actor, action: str) -> None:
        if not may(actor.role, action):
            raise CommandRefused(403, Msg("cmd.forbidden", role=actor.role or "-", action=Msg(f"action.{action}")))

    @staticmethod
    def _text(value, name: str, limit: int = TEXT_MAX, required: bool = False) -> str:
        """Free text as the domain's edge rule cleans it (:func:`dashboard.domain.inputs.clean_text`)."""
        return clean_text(value, name, limit, required)

    def _instant(self, value, name: str, at: datetime, after: datetime | None = None) -> datetime:
        """A future instant given as ISO 8601 with an offset (a deadline, an extension)."""
        when = parse_instant(value, name)
        if when <= at:
            raise CommandRefused(400, Msg("cmd.in_past", field=name, value=self.clock_text(when.isoformat())))
        if when > at + MAX_DEADLINE:
            raise CommandRefused(400, Msg("cmd.too_far", field=name))
        if after is not None and when <= after:
            raise CommandRefused(400, Msg("cmd.not_later", field=name, current=self.clock_text(after.isoformat())))
        return when.astimezone(self.tz)

    @staticmethod
    def _version(value) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise CommandRefused(400, Msg("cmd.bad_version"))
        return value

    def state(self, case_id: str) -> dict:
        """The command side's view of a case (stage, version, last actor/time/type, department …).

        Fields this service did not write (cases made by the simulator or a backfill) are
        filled from the reporting database.  ``v`` is the version at which this service last
        wrote its own fields: when another producer appended since, its deadline and
        department are taken from the database instead (once the worker has caught up)."""
        state = self.stream.case_state(case_id)
        fresh = bool(state) and state.get("v") == state.get("version")
        if not fresh:
            state.pop("deadline", None)
        if state and (not fresh or not all(state.get(k) for k in ("category", "urgency", "street"))):
            row = self.queries.row(case_id)
            if row:
                state.setdefault("category", row["category_code"])
                state.setdefault("urgency", row["urgency"])
                state.setdefault("street", row["street_code"])
                if row.get("department_code"):
                    state["department"] = row["department_code"]
                if row["version"] == int(state.get("version") or 0) and row.get("deadline_at"):
                    state["deadline"] = row["deadline_at"].isoformat()
        return state

    def _load(self, case_id, actor: Actor | None = None) -> dict:
        if not isinstance(case_id, str) or not is_case_id(case_id):
            raise CommandRefused(404, Msg("cmd.unknown_case", case=quote(case_id)))
        state = self.state(case_id)
        if not state.get("stage"):
            raise CommandRefused(404, Msg("cmd.unknown_case", case=case_id))
        if actor is not None:
            self._check_scope(actor, case_id, state)
        return state

    def place_of(self, case_id: str, state: dict | None = None) -> tuple[str | None, str | None]:
        """(street, community) of a case: the command side's grid/street, else the reporting row."""
        state = state if state is not None else self.state(case_id)
        grid, street = state.get("grid"), state.get("street")
        if grid:
            return street or grid[:9], grid[:12]
        row = self.queries.row(case_id)
        if row:
            return row["street_code"], row["community_code"]
        return street, None

    def _check_scope(self, actor: Actor, case_id: str, state: dict) -> None:
        """A sub-centre user acts only on cases of its street / community → 403."""
        if not actor.scope:
            return
        street, community = self.place_of(case_id, state)
        if not covers(actor.scope, street, community):
            raise CommandRefused(403, Msg("cmd.out_of_scope", case=case_id, scope=actor.scope),
                                 stage=state.get("stage"))

    def _last(self, state: dict) -> dict:
        return {"actor": state.get("actor") or "?", "time": self.clock_text(state.get("at")),
                "verb": Msg(f"verb.{state.get('type') or 'reported'}")}

    def _check_stage(self, case_id: str, state: dict, action: str, event_type: EventType,
                     expect_version: int | None) -> None:
        stage = state["stage"]
        sources = allowed_from(event_type)
        if Stage(stage) not in sources:
            if state.get("type") == event_type.value or (action == "verify" and state.get("type") == "rework"):
                raise CommandRefused(409, Msg("cmd.already", case=case_id, **self._last(state)),
                                     outcome="conflict", stage=stage)
            needed = [_stage_name(s.value) for s in sources if s]
            raise CommandRefused(409, Msg("cmd.wrong_stage", case=case_id, stage=_stage_name(stage),
                                          action=Msg(f"action.{action}"), needed=needed, **self._last(state)),
                                 stage=stage)
        if expect_version is not None and int(state.get("version") or 0) != expect_version:
            raise CommandRefused(409, Msg("cmd.changed", case=case_id, **self._last(state)),
                                 outcome="conflict", stage=stage)

    def _conflict(self, case_id: str, action: str, event_type: EventType, conflict: Conflict) -> CommandRefused:
        last = {"actor": conflict.last_actor or "?", "time": self.clock_text(conflict.last_at),
                "verb": Msg(f"verb.{conflict.last_type or 'reported'}")}
        if conflict.stage is None:
            return CommandRefused(404, Msg("cmd.unknown_case", case=case_id))
        same = conflict.last_type == event_type.value or (action == "verify" and conflict.last_type == "rework")
        key = "cmd.already" if same else "cmd.changed"
        return CommandRefused(409, Msg(key, case=case_id, **last), outcome="conflict", stage=conflict.stage)

    def _deadline(self, stage: str, state: dict, at: datetime, explicit: datetime | None = None) -> str:
        """The deadline of the stage a case enters, as the projection will compute it."""
        if explicit is not None:
            return explicit.isoformat()
        if stage in (Stage.CLOSED.value, Stage.REJECTED.value, Stage.SUSPENDED.value):
            return ""
        _, deadline = self.scenario.limits.deadline(stage, state.get("category", ""), state.get("urgency", "normal"), at)
        return deadline.isoformat() if deadline else ""

    def _case_command(self, actor: Actor, action: str, case_id, event_type: EventType, body: dict,
                      expect_version, at: datetime, check=None, explicit_deadline=None) -> CommandResult:
        expect_version = self._version(expect_version)
        state = self._load(case_id, actor)
        self._check_stage(case_id, state, action, event_type, expect_version)
        if action in OWN_CASE_ACTIONS and actor.role != "admin":
            department = state.get("department")
            if department != actor.department_code:
                raise CommandRefused(403, Msg("cmd.not_own", case=case_id, department=department or "-"),
                                     stage=state["stage"])
        try:
            check_input(event_type, body)   # e.g. a handling note saying what was done (issue 11)
        except MissingInput as exc:
            raise CommandRefused(400, Msg("evidence.input_missing", field=", ".join(exc.names)),
                                 stage=state["stage"]) from None
        if check:
            check(state)
        before = state["stage"]
        suspended_from = state.get("suspended_from")
        after = check_stage(Stage(before), Stage(suspended_from) if suspended_from else None, case_id,
                            event_type).value
        fields = {"deadline": self._deadline(after, state, at, explicit_deadline)} if after != before or \
            explicit_deadline is not None else {}
        if event_type is EventType.DISPATCHED:
            fields["department"] = body["department"]
        fields["v"] = str(int(state.get("version") or 0) + 1)
        event = CaseEvent(new_event_id(), case_id, event_type, at, actor.name, body)
        outcome = self.stream.append(event, expect_version=expect_version, state=fields)
        if isinstance(outcome, Conflict):
            raise self._conflict(case_id, action, event_type, outcome)
        if event_type in (EventType.EXTENDED, EventType.SUSPENDED):
            self._drop_request(case_id)
        return CommandResult(case_id, action, before, after, int(state.get("version") or 0) + 1, outcome,
                             at.isoformat(), event_type.value, body.get("department"), fields.get("deadline") or None)

    # ------------------------------------------------------------------ commands
    def report(self, actor: Actor, category, lon, lat, description="", source="phone",
               urgency="normal", component=None, intake: dict | None = None) -> CommandResult:
        """Register a new case (上报); the answer carries its new case id.  ``component``: the
        code of the city component it is about (its position is used when none is given).
        ``intake``: what the channel that took the report adds, kept in the event's body under
        ``intake`` (Open311: the position as sent, an outside mark, the address — issue 14)."""
        def work():
            nonlocal lon, lat
            self._permit(actor, "report")
            if intake is not None:
                check_json(intake, "intake")
            # every check before the day's serial is taken: a refused report leaves no gap in the numbers
            if not isinstance(category, str) or category not in self.scenario.categories:
                raise CommandRefused(400, Msg("cmd.unknown_category", category=quote(category)) if category
                                     else Msg("cmd.no_category"))
            named = named_component(self.system, component)      # issue 16; 400 for an unknown code
            if named and lon is None and lat is None:
                lon, lat = named["lon"], named["lat"]
            x, y = coordinates(lon, lat)
            text = self._text(description, "description", DESCRIPTION_MAX)
            if source not in SOURCES:
                raise CommandRefused(400, Msg("cmd.bad_choice", field="source", choices=", ".join(SOURCES)))
            if urgency not in URGENCIES:
                raise CommandRefused(400, Msg("cmd.bad_choice", field="urgency", choices=", ".join(URGENCIES)))
            place = self.system.locator.locate(x, y)
            if place is None:
                raise CommandRefused(400, Msg("cmd.outside", lon=f"{x:.5f}", lat=f"{y:.5f}"))
            if not covers(actor.scope, place[2], place[1]):
                raise CommandRefused(403, Msg("cmd.report_out_of_scope", lon=f"{x:.5f}", lat=f"{y:.5f}",
                                              scope=actor.scope))
            at = self.now()
            case_id = self.stream.next_case_id(at.date())
            body = {"category": category, "lon": x, "lat": y, "description": text,
                    "source": source, "urgency": urgency}
            if named:
                body["component"] = named["code"]
            if intake:
                body["intake"] = intake
            state = {"category": category, "urgency": urgency, "grid": place[0], "street": place[2], "v": "1"}
            state["deadline"] = self._deadline(Stage.REPORTED.value, state, at)
            outcome = self.stream.append(CaseEvent(new_event_id(), case_id, EventType.REPORTED, at, actor.name, body),
                                         state=state)
            if isinstance(outcome, Conflict):
                raise CommandRefused(409, Msg("cmd.exists", case=case_id), outcome="conflict")
            return CommandResult(case_id, "report", None, Stage.REPORTED.value, 1, outcome, at.isoformat(),
                                 "reported", deadline=state["deadline"] or None)
        return self._run(actor, "report", None, work)

    def file(self, actor: Actor, case_id, note="", expect_version=None) -> CommandResult:
        """File a reported case (立案)."""
        return self._simple(actor, "file", case_id, EventType.FILED, {"note": note}, expect_version)

    def reject(self, actor: Actor, case_id, reason, expect_version=None) -> CommandResult:
        """Reject a report (不予立案); a reason is required."""
        return self._simple(actor, "reject", case_id, EventType.REJECTED, {"reason": reason}, expect_version,
                            required=("reason",))

    def dispatch(self, actor: Actor, case_id, department, deadline=None, note="", expect_version=None) -> CommandResult:
        """Send a filed case to one department (派遣), with an optional explicit deadline."""
        def work():
            self._permit(actor, "dispatch")
            if not isinstance(department, str) or department not in self.scenario.departments:
                raise CommandRefused(400, Msg("cmd.unknown_department", department=quote(department)))
            text = self._text(note, "note")
            at = self.now()
            explicit = self._instant(deadline, "deadline", at) if deadline not in (None, "") else None
            body = {"department": department}
            if explicit is not None:
                body["deadline"] = explicit.isoformat()
            if text:
                body["note"] = text
            return self._case_command(actor, "dispatch", case_id, EventType.DISPATCHED, body, expect_version, at,
                                      explicit_deadline=explicit)
        return self._run(actor, "dispatch", case_id, work)

    def return_(self, actor: Actor, case_id, reason, expect_version=None) -> CommandResult:
        """A department sends back a wrongly routed case (退回); a reason is required."""
        return self._simple(actor, "return", case_id, EventType.RETURNED, {"reason": reason}, expect_version,
                            required=("reason",))

    def handle(self, actor: Actor, case_id, note="", expect_version=None) -> CommandResult:
        """A department reports the case handled (处置); a note of what was done is required."""
        return self._simple(actor, "handle", case_id, EventType.HANDLED, {"note": note}, expect_version)

    def verify(self, actor: Actor, case_id, result, reason="", expect_version=None) -> CommandResult:
        """On-site check (核查): ``pass`` → verified, ``fail`` → rework (返工, reason required)."""
        def work():
            self._permit(actor, "verify")
            if result not in ("pass", "fail"):
                raise CommandRefused(400, Msg("cmd.bad_choice", field="result", choices="pass, fail"))
            text = self._text(reason, "reason", required=result == "fail")
            kind = EventType.VERIFIED if result == "pass" else EventType.REWORK
            body = {"reason": text} if text else {}
            return self._case_command(actor, "verify", case_id, kind, body, expect_version, self.now())
        return self._run(actor, "verify", case_id, work)

    def close(self, actor: Actor, case_id, note="", expect_version=None) -> CommandResult:
        """Close a verified case (结案)."""
        return self._simple(actor, "close", case_id, EventType.CLOSED, {"note": note}, expect_version)

    def extend(self, actor: Actor, case_id, until, reason="", expect_version=None) -> CommandResult:
        """Move the current stage's deadline later (延期)."""
        def work():
            self._permit(actor, "extend")
            text = self._text(reason, "reason")
            at = self.now()
            state = self._load(case_id, actor)
            current = state.get("deadline")
            when = self._instant(until, "until", at, datetime.fromisoformat(current) if current else None)
            body = {"until": when.isoformat()}
            if text:
                body["reason"] = text
            return self._case_command(actor, "extend", case_id, EventType.EXTENDED, body, expect_version, at,
                                      explicit_deadline=when)
        return self._run(actor, "extend", case_id, work)

    def suspend(self, actor: Actor, case_id, reason, expect_version=None) -> CommandResult:
        """Suspend a case that cannot be solved within its limit (挂账); a reason is required."""
        return self._simple(actor, "suspend", case_id, EventType.SUSPENDED, {"reason": reason}, expect_version,
                            required=("reason",))

    def resume(self, actor: Actor, case_id, note="", expect_version=None) -> CommandResult:
        """Resume a suspended case in the stage it was suspended from."""
        return self._simple(actor, "resume", case_id, EventType.RESUMED, {"note": note}, expect_version)

    def _simple(self, actor, action, case_id, event_type, texts: dict, expect_version, required=()):
        def work():
            self._permit(actor, action)
            body = {}
            for name, value in texts.items():
                text = self._text(value, name, required=name in required)
                if text:
                    body[name] = text
            return self._case_command(actor, action, case_id, event_type, body, expect_version, self.now())
        return self._run(actor, action, case_id, work)

    # ------------------------------------------------- requests (extension / suspension)
    def request(self, actor: Actor, case_id, kind, reason, until=None) -> dict:
        """A department asks the supervision centre for an extension or a suspension."""
        def work():
            self._permit(actor, "request")
            if kind not in ("extend", "suspend"):
                raise CommandRefused(400, Msg("cmd.bad_choice", field="kind", choices="extend, suspend"))
            text = self._text(reason, "reason", required=True)
            at = self.now()
            state = self._load(case_id, actor)
            if state["stage"] != Stage.DISPATCHED.value:
                raise CommandRefused(409, Msg("cmd.wrong_stage", case=case_id, stage=_stage_name(state["stage"]),
                                              action=Msg("action.request"), needed=[_stage_name("dispatched")],
                                              **self._last(state)), stage=state["stage"])
            if actor.role != "admin" and state.get("department") != actor.department_code:
                raise CommandRefused(403, Msg("cmd.not_own", case=case_id, department=state.get("department") or "-"),
                                     stage=state["stage"])
            entry = {"case_id": case_id, "kind": kind, "reason": text, "by": actor.name,
                     "department": state.get("department"), "at": at.isoformat(), "until": None}
            if kind == "extend":
                current = state.get("deadline")
                entry["until"] = self._instant(until, "until", at,
                                               datetime.fromisoformat(current) if current else None).isoformat()
            self.stream.client.hset(self.requests_key, case_id, json.dumps(entry, ensure_ascii=False))
            return {**entry, "_before": state["stage"], "_after": state["stage"], "_message": f"{kind}: {text}"[:500]}
        return self._run(actor, "request", case_id, work)

    def requests(self) -> list[dict]:
        """Pending extension / suspension requests, oldest first."""
        raw = self.stream.client.hgetall(self.requests_key)
        items = [json.loads(v) for v in raw.values()]
        return sorted(items, key=lambda r: r["at"])

    def decline(self, actor: Actor, case_id, reason="") -> dict:
        """Decline a pending request (the case goes on as before)."""
        def work():
            self._permit(actor, "decline")
            text = self._text(reason, "reason")
            if not isinstance(case_id, str) or not self.stream.client.hexists(self.requests_key, case_id):
                raise CommandRefused(404, Msg("cmd.no_request", case=quote(case_id)))
            if actor.scope:
                self._load(case_id, actor)
            self._drop_request(case_id)
            return {"case_id": case_id, "declined": True, "_message": text or None}
        return self._run(actor, "decline", case_id, work)

    def acknowledge(self, actor: Actor, case_id) -> dict:
        """Acknowledge a wall alarm (issue 13; rules in :mod:`datasource.services.wall_alarms`)."""
        from datasource.services.wall_alarms import acknowledge
        return self._run(actor, "acknowledge", case_id, lambda: acknowledge(self, actor, case_id))

    def _drop_request(self, case_id: str) -> None:
        self.stream.client.hdel(self.requests_key, case_id)

    # ------------------------------------------------------------------ dispatcher
    def execute(self, actor: Actor, action: str, case_id: str | None = None, params: dict | None = None):
        """Run ``action`` with ``params`` (the API's entry point); names as in the API's models (:mod:`dashboard.web.api_models`)."""
        p = dict(params or {})
        version = p.pop("version", None)
        if action == "report":
            return self.report(actor, p.get("category"), p.get("lon"), p.get("lat"), p.get("description", ""),
                               p.get("source", "api"), p.get("urgency", "normal"), p.get("component"))
        if action == "dispatch":
            return self.dispatch(actor, case_id, p.get("department"), p.get("deadline"), p.get("note", ""), version)
        if action == "verify":
            return self.verify(actor, case_id, p.get("result"), p.get("reason", ""), version)
        if action == "extend":
            return self.extend(actor, case_id, p.get("until"), p.get("reason", ""), version)
        if action == "request":
            return self.request(actor, case_id, p.get("kind"), p.get("reason"), p.get("until"))
        if action == "decline":
            return self.decline(actor, case_id, p.get("reason", ""))
        simple = {"file": (self.file, "note"), "reject": (self.reject, "reason"), "return": (self.return_, "reason"),
                  "handle": (self.handle, "note"), "close": (self.close, "note"), "suspend": (self.suspend, "reason"),
                  "resume": (self.resume, "note")}
        if action not in simple:
            def unknown():
                raise CommandRefused(404, Msg("cmd.unknown_action", action=quote(action, 30)))
            return self._run(actor, str(action)[:32], case_id, unknown)
        method, name = simple[action]
        return method(actor, case_id, p.get(name, ""), version)

    def refuse_input(self, actor: Actor, action: str, case_id: str | None, status: int, msg: Msg) -> CommandRefused:
        """Audit an input the API refused before it reached a command; the error to raise."""
        error = CommandRefused(status, msg)
        audit.record(self.system.engine, user=actor.name, role=actor.role, action=action,
                     case_id=case_id if isinstance(case_id, str) and is_case_id(case_id) else None,
                     remote_addr=actor.remote_addr, outcome="refused", message=error.message("en"))
        return error
