"""The case-event stream: the ONE checked way of appending events, and reading it back.

Every producer — the command API and pages, the simulator, the backfill, and (through the
inbox gateway, :mod:`datasource.services.inbox`) other systems — appends through one Lua script, so
the check of the case's current stage (and, for commands, its version) and the XADD happen
atomically: of twenty operators dispatching one case at the same moment, exactly one
succeeds.  The script keeps a small hash per case (``<stream>:case:<id>``: stage,
version, last actor/time/type, ``t0`` = report time in µs) as the command side's view; a
caller may add fields of its own to that view (department, deadline …) in the same step.

Each entry the script writes carries the marker field :data:`MARKER` (``v`` = the case's
version after the event).  The worker refuses entries without it (:func:`require_checked`):
an entry XADDed straight to the stream bypassed the check, so the command side does not
know it, and applying it would let the two sides disagree.

One script call appends a whole batch of events (of many cases) in order, each checked
against the state the previous ones left: the backfill appends 720,000 events in 72
calls.  A refused event is reported and the rest of the batch goes on.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from itertools import chain

import redis

from dashboard.domain.codes import case_id as make_case_id
from dashboard.domain.events import CaseEvent, InvalidEvent
from dashboard.domain.lifecycle import TRANSITIONS, EventType, Stage

#: The stream field only the checked append writes: the case's version after the event.
MARKER = "v"
UNCHECKED = ("not appended through the checked path (no '" + MARKER + "' marker): the command side does not "
             "know this event; other systems write to the inbox stream '<stream>:inbox' (see README)")
#: Events per script call of :meth:`EventStream.append_many`: large enough to amortise the
#: round trip, small enough that one call blocks Redis for only ~50 ms.
BATCH = 5000
#: Arguments per event in the script's ARGV (before its extra state pairs).
_PER_EVENT = 9


def _lua_table(mapping: dict[str, str]) -> str:
    return "{" + ", ".join(f"['{k}'] = '{v}'" for k, v in mapping.items()) + "}"


def _lua_sets() -> str:
    """event type → set of the stages it may be applied in ('-' = the case does not exist
    yet), as a Lua table of tables, from the domain's transition table."""
    return "{" + ", ".join(
        f"['{t.value}'] = {{" + ", ".join(f"['{'-' if s is None else s.value}'] = true" for s in sorted(
            sources, key=lambda s: "" if s is None else s.value)) + "}"
        for t, (sources, _) in TRANSITIONS.items()) + "}"


def _targets() -> dict[str, str]:
    """event type → stage it leads to ('' = unchanged, '@resume' = the stage it was suspended from)."""
    out = {}
    for t, (_, target) in TRANSITIONS.items():
        out[t.value] = "@resume" if t is EventType.RESUMED else (target.value if isinstance(target, Stage) else "")
    return out


# KEYS: [1] the stream, [1+i] the hash of event i's case, with dedupe also [1+n+i] its done-key.
# ARGV: [1] dedupe TTL in seconds (0: none), [2] n, [3] '1': reply with the refusals only, [4] the
# entry ids: '' = Redis's own ('*'), 'p N' = partition p of N: ids whose sequence number is p
# modulo N, so that no two partitions ever hold the same id (datasource/redis/partitions.py), then
# per event: event_id, case_id, type, at, actor, body, at in µs since the epoch, expected
# version ('' = any), k, then k state strings.
# Reply: per event the new entry id, or {reason, stage, version, actor, at, type} /
# {'duplicate', '<entry id> <case id>'} when refused; quiet: {index, reason, …} per refusal.
# A case's hash is read once per call and written once at the end (a batch of the backfill
# holds ~3.5 events per case): the script is atomic, so nobody sees the difference.
APPEND_LUA = """
local FROM = %s
local TO = %s
local ttl, n, quiet = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1'
local out, S, order = {}, {}, {}
local a = 5
local part, parts, lms, lseq = nil, nil, 0, 0
if ARGV[4] ~= '' then
  local sp = string.find(ARGV[4], ' ')
  part, parts = tonumber(string.sub(ARGV[4], 1, sp - 1)), tonumber(string.sub(ARGV[4], sp + 1))
  local info = redis.pcall('XINFO', 'STREAM', KEYS[1])
  if not info.err then
    for j = 1, #info, 2 do
      if info[j] == 'last-generated-id' then
        local dash = string.find(info[j + 1], '-')
        lms, lseq = tonumber(string.sub(info[j + 1], 1, dash - 1)), tonumber(string.sub(info[j + 1], dash + 1))
      end
    end
  end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if now > lms then lms, lseq = now, -1 end
end
local function next_id()
  if not part then return '*' end
  lseq = lseq + 1 + ((part - lseq - 1) %% parts)
  return string.format('%%.0f-%%.0f', lms, lseq)
end
for i = 1, n do
  local eid, cid, typ, at, actor = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local us, expect, nx = ARGV[a + 6], ARGV[a + 7], tonumber(ARGV[a + 8])
  local key = KEYS[1 + i]
  local done, prior, res = nil, nil, nil
  if ttl > 0 then
    done = KEYS[1 + n + i]
    prior = redis.call('GET', done)
  end
  if prior then
    res = {'duplicate', prior}
  else
    local st = S[key]
    if not st then
      local cur = redis.call('HMGET', key, 'stage', 'version', 't0', 'suspended_from')
      st = {stage = cur[1] or '-', version = tonumber(cur[2] or '0'), t0 = cur[3] and tonumber(cur[3]),
            sf = cur[4] or nil}
      S[key] = st
    end
    local allowed = FROM[typ]
    local why = nil
    if not allowed then why = 'type'
    elseif not allowed[st.stage] then why = 'stage'
    elseif expect ~= '' and tonumber(expect) ~= st.version then why = 'version'
    elseif st.t0 and tonumber(us) < st.t0 then why = 'early'
    end
    if why then
      if not st.dirty then
        local last = redis.call('HMGET', key, 'actor', 'at', 'type')
        st.actor, st.at, st.type = last[1] or '', last[2] or '', last[3] or ''
      end
      res = {why, st.stage, tostring(st.version), st.actor, st.at, st.type}
    else
      local nv = tostring(st.version + 1)
      local id = redis.call('XADD', KEYS[1], next_id(), 'event_id', eid, 'case_id', cid, 'type', typ, 'at', at,
                            'actor', actor, 'body', ARGV[a + 5], '%s', nv)
      local new = TO[typ]
      if new == '' then new = st.stage elseif new == '@resume' then new = st.sf or 'filed' end
      if st.stage == '-' then st.t0, st.born = tonumber(us), us end
      if new == 'suspended' then st.sf, st.sf_set = st.stage, true end
      st.stage, st.version, st.actor, st.at, st.type = new, tonumber(nv), actor, at, typ
      if not st.dirty then
        st.dirty = true
        order[#order + 1] = key
      end
      if nx > 0 then redis.call('HSET', key, unpack(ARGV, a + 9, a + 8 + nx)) end
      if done then redis.call('SET', done, id .. ' ' .. cid, 'EX', ttl) end
      if not quiet then res = id end
    end
  end
  if quiet then
    if res then
      table.insert(res, 1, i)
      out[#out + 1] = res
    end
  else
    out[i] = res
  end
  a = a + %d + nx
end
for _, key in ipairs(order) do
  local st = S[key]
  local f = {'stage', st.stage, 'version', tostring(st.version), 'actor', st.actor, 'at', st.at, 'type', st.type}
  if st.born then f[11], f[12] = 't0', st.born end
  if st.sf_set then f[#f + 1], f[#f + 2] = 'suspended_from', st.sf end
  redis.call('HSET', key, unpack(f))
end
return out
""" % (_lua_sets(), _lua_table(_targets()), MARKER, _PER_EVENT)


@dataclass(frozen=True)
class Conflict:
    """Why a checked append was refused, with the case's state on the command side.

    ``reason``: ``stage`` (the stage does not allow the event; stage None = unknown case),
    ``version`` (not the expected version), ``early`` (the event is dated before the
    case's report), ``type`` (unknown event type) or ``duplicate`` (an inbox event id
    appended before; ``last_at`` then holds "<entry id> <case id>")."""

    case_id: str
    stage: str | None
    version: int
    last_actor: str
    last_at: str
    last_type: str
    reason: str = "stage"


def micros(at: datetime) -> int:
    """An aware time as integer microseconds since the epoch (exact in a Lua double)."""
    return round(at.timestamp() * 1_000_000)


def event_args(event: CaseEvent, expect_version: int | None = None, state: dict | None = None,
               at_text: str | None = None, body_text: str | None = None) -> list:
    """The script arguments of one event (``at_text``/``body_text``: keep a producer's own text)."""
    fields = event.to_fields()
    extra = [str(item) for pair in (state or {}).items() for item in pair]
    return [event.event_id, event.case_id, event.type.value, at_text or fields["at"], event.actor,
            body_text or fields["body"], str(micros(event.at)),
            "" if expect_version is None else str(expect_version), str(len(extra)), *extra]


def require_checked(fields: dict) -> None:
    """Raise :class:`InvalidEvent` unless the entry carries the checked append's marker
    (the worker's hook: entries XADDed around the check are dead-lettered, not applied)."""
    raw = fields.get(MARKER.encode(), fields.get(MARKER))
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "replace")
    if not raw or not raw.isdigit():
        raise InvalidEvent(UNCHECKED)


def stamped(fields: dict, version: int = 0) -> dict:
    """``fields`` with the marker added WITHOUT any check.  Only for tests and benchmarks
    that feed the worker entries directly to exercise its own validation (production code
    never calls this; tests/test_inbox.py checks)."""
    return {**fields, MARKER: str(version)}


class EventStream:
    """One Redis stream of case events with its companion keys.

    ``index``/``parts``: this is partition ``index`` of ``parts`` (see
    :mod:`datasource.redis.partitions`); None for the single stream of the default layout."""

    def __init__(self, client, key: str, index: int | None = None, parts: int = 1):
        self.client, self.key, self.prefix = client, key, key + ":"
        self.index, self.parts = index, parts
        self._ids = f"{index} {parts}" if index is not None and parts > 1 else ""
        self._script = client.register_script(APPEND_LUA)

    def partitions(self) -> list["EventStream"]:
        """The streams a worker or a rebuild reads: just this one."""
        return [self]

    def part(self, case_id: str) -> "EventStream":
        """The stream that holds ``case_id``'s events: this one."""
        return self

    def slot_key(self, suffix: str) -> str:
        """A key beside the stream, in its cluster slot (a script may touch it with the stream)."""
        return self.prefix + suffix

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
        return self.append_args([event.case_id], event_args(event, expect_version, state))[0]

    def append_many(self, events: list[CaseEvent]) -> list[str | Conflict]:
        """Append events in order (any cases), each checked; per event the entry id or a Conflict."""
        out: list = []
        for i in range(0, len(events), BATCH):
            chunk = events[i:i + BATCH]
            out.extend(self.append_args([e.case_id for e in chunk], list(chain.from_iterable(
                event_args(e) for e in chunk))))
        return out

    def append_args(self, case_ids: list[str], args: list, dedupe: list[str] | None = None,
                    ttl: int = 0) -> list[str | Conflict]:
        """One script call for prepared :func:`event_args` (``case_ids`` in the same order).

        With ``dedupe`` (one key per event) and ``ttl`` > 0, an event whose key exists is
        not appended again (``Conflict.reason == 'duplicate'``); the key is set with the
        new entry id for ``ttl`` seconds."""
        keys = [self.key, *(self.case_key(c) for c in case_ids), *(dedupe or ())]
        reply = self._script(keys=keys, args=[str(ttl if dedupe else 0), str(len(case_ids)), "0", self._ids, *args])
        return [self.outcome(case, item) for case, item in zip(case_ids, reply)]

    @staticmethod
    def outcome(case_id: str, item) -> str | Conflict:
        """One element of the script's reply as an entry id or a :class:`Conflict`."""
        if not isinstance(item, list):
            return _s(item)
        reason = _s(item[0])
        if reason == "duplicate":
            return Conflict(case_id, None, 0, "", _s(item[1]), "", reason)
        stage = _s(item[1])
        return Conflict(case_id, None if stage == "-" else stage, int(_s(item[2])),
                        _s(item[3]), _s(item[4]), _s(item[5]), reason)

    @property
    def id_spec(self) -> str:
        """The script's ARGV[4] for this stream (how it makes entry ids)."""
        return self._ids

    def append_raw(self, fields: dict, pipe=None) -> None:
        """XADD ``fields`` as they are, around the check — what an outside system writing to
        the stream directly does; the worker dead-letters such entries (tests use this)."""
        (pipe or self.client).xadd(self.key, fields)

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


def _s(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
