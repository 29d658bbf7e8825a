"""The partitioned case stream (issue 15): N streams instead of one, each in its own cluster slot.

With ``CITYGRID_STREAM_PARTITIONS=N`` (N > 1) or on a Redis Cluster the case events of
stream ``S`` (default ``citygrid:events``) live in N streams ``S:{p00}`` … ``S:{pNN}``.  The
braces are a Redis Cluster *hash tag*: every key of a partition — its stream, the per-case
hashes ``S:{p07}:case:<id>`` and the inbox's once-only keys ``S:{p07}:inbox:done:<event id>``
— hashes to the same slot, so the checked append (one Lua script: check, XADD, update the
case's hash) still runs on one node.

The partition of a case is a function of its **case id** (CRC-32 of the id, modulo N):
every producer and every command knows the id (it is in the URL, the inbox entry, the
simulator's model), while the district or grid is known only to the report and would need
a lookup before every later command.  All events of a case therefore go to one stream, in
the order the script accepted them — the only order the projection depends on.

Entry ids: in partition p of N the script makes ids ``<ms>-<seq>`` with ``seq ≡ p (mod N)``,
so no two partitions ever hold the same id and the reporting database's ``stream_id``
columns stay unique.

The single stream ``S`` of the default layout (one partition, no cluster) is unchanged:
:func:`open_stream` returns a plain :class:`EventStream` for it.
"""
from __future__ import annotations

import zlib
from collections import defaultdict
from datetime import date
from heapq import merge

from dashboard.domain.codes import case_id as make_case_id
from dashboard.domain.events import CaseEvent
from datasource.redis.stream import BATCH, _PER_EVENT, Conflict, EventStream, event_args

#: The most partitions a stream may have (the hash tags are ``{p00}`` … ``{p1023}``).
MAX_PARTITIONS = 1024


def partition_of(case_id: str, parts: int) -> int:
    """The partition of ``case_id`` among ``parts`` (stable across processes and versions)."""
    return zlib.crc32(case_id.encode("utf-8")) % parts if parts > 1 else 0


def partition_key(base: str, index: int) -> str:
    """The stream key of partition ``index``: ``base:{p07}`` (the braces are the hash tag)."""
    return f"{base}:{{p{index:02d}}}"


def open_stream(client, base: str, parts: int = 1, cluster: bool = False):
    """The case stream of a system: the single stream ``base`` (one partition, no cluster),
    else a :class:`PartitionedStream` (a cluster needs the hash tags even for one)."""
    if parts == 1 and not cluster:
        return EventStream(client, base)
    return PartitionedStream(client, base, parts, cluster)


def is_partitioned(stream) -> bool:
    """Whether ``stream`` is a :class:`PartitionedStream` (not the single stream)."""
    return isinstance(stream, PartitionedStream)


def split_args(args: list) -> list[list]:
    """Prepared :func:`event_args` of several events, one list per event."""
    out, i = [], 0
    while i < len(args):
        extra = int(args[i + _PER_EVENT - 1])
        out.append(args[i:i + _PER_EVENT + extra])
        i += _PER_EVENT + extra
    return out


class PartitionedStream:
    """N :class:`EventStream` partitions behind the interface of one (see the module text)."""

    def __init__(self, client, base: str, parts: int, cluster: bool = False):
        if not 1 <= parts <= MAX_PARTITIONS:
            raise ValueError(f"stream partitions must be 1…{MAX_PARTITIONS}, not {parts}")
        self.client, self.key, self.prefix, self.cluster = client, base, base + ":", cluster
        self.parts = [EventStream(client, partition_key(base, i), i, parts) for i in range(parts)]

    def partitions(self) -> list[EventStream]:
        return list(self.parts)

    def part(self, case_id: str) -> EventStream:
        return self.parts[partition_of(case_id, len(self.parts))]

    def case_key(self, case_id: str) -> str:
        return self.part(case_id).case_key(case_id)

    def case_state(self, case_id: str) -> dict:
        return self.part(case_id).case_state(case_id)

    def next_case_id(self, day: date) -> str:
        """A new case id for ``day`` from the per-day counter (one key for all partitions)."""
        return make_case_id(day, self.client.incr(f"{self.prefix}seq:{day:%Y%m%d}"))

    def append(self, event: CaseEvent, expect_version: int | None = None,
               state: dict[str, str] | None = None) -> str | Conflict:
        return self.part(event.case_id).append(event, expect_version, state)

    def append_many(self, events: list[CaseEvent]) -> list[str | Conflict]:
        return self.append_args([e.case_id for e in events], [a for e in events for a in event_args(e)])

    def append_args(self, case_ids: list[str], args: list, dedupe: list[str] | None = None,
                    ttl: int = 0) -> list[str | Conflict]:
        """The batch split per partition, one script call per partition (and per :data:`BATCH`
        events); the outcomes in the order of ``case_ids``."""
        per_event = split_args(args)
        groups: dict[int, list[int]] = defaultdict(list)
        for i, case_id in enumerate(case_ids):
            groups[partition_of(case_id, len(self.parts))].append(i)
        out: list = [None] * len(case_ids)
        for index, members in groups.items():
            for start in range(0, len(members), BATCH):
                chunk = members[start:start + BATCH]
                outcomes = self.parts[index].append_args(
                    [case_ids[i] for i in chunk], [a for i in chunk for a in per_event[i]],
                    [dedupe[i] for i in chunk] if dedupe else None, ttl)
                for i, outcome in zip(chunk, outcomes):
                    out[i] = outcome
        return out

    outcome = staticmethod(EventStream.outcome)

    def slot_key(self, suffix: str) -> str:
        """Keys beside the partitions that no script touches (serials, requests) need no slot."""
        return self.prefix + suffix

    def length(self) -> int:
        return sum(p.length() for p in self.parts)

    def read_all(self, batch: int = 5000):
        """Yield lists of (entry id, fields) over all partitions, merged in entry-id order
        (one valid interleaving; a rebuild reads partition by partition instead)."""
        def entries(part):
            for page in part.read_all(batch):
                yield from page
        page: list = []
        for entry in merge(*(entries(p) for p in self.parts), key=lambda e: _id_key(e[0])):
            page.append(entry)
            if len(page) >= batch:
                yield page
                page = []
        if page:
            yield page


def _id_key(entry_id) -> tuple[int, int]:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)
