"""Acknowledging an alarm on the wall (issue 13): the command, its checks and its record.

An alarm is an urgent case of a category the scenario marks ``alarm`` (class 04, 突发事件), from
its report until it is dispatched (:meth:`dashboard.domain.scenario.Scenario.raises_alarm`).
It takes over part of every wall until an operator acknowledges it — or it is dispatched.

Acknowledging is no step of the case's loop (no event, no version): it is a note in Redis
(``<stream>:alarm_acks``, case id → who and when) that the live snapshot reads every version,
and an audit record, written by :meth:`CommandService._run` like every other command.  The
rules: the role (``permissions.ACKNOWLEDGE_ROLES``), the user's scope, the case being an alarm
still waiting for dispatch, and not acknowledged yet (409 with who did).
"""
from __future__ import annotations

import json

from dashboard.domain.permissions import may_acknowledge
from datasource.services.command_types import ALARM_ACKS, Actor, CommandRefused, Msg

ALARM_STAGES = ("reported", "filed")


def acks_key(stream) -> str:
    """The Redis hash of acknowledged alarms of one stream."""
    return stream.prefix + ALARM_ACKS


def acknowledge(service, actor: Actor, case_id) -> dict:
    """The work of ``CommandService.acknowledge`` (audited there): checks, then the note."""
    if not may_acknowledge(actor.role):
        raise CommandRefused(403, Msg("cmd.forbidden", role=actor.role or "-", action=Msg("action.acknowledge")))
    state = service._load(case_id, actor)     # unknown case → 404, outside the user's scope → 403
    stage = state.get("stage")
    if stage not in ALARM_STAGES or not service.scenario.raises_alarm(state.get("category"), state.get("urgency")):
        raise CommandRefused(409, Msg("cmd.not_alarm", case=case_id), stage=stage)
    key = acks_key(service.stream)
    entry = {"by": actor.name, "at": service.now().isoformat()}
    if not service.stream.client.hsetnx(key, case_id, json.dumps(entry, ensure_ascii=False)):
        before = json.loads(service.stream.client.hget(key, case_id) or "{}")
        raise CommandRefused(409, Msg("cmd.already_acked", case=case_id, who=before.get("by", "?")), stage=stage)
    # the audit row (written by CommandService._run in the same step) takes these three
    return {"case_id": case_id, "acknowledged": True, **entry,
            "_before": stage, "_after": stage, "_message": "alarm acknowledged"}
