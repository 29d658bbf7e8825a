"""``citygrid serve`` on waitress (issue 12/13): walls' streams do not starve the work pages.

A real subprocess serves with a small pool (``--threads 2 --wall-streams 4``); six walls open
their streams: four are served, the others get a one-line 503 (their browser retries), and
the log-in page still answers at once because the pages keep their own two threads.
"""
from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time

from datasource.services import accounts
from dashboard.settings import Settings
from datasource.system import System
from tests.helpers import wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def open_stream(port: int, token: str) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    """A wall: log in with its token (session cookie), then open its event stream."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)   # a loaded machine: a bound, not a pace
    conn.request("GET", f"/wall?token={token}")
    answer = conn.getresponse()
    cookie = answer.getheader("Set-Cookie").split(";", 1)[0]
    answer.read()
    conn.request("GET", "/wall/stream", headers={"Cookie": cookie})
    return conn, conn.getresponse()


def test_serve_keeps_threads_for_pages_while_walls_stream(tmp_path, stream_key, redis_server_url):
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    settings = Settings(data_dir=tmp_path, redis_url=redis_server_url, stream=stream_key, database_url=db)
    system = System(settings).start()
    accounts.add_user(system.engine, "wall1", "wall")
    token = accounts.create_token(system.engine, "wall1")
    system.close()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYGRID_")}
    env.update(CITYGRID_DATA_DIR=str(tmp_path), CITYGRID_REDIS_URL=redis_server_url, CITYGRID_STREAM=stream_key,
               CITYGRID_DATABASE_URL=db)
    process = subprocess.Popen([sys.executable, "-m", "dashboard.cli.commands", "serve", "--port", str(port),
                                "--threads", "2", "--wall-streams", "4"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    walls = []
    try:
        def up() -> bool:
            assert process.poll() is None, process.stdout.read()[-2000:]
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return True
            except OSError:
                return False
        wait_until(up, timeout=60, message="citygrid serve to listen")
        walls = [open_stream(port, token) for _ in range(6)]
        statuses = sorted(answer.status for _, answer in walls)
        assert statuses == [200, 200, 200, 200, 503, 503]
        for _, answer in walls:
            if answer.status == 200:   # each served stream delivers its first event
                assert answer.getheader("Content-Type").startswith("text/event-stream")
                assert answer.readline().startswith(b"retry:")
            else:
                assert answer.read().count(b"\n") == 1
        started = time.perf_counter()
        page = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        page.request("GET", "/login")
        assert page.getresponse().status == 200
        assert time.perf_counter() - started < 2.0     # not queued behind the streams
    finally:
        for conn, _ in walls:
            conn.close()
        process.terminate()
        process.wait(20)
