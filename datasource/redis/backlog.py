"""How far the worker's consumer group is behind the stream — one definition for the
worker's progress bar, the API's ``/health`` and the wall's freshness banner.

Two measures, both read from Redis only:

* :func:`group_lag` — entries not yet delivered to the group plus those delivered but not
  acknowledged (the worker acknowledges after its commit), i.e. entries not yet in the
  reporting database;
* :func:`oldest_unprocessed_ms` — the publish time of the oldest such entry: the age of
  the data a page shows.  A quiet stream has none, so a quiet night is not "stale".
"""
from __future__ import annotations

import redis


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
    """Entries the group has not processed yet (undelivered + pending); None if Redis cannot
    tell (a group whose position is not on the stream's history, see XINFO GROUPS ``lag``)."""
    info = _group(client, key, group)
    if info is None:
        try:
            return int(client.xlen(key))
        except redis.ResponseError:
            return 0
    lag = info.get("lag")
    if lag is None:
        return None
    return int(lag) + int(info.get("pending") or 0)


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
