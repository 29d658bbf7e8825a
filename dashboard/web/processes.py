"""``citygrid serve --processes N``: several web processes behind one address (issue 15).

How: the parent prepares once what must not race — the embedded Redis, the database
migrations and reference data, the session secret — then forks ``N`` children.  Each child
builds its own app (:func:`~dashboard.web.factory.create_app` + ``start``) and serves it
with waitress exactly as ``citygrid serve`` does, on its own listening socket bound to the
same address with ``SO_REUSEPORT``: the kernel hands each new connection to one of the
sockets by a hash of the connection, so connections spread evenly over the processes
(with one shared socket the process that happens to wake first takes them).  The parent
only watches: a child that dies is started again, SIGTERM/Ctrl-C stops them all.

What several processes share, and what each keeps:

* **state** — cases, stages, sessions' versions, tokens, audit: in Redis and the database,
  so every process shows the same state; the session cookie is signed with the one secret.
* **rate limits** — Flask-Limiter must count across processes: when
  ``CITYGRID_RATELIMIT_STORAGE`` is left at ``memory://``, the children count in the
  product's own Redis instead (an explicit Redis URL is kept).
* **the wall's live snapshot** — each process keeps its own (one pump per process computes
  it once per interval, however many of its viewers watch): N processes compute it N times
  per change, never once per viewer.

Each response of a child carries ``X-CityGrid-Process: <pid>`` and, once that process has
built its wall snapshot, ``X-CityGrid-Snapshot: computations=…; version=…; streams=…``
(operators and the tests see which process answered and what its pump did).
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import time
from multiprocessing.connection import wait

log = logging.getLogger("citygrid.serve")
PROCESS_HEADER = "X-CityGrid-Process"
SNAPSHOT_HEADER = "X-CityGrid-Snapshot"
#: A child that dies this soon after its start, this many times in a row, stops the server.
EARLY_DEATH_S, EARLY_DEATHS = 10.0, 3


class ServeError(Exception):
    """The processes cannot be started (one line: the port is taken, a child keeps dying …)."""


def shared_settings(settings, redis_url: str):
    """``settings`` for N processes: the resolved Redis URL (every child uses the same server,
    the embedded one included) and limits counted in Redis unless a storage was chosen."""
    changes = {"redis_url": redis_url}
    if settings.ratelimit_storage.startswith("memory://"):
        changes["ratelimit_storage"] = limiter_storage(redis_url)
    return settings.with_(**changes)


def limiter_storage(redis_url: str) -> str:
    """The ``limits`` storage URI of a redis-py URL (``unix://`` → ``redis+unix://``)."""
    if redis_url.startswith("unix://"):
        return "redis+" + redis_url
    return redis_url


def init_app(server) -> None:
    """Name the process that answered, and what its wall pump did, on every response."""
    pid = str(os.getpid())

    @server.after_request
    def _which_process(response):
        response.headers[PROCESS_HEADER] = pid
        hub = server.extensions.get("citygrid.wall_hub")
        live = getattr(hub, "_live", None) if hub is not None else None
        if live is not None and not callable(live):   # only once this process built its snapshot
            response.headers[SNAPSHOT_HEADER] = (f"computations={live.computations}; version={hub.version}; "
                                                 f"streams={hub.streams}")
        return response


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) with SO_REUSEPORT, listening: one per child."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(1024)
    return sock


def check_port(host: str, port: int) -> None:
    """ServeError when (host, port) is taken by a server that does not share it.  The probe
    is bound but never listens, so the kernel gives it no connection."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _child(settings, host: str, port: int, threads: int, wall_streams: int) -> None:
    """One web process: its own app, its own socket on the shared address, waitress."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # Ctrl-C goes to the parent, which stops us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    from dashboard.web.factory import create_app, start
    from dashboard.web.wall_push import serve

    app = start(create_app(settings))
    init_app(app.server)
    serve(app, host, port, threads=threads, wall_streams=wall_streams, sockets=[listening_socket(host, port)])


def serve_processes(settings, host: str, port: int, processes: int, threads: int = 16, wall_streams: int = 64,
                    echo=print) -> None:
    """Prepare once, fork ``processes`` web processes on (host, port) and watch them until
    SIGTERM or Ctrl-C.  ServeError (one line) when they cannot run."""
    from datasource.system import System
    from dashboard.web.factory import prepare_secret

    check_port(host, port)
    system = System(settings).start()         # embedded Redis, migrations, reference data: once
    settings = shared_settings(settings, system.redis_url)
    prepare_secret(settings)                  # the one session secret every child signs with
    system.close()
    context = multiprocessing.get_context("fork")
    children: dict[int, tuple[multiprocessing.Process, float]] = {}
    stopping = False
    early = 0

    def spawn(slot: int) -> None:
        child = context.Process(target=_child, name=f"citygrid-web-{slot}", daemon=False,
                                args=(settings, host, port, threads, wall_streams))
        child.start()
        children[slot] = (child, time.monotonic())

    def stop(*_):
        nonlocal stopping
        stopping = True

    previous = signal.signal(signal.SIGTERM, stop), signal.signal(signal.SIGINT, stop)
    try:
        for slot in range(processes):
            spawn(slot)
        echo(f"{processes} web processes (pids {', '.join(str(c.pid) for c, _ in children.values())}) "
             f"share http://{host}:{port}/; rate limits count in {settings.ratelimit_storage.split('@')[-1]}")
        while not stopping:
            ended = wait([child.sentinel for child, _ in children.values()], timeout=0.5)
            for slot, (child, started) in list(children.items()):
                if child.sentinel not in ended or stopping:
                    continue
                child.join()
                early = early + 1 if time.monotonic() - started < EARLY_DEATH_S else 0
                if early >= EARLY_DEATHS:
                    raise ServeError(f"web process {child.pid} exited with {child.exitcode} right after its start, "
                                     f"{EARLY_DEATHS} times in a row; run `citygrid serve` without --processes "
                                     f"to see why")
                log.error("web process %s exited with %s; starting another", child.pid, child.exitcode)
                spawn(slot)
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
        _stop_all([child for child, _ in children.values()])


def _stop_all(children: list, grace: float = 10.0) -> None:
    """SIGTERM every child, then SIGKILL the ones still running after ``grace`` seconds."""
    for child in children:
        if child.is_alive():
            child.terminate()
    deadline = time.monotonic() + grace
    for child in children:
        child.join(max(0.0, deadline - time.monotonic()))
        if child.is_alive():
            child.kill()
            child.join(5)
