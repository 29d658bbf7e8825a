"""The case-event stream: appending events (checked or bulk) and reading it back.

Checked appends go through one Lua script per command, so the check of the case's
current stage and version and the XADD happen atomically: of twenty operators dispatching
one case at the same moment, exactly one succeeds.  The script keeps a small hash per case
(``<stream>:case:<id>``: stage, version, last actor/time/type) as the command side's view;
a caller may add fields of its own to that view (department, deadline …) in the same step.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import redis

from dashboard.domain.codes import case_id as make_case_id
from dashboard.domain.events import CaseEvent
from dashboard.domain.lifecycle import TRANSITIONS, EventType, Stage, allowed_from

APPEND_LUA = """
local cur = redis.call('HMGET', KEYS[2], 'stage', 'version', 'actor', 'at', 'type', 'suspended_from')
local stage = cur[1] or '-'
local version = tonumber(cur[2] or '0')
if not string.find(ARGV[1], ',' .. stage .. ',', 1, true) then
  return {'conflict', stage, tostring(version), cur[3] or '', cur[4] or '', cur[5] or ''}
end
if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= version then
  return {'conflict', stage, tostring(version), cur[3] or '', cur[4] or '', cur[5] or ''}
end
local nstate = tonumber(ARGV[7])
local fields = {}
for i = 8 + nstate, #ARGV do fields[#fields + 1] = ARGV[i] end
local id = redis.call('XADD', KEYS[1], '*', unpack(fields))
local new = ARGV[2]
if new == '' then new = stage end
if new == '@resume' then new = cur[6] or 'filed' end
redis.call('HSET', KEYS[2], 'stage', new, 'version', version + 1, 'actor', ARGV[4], 'at', ARGV[5], 'type', ARGV[6])
if new == 'suspended' then redis.call('HSET', KEYS[2], 'suspended_from', stage) end
if nstate > 0 then
  local extra = {}
  for i = 8, 7 + nstate do extra[#extra + 1] = ARGV[i] end
  redis.call('HSET', KEYS[2], unpack(extra))
end
return {'ok', id}
"""


@dataclass(frozen=True)
class Conflict:
    """Why a checked append was refused: the case's state on the command side."""

    case_id: str
    stage: str | None
    version: int
    last_actor: str
    last_at: str
    last_type: str


class EventStream:
    """One Redis stream of case events with its companion keys."""

    def __init__(self, client: redis.Redis, key: str):
        self.client, self.key, self.prefix = client, key, key + ":"
        self._append = client.register_script(APPEND_LUA)

    def case_key(self, case_id: str) -> str:
        return f"{self.prefix}case:{case_id}"

    def next_case_id(self, day: date) -> str:
        """A new case id for ``day`` from a per-day Redis counter."""
        serial = self.client.incr(f"{self.prefix}seq:{day:%Y%m%d}")
        return make_case_id(day, serial)

    def append(self, event: CaseEvent, expect_version: int | None = None,
               state: dict[str, str] | None = None) -> str | Conflict:
        """Append ``event`` if the case's stage allows it; the entry id, or a Conflict.

        ``state`` is written into the case's command-side hash together with the event
        (atomically), e.g. the department a dispatch sends the case to."""
        sources = allowed_from(event.type)
        allowed = "," + ",".join("-" if s is None else s.value for s in sources) + ","
        target = _target(event.type)
        fields = event.to_fields()
        flat = [item for pair in fields.items() for item in pair]
        extra = [str(item) for pair in (state or {}).items() for item in pair]
        result = self._append(keys=[self.key, self.case_key(event.case_id)],
                              args=[allowed, target, "" if expect_version is None else str(expect_version),
                                    event.actor, fields["at"], event.type.value, str(len(extra)), *extra, *flat])
        status = _s(result[0])
        if status == "ok":
            return _s(result[1])
        stage = _s(result[1])
        return Conflict(event.case_id, None if stage == "-" else stage, int(_s(result[2])),
                        _s(result[3]), _s(result[4]), _s(result[5]))

    def append_raw(self, fields: dict, pipe=None) -> None:
        """Append fields as they are (bulk producers and tests); no check."""
        (pipe or self.client).xadd(self.key, fields)

    def set_case_states(self, states: dict[str, dict]) -> None:
        """Write the command-side view of many cases at once (after a bulk backfill)."""
        pipe = self.client.pipeline(transaction=False)
        for n, (case, state) in enumerate(states.items(), 1):
            pipe.hset(self.case_key(case), mapping=state)
            if n % 5000 == 0:
                pipe.execute()
        pipe.execute()

    def case_state(self, case_id: str) -> dict:
        return {_s(k): _s(v) for k, v in self.client.hgetall(self.case_key(case_id)).items()}

    def length(self) -> int:
        return self.client.xlen(self.key)

    def read_all(self, batch: int = 5000):
        """Yield lists of (entry id, fields) over the whole stream, oldest first."""
        start = "-"
        while True:
            entries = self.client.xrange(self.key, min=start, count=batch)
            if not entries:
                return
            yield entries
            if len(entries) < batch:
                return
            start = "(" + _s(entries[-1][0])


def _target(event_type: EventType) -> str:
    if event_type is EventType.RESUMED:
        return "@resume"
    target = TRANSITIONS[event_type][1]
    return target.value if isinstance(target, Stage) else ""


def _s(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
