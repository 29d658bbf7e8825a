"""``GET /wall/stream``: the wall's live deltas as server-sent events (issue 13).

Why server-sent events on the Flask server (and not Dash 4's WebSocket callbacks on FastAPI):
they are plain HTTP GETs, so the session cookie, the wall's display token and the roles work
exactly as for every other request; the browser's ``EventSource`` reconnects by itself and
sends back the id of the last event it received (``Last-Event-ID``), which is all "resume
from the last version" needs; and waitress streams them without another server.

One event per new snapshot version that holds something for this viewer (``data:`` is
:meth:`~datasource.services.wall.LiveSnapshot.payload`'s JSON, the same the polling wall got),
a heartbeat (the header: version, server time, health) every ``heartbeat`` seconds otherwise,
and ``id: <epoch>:<version>`` on each: after a reconnect a viewer within the snapshot's
history gets only what it missed, anyone else — older, or from before a server restart (another
epoch) — the whole state once.  A stream ends after ``lifetime`` seconds and the browser comes
back at once with its id (this bounds a stream's thread and rebalances after a restart).

Compressed (issue 15: a city wall at 1,000 events/s received 136 KB/s): when the browser accepts
gzip (every browser's ``EventSource`` does), the stream is one gzip member written by one
compressor per stream — so the dictionary carries across events and a delta that repeats the
keys, ids and texts of the previous ones costs a fraction of its JSON — with a sync flush after
each event, so every event (heartbeats too) leaves at once and is readable as soon as it arrives;
the member is finished when the stream ends (``ended``, :data:`LIFETIME`, hub stopped).
Flask-Compress leaves the stream alone (``text/event-stream`` is not among its types, and it
never touches a response that has a ``Content-Encoding``) — it would buffer it.

Access: the ``/wall`` page's roles; a user scoped to a street or community always gets their
scope; ``?scope=`` (a playlist's street view) may narrow it, never widen it — checked here.
"""
from __future__ import annotations

import json
import secrets
import time
import zlib

from flask import Response, request, session
from flask_login import current_user

from dashboard.domain.permissions import PAGE_ROLES, may_open
from dashboard.domain.scope import ScopeError, covers_code, validate
from dashboard.web.sessions import WALL_STREAM, ended_body, stream_verdict
from datasource.services.wall_hub import WallHub

PATH = WALL_STREAM
RETRY_MS = 1500          # how soon a browser reconnects after the stream broke
HEARTBEAT = 2.0          # seconds between two events at most (the browser's "server reachable")
LIFETIME = 300.0         # seconds a stream lasts before the browser resumes on a fresh one
TOKEN_CHECK = 5.0        # seconds between two checks that the stream's session still holds
GZIP_LEVEL = 6           # zlib's default (one compressor per stream: its dictionary spans the events)


def init_app(server, services, max_streams: int = 64) -> WallHub:
    """Add the route; the hub hangs off ``server.extensions["citygrid.wall_hub"]``."""
    settings = services.settings
    hub = WallHub(lambda: services.live, interval=min(0.25, settings.tick_ms / 4000.0), heartbeat=HEARTBEAT,
                  max_streams=max_streams)
    server.extensions["citygrid.wall_hub"] = hub
    epoch = secrets.token_hex(4)   # versions restart with the process: an id of another epoch is stale
    scenario = services.scenario

    def plain(status: int, text: str) -> Response:
        return Response(text + "\n", status=status, mimetype="text/plain")

    @server.route(PATH)
    def wall_stream():
        role = current_user.role if getattr(current_user, "is_authenticated", False) else None
        if not may_open(role, PAGE_ROLES["/wall"]):
            return plain(403 if role else 401, "the wall stream needs a wall, centre or admin log-in")
        mine = getattr(current_user, "scope", None)
        try:
            asked = validate(request.args.get("scope"), scenario.streets, scenario.communities)
        except ScopeError as exc:
            return plain(400, str(exc))
        if asked and mine and not covers_code(mine, asked):
            return plain(403, f"scope {asked} lies outside your area {mine}")
        scope = asked or mine
        since = _since(request.headers.get("Last-Event-ID") or request.args.get("last"), epoch)
        if not hub.open():
            return plain(503, "too many wall streams open; the wall retries")
        token_id, engine = session.get("tok"), services.system.engine
        user_id, version = current_user.id, session.get("sv")

        def refused():   # the session's end, told to the page (revoked token, log-out elsewhere …)
            why = stream_verdict(engine, user_id, version, token_id)
            return json.dumps(ended_body(why, token_id is not None)) if why else None
        events = _events(hub, hub.live, scope, since, epoch, refused)
        gzip = request.accept_encodings.quality("gzip") > 0
        response = Response(gzipped(events) if gzip else events, mimetype="text/event-stream")
        if gzip:
            response.headers["Content-Encoding"] = "gzip"
        response.headers["Vary"] = "Accept-Encoding"
        response.headers["Cache-Control"] = "no-cache, no-store"
        response.headers["X-Accel-Buffering"] = "no"   # a reverse proxy must not hold events back
        return response

    return hub


def _since(last: str | None, epoch: str) -> int | None:
    """The version a reconnecting browser holds (None: another epoch, nothing or nonsense)."""
    if not last or ":" not in last:
        return None
    theirs, _, version = last.partition(":")
    return int(version) if theirs == epoch and version.isdigit() and len(version) < 12 else None


def _events(hub: WallHub, live, scope: str | None, since: int | None, epoch: str, refused=lambda: None):
    """The event stream of one viewer (runs in the waitress thread serving it).  ``refused()``
    (the display token's revocation, expiry or its user's deactivation) is asked every
    :data:`TOKEN_CHECK` seconds: an answer (the JSON of :func:`dashboard.web.sessions.ended_body`)
    ends the stream with an ``ended`` event that the page follows (log-in, reload, or
    ``/session-ended``)."""
    try:
        yield f"retry: {RETRY_MS}\n\n"
        cursor, flags, last_sent = since, None, 0.0
        end = time.monotonic() + LIFETIME
        checked = time.monotonic()
        while time.monotonic() < end:
            if time.monotonic() - checked >= TOKEN_CHECK:
                checked, why = time.monotonic(), refused()
                if why:
                    yield f"event: ended\ndata: {why}\n\n"
                    break
            payload, data = live.encoded(cursor, scope)
            now = time.monotonic()
            health = payload["h"][1:4]
            if len(payload) > 3 or health != flags or now - last_sent >= HEARTBEAT:
                yield f"id: {epoch}:{payload['v']}\ndata: {data}\n\n"
                flags, last_sent = health, now
            cursor = payload["v"]
            if hub.wait(cursor, max(0.05, HEARTBEAT - (time.monotonic() - last_sent))) < 0:
                break
    finally:
        hub.close()


def gzipped(events):
    """``events`` (an iterator of text) as one gzip member, each piece flushed on its own
    (``Z_SYNC_FLUSH``: whole bytes a decompressor can read at once, the dictionary kept for the
    next); the member's end when ``events`` ends.  Closing this generator closes ``events``
    (a browser gone: its stream is counted out of the hub)."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    try:
        for text in events:
            yield compressor.compress(text.encode()) + compressor.flush(zlib.Z_SYNC_FLUSH)
        yield compressor.flush()
    finally:
        events.close()


def serve(app, host: str, port: int, threads: int = 16, wall_streams: int = 64, **options) -> None:
    """Serve ``app`` with waitress, sized for the walls' long-lived streams.

    Each open stream holds one waitress thread for as long as the wall is on; a pool of
    ``threads`` alone would let 50 walls take every thread and starve the work pages.  So the
    pool is ``threads`` (pages, API, Dash callbacks) **plus** ``wall_streams``, and the hub
    refuses a stream beyond ``wall_streams`` (503: the browser retries) — the work pages always
    keep their ``threads``.  Connections are allowed for both, with room for keep-alives."""
    from waitress import serve as waitress_serve

    hub = app.server.extensions.get("citygrid.wall_hub")
    if hub is not None:
        hub.max_streams = wall_streams
    # ``sockets=[…]``: already bound listening sockets (several processes, one address) instead of host/port
    where = {"sockets": options.pop("sockets")} if options.get("sockets") else {"host": host, "port": port}
    try:
        waitress_serve(app.server, threads=threads + wall_streams,
                       connection_limit=threads + wall_streams + 100, ident="citygrid", **where, **options)
    finally:
        if hub is not None:
            hub.stop()
