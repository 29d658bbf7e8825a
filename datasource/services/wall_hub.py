"""The wall's push hub: one computation per change, woken streams for every viewer.

Why: polling made every wall ask once a second whatever happened (a Dash callback request
per viewer per tick), and a new case waited for the next poll.  With push, one *pump* thread
computes the shared :class:`~datasource.services.wall.LiveSnapshot` every ``interval``
seconds (a quarter of the wall tick by default), and only while somebody watches.  Each
open stream (``/wall/stream``, :mod:`dashboard.web.wall_push`) sleeps on a condition and
wakes once per new version, takes the memoised delta for its cursor (the same object for
every viewer at that cursor and scope) and sends it only when it holds something — or a
heartbeat every ``heartbeat`` seconds so the browser can tell a quiet district from a dead
server.

The hub also bounds how many streams may be open at once (``max_streams``): each stream
holds one server thread, and the web server is sized for that many plus the work pages
(see ``citygrid serve --wall-streams``).
"""
from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("citygrid.push")


class WallHub:
    """Shared pump and wake-up for the wall's server-sent-event streams (thread-safe)."""

    def __init__(self, live, interval: float = 0.25, heartbeat: float = 2.0, max_streams: int = 64,
                 idle_seconds: float = 30.0):
        """``live``: the LiveSnapshot, or a function returning it (built on first use: the app's
        factory connects nothing)."""
        self._live, self.interval, self.heartbeat = live, interval, heartbeat
        self.max_streams, self.idle_seconds = max_streams, idle_seconds
        self.streams = 0
        self.version = 0
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False

    @property
    def live(self):
        if callable(self._live):
            self._live = self._live()
        return self._live

    # -- streams -------------------------------------------------------------------------------
    def open(self) -> bool:
        """Count a new stream in (False when ``max_streams`` are open: the caller answers 503)."""
        with self._changed:
            if self.streams >= self.max_streams or self._stopped:
                return False
            self.streams += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._pump, name="wall-pump", daemon=True)
                self._thread.start()
            return True

    def close(self) -> None:
        with self._changed:
            self.streams = max(0, self.streams - 1)

    def wait(self, after: int, timeout: float) -> int:
        """Block until a version newer than ``after`` exists (or ``timeout`` s); the newest
        version, or -1 once the hub is stopped (the stream ends)."""
        with self._changed:
            self._changed.wait_for(lambda: self.version > after or self._stopped, timeout)
            return -1 if self._stopped else self.version

    def stop(self) -> None:
        """Wake every stream and stop the pump (server shutdown, tests)."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()

    # -- the pump ------------------------------------------------------------------------------
    def _pump(self) -> None:
        """Compute a version every ``interval`` while streams are open; stop after
        ``idle_seconds`` without any (the next stream starts it again)."""
        idle_since = None
        while not self._stopped:
            started = time.monotonic()
            if self.streams == 0:
                idle_since = idle_since or started
                if started - idle_since >= self.idle_seconds:
                    with self._changed:
                        if self.streams == 0:
                            self._thread = None
                            return
            else:
                idle_since = None
            try:
                tick = self.live.refresh()
            except Exception:  # noqa: BLE001 - a failed computation must not end the pump
                log.exception("wall snapshot computation failed")
                tick = None
            if tick is not None and tick.version != self.version:
                with self._changed:
                    self.version = tick.version
                    self._changed.notify_all()
            time.sleep(max(0.0, self.interval - (time.monotonic() - started)))
