"""Source id → case id: the import key table, kept in Redis beside the stream.

An imported case gets an ordinary case id (``DC`` + the local day it was opened + the day's
next serial, from the same per-day counter as native cases), and the hash
``<stream>:import:<source>`` remembers which source id it came from.  The id is recorded
*before* the case's events are appended, so an import that dies half way and is run again
gives every row the same case id; the checked append then refuses a second ``reported`` of a
case that exists (its stage is no longer "none"), and the importer, knowing the case's stage
from its command-side hash, sends only what the export adds (a case open in the first
export and closed in a later one gets its handled → verified → closed; the same file again
gets nothing).

The table lives beside the stream, not in the reporting database, for the same reason as
the case hashes and the daily serials: it is the command side's memory, and ``citygrid
rebuild`` must be able to throw the database away.  Each ``reported`` event also carries
``ref`` = ``<source>:<source id>``, so the link is in the stream itself as well.
"""
from __future__ import annotations

from collections import Counter
from datetime import date

from dashboard.domain.codes import case_id as make_case_id

# Many fields of one hash in one call: HSETNX each (KEYS[1]; ARGV field, value, …) → 1/0 per
# field; HGET each field of a hash per key (KEYS the hashes; ARGV[1] the field) → values.
_SETNX = """
local out = {}
for i = 1, #ARGV, 2 do out[#out + 1] = redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end
return out
"""
_FIELD = """
local out = {}
for i = 1, #KEYS do out[i] = redis.call('HGET', KEYS[i], ARGV[1]) or '' end
return out
"""


def map_key(stream, source: str) -> str:
    return f"{stream.prefix}import:{source}"


def known(stream, source: str, ids: list[str]) -> list[str | None]:
    """The case id of each source id imported before (None: new)."""
    if not ids:
        return []
    found = stream.client.hmget(map_key(stream, source), ids)
    return [v.decode() if isinstance(v, bytes) else v for v in found]


def allocate(stream, source: str, ids: list[str], days: list[date]) -> list[str]:
    """New case ids for new source ids (opened on local ``days``), recorded in the table.

    Serials come from the per-day counters every producer uses (``<stream>:seq:<day>``).  If
    another import recorded one of the ids meanwhile, its case id wins (the serial taken
    here stays unused)."""
    if not ids:
        return []
    client, key = stream.client, map_key(stream, source)
    need = Counter(days)
    pipe = client.pipeline(transaction=False)
    for day, n in need.items():
        pipe.incrby(f"{stream.prefix}seq:{day:%Y%m%d}", n)
    tops = dict(zip(need, pipe.execute()))
    next_serial = {day: top - need[day] + 1 for day, top in tops.items()}
    out = []
    for day in days:
        out.append(make_case_id(day, next_serial[day]))   # ValueError past 999,999 cases a day
        next_serial[day] += 1
    taken = client.register_script(_SETNX)(keys=[key], args=[v for pair in zip(ids, out) for v in pair])
    lost = [i for i, ok in enumerate(taken) if not ok]
    if lost:
        winners = known(stream, source, [ids[i] for i in lost])
        for i, case in zip(lost, winners):
            out[i] = case
    return out


def stages(stream, case_ids: list[str]) -> list[str | None]:
    """The command-side stage of each case (None: no event appended yet)."""
    if not case_ids:
        return []
    found = stream.client.register_script(_FIELD)(keys=[stream.case_key(c) for c in case_ids], args=["stage"])
    return [(v.decode() if isinstance(v, bytes) else v) or None for v in found]

