"""Batches of checked appends sent as packed EVALSHA commands, one batch in flight.

The fast path of every bulk producer (the backfill, the importer): the caller builds the
next batch of :func:`datasource.redis.stream.event_args`-style arguments in Python while
Redis runs the checked append (:data:`datasource.redis.stream.APPEND_LUA`) on the previous
one.  The script runs in its quiet mode: the reply lists only the refused events.
"""
from __future__ import annotations

try:
    import hiredis
except ImportError:  # pragma: no cover - hiredis is a declared dependency
    hiredis = None

from datasource.redis.stream import APPEND_LUA, EventStream


class ScriptPipe:
    """Batches of checked appends sent as packed EVALSHA commands, one batch in flight: the
    next batch is built in Python while Redis runs the script on the previous one.

    ``chunk`` items are tuples whose second and third elements are the event's case id and
    type (the backfill's ``(sort key, case, type, actor, body)``); a refusal is reported as
    ``(case, type, Conflict)``.

    With hiredis the command (~100,000 arguments) is packed in C, several times faster than
    redis-py's encoder; without it each batch is one ordinary script call."""

    def __init__(self, stream):
        self.stream, self.client = stream, stream.client
        # Packed commands need one stream on one plain server; partitions (and a cluster) go
        # through the stream's own append_args, split per partition.
        fast = hiredis and isinstance(stream, EventStream) and hasattr(self.client, "connection_pool")
        self.sha = self.client.script_load(APPEND_LUA).encode() if fast else None
        self.connection, self.waiting = None, None

    def send(self, chunk: list, keys: list, args: list) -> list[tuple]:
        """Send one batch; the refusals of the batch sent before it."""
        if self.sha is None:
            outcomes = self.stream.append_args([item[1] for item in chunk], args)
            return [(item[1], item[2], o) for item, o in zip(chunk, outcomes) if not isinstance(o, str)]
        if self.connection is None:
            self.connection = self.client.connection_pool.get_connection()
        try:
            # No health check (a PING) while a reply is in flight: the PING would read the
            # script's reply as its own (the importer can take longer than the check interval
            # between two batches).
            self.connection.send_packed_command(
                [hiredis.pack_command((b"EVALSHA", self.sha, len(keys) + 1, self.stream.key, *keys,
                                       b"0", len(chunk), b"1", self.stream.id_spec, *args))], check_health=self.waiting is None)
        except BaseException:
            self._release(broken=True)
            raise
        refused = self.flush(keep=True)
        self.waiting = chunk
        return refused

    def flush(self, keep: bool = False) -> list[tuple]:
        """Read the reply of the batch in flight; its refusals."""
        refused = []
        if self.waiting is not None:
            chunk, self.waiting = self.waiting, None
            try:
                reply = self.connection.read_response()
            except BaseException:
                self._release(broken=True)   # unread replies would poison the next user
                raise
            refused = self._refusals(chunk, reply)
        if not keep:
            self._release()
        return refused

    def _refusals(self, chunk: list, reply: list) -> list[tuple]:
        """(case, type, Conflict) per refused event of ``chunk`` (the quiet reply lists only
        those, each led by its 1-based index)."""
        out = []
        for index, *item in reply:
            _, case, kind, *_ = chunk[int(index) - 1]
            out.append((case, kind, self.stream.outcome(case, item)))
        return out

    def _release(self, broken: bool = False) -> None:
        if self.connection is not None:
            if broken:
                self.connection.disconnect()
            self.client.connection_pool.release(self.connection)
            self.connection = None


__all__ = ["ScriptPipe"]
