"""``citygrid serve --processes 2`` (issue 15, item 4): two web processes behind one port.

A real subprocess serves with two processes.  Connections land on both (each answer names
its process in ``X-CityGrid-Process``); a case reported through one process is read through
the other; the wall stream works in both, and each process computes its wall snapshot once
per version however many of its viewers watch; the log-in limit counts the attempts made
through both processes together (in Redis), not per process.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid

import psutil
import pytest

from dashboard.settings import Settings
from datasource.services import accounts
from datasource.system import System
from tests.helpers import LAT, LON, wait_until
from tests.test_wall_serve import free_port

PROCESSES = 2


class Served:
    def __init__(self, port: int, process: subprocess.Popen, system: System, tokens: dict):
        self.port, self.process, self.system, self.tokens = port, process, system, tokens

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)

    def pinned(self, each: int = 1) -> dict[str, list[http.client.HTTPConnection]]:
        """Keep-alive connections, ``each`` per web process (pid → connections): new ones are
        opened until every process has answered on ``each`` of them."""
        found: dict[str, list] = {}
        for _ in range(200):
            conn = self.connection()
            conn.request("GET", "/api/v1/health")
            answer = conn.getresponse()
            answer.read()
            pid = answer.getheader("X-CityGrid-Process")
            if len(found.setdefault(pid, [])) < each:
                found[pid].append(conn)
            else:
                conn.close()
            if len(found) == PROCESSES and all(len(c) == each for c in found.values()):
                return found
        raise AssertionError(f"200 connections reached only {sorted(found)}")


@pytest.fixture(scope="module")
def served(tmp_path_factory, redis_server_url):
    folder = tmp_path_factory.mktemp("processes")
    stream = f"test:{uuid.uuid4().hex[:10]}:events"
    db = f"sqlite:///{folder / 'serve.db'}"
    settings = Settings(data_dir=folder, redis_url=redis_server_url, stream=stream, database_url=db,
                        components_autoload=False)
    system = System(settings).start()
    accounts.add_user(system.engine, "wall1", "wall")
    accounts.add_user(system.engine, "sup1", "supervision")
    tokens = {"wall": accounts.create_token(system.engine, "wall1"),
              "supervision": accounts.create_token(system.engine, "sup1")}
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYGRID_")}
    env.update(CITYGRID_DATA_DIR=str(folder), CITYGRID_REDIS_URL=redis_server_url, CITYGRID_STREAM=stream,
               CITYGRID_DATABASE_URL=db, CITYGRID_COMPONENTS_AUTOLOAD="false", CITYGRID_LOGIN_RATE_LIMIT="4/minute")
    process = subprocess.Popen([sys.executable, "-m", "dashboard.cli.commands", "serve", "--port", str(port),
                                "--processes", str(PROCESSES), "--threads", "4", "--wall-streams", "8"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def up() -> bool:
            assert process.poll() is None, process.stdout.read()[-3000:]
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/api/v1/health")
                return conn.getresponse().status in (200, 503)
            except OSError:
                return False
        wait_until(up, timeout=120, message="citygrid serve --processes 2 to answer")
        yield Served(port, process, system, tokens)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        system.close()
        import redis
        client = redis.Redis.from_url(redis_server_url)
        for key in client.scan_iter(match=stream + "*", count=1000):
            client.delete(key)


def test_connections_land_on_both_processes_which_are_children_of_serve(served):
    pids = set()
    for _ in range(30):
        conn = served.connection()
        conn.request("GET", "/api/v1/health")
        answer = conn.getresponse()
        assert answer.status == 200, answer.read()
        answer.read()
        pids.add(int(answer.getheader("X-CityGrid-Process")))
        conn.close()
    children = {child.pid for child in psutil.Process(served.process.pid).children()}
    assert len(pids) == PROCESSES and pids <= children, (pids, children)


def test_a_case_reported_through_one_process_is_read_through_the_other(served):
    first, second = served.pinned().values()
    auth = {"Authorization": f"Bearer {served.tokens['supervision']}", "Content-Type": "application/json"}
    body = json.dumps({"category": "E0102", "lon": LON, "lat": LAT, "description": "两个进程"})
    first[0].request("POST", "/api/v1/cases", body=body, headers=auth)
    answer = first[0].getresponse()
    case_id = json.loads(answer.read())["case_id"]
    assert answer.status == 201, case_id
    served.system.worker().drain()
    second[0].request("GET", f"/api/v1/cases/{case_id}", headers=auth)
    read = second[0].getresponse()
    case = json.loads(read.read())
    assert read.status == 200 and read.getheader("X-CityGrid-Process") != answer.getheader("X-CityGrid-Process")
    assert case["case_id"] == case_id and case["description"] == "两个进程"


def _open_wall(conn: http.client.HTTPConnection, token: str) -> http.client.HTTPResponse:
    conn.request("GET", f"/wall?token={token}")
    answer = conn.getresponse()
    cookie = answer.getheader("Set-Cookie").split(";", 1)[0]
    answer.read()
    conn.request("GET", "/wall/stream", headers={"Cookie": cookie})
    return conn.getresponse()


def _snapshot(conn) -> dict[str, int]:
    conn.request("GET", "/api/v1/health")
    answer = conn.getresponse()
    answer.read()
    header = answer.getheader("X-CityGrid-Snapshot") or ""
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", header)}


def test_walls_stream_from_both_and_each_process_computes_once_per_version(served):
    viewers = 3
    walls = served.pinned(each=viewers)
    probes = served.pinned(each=1)
    streams = []
    try:
        for pid, conns in walls.items():
            for conn in conns:
                answer = _open_wall(conn, served.tokens["wall"])
                assert answer.status == 200 and answer.getheader("X-CityGrid-Process") == pid
                assert answer.getheader("Content-Type").startswith("text/event-stream")
                assert answer.readline().startswith(b"retry:")
                streams.append(answer)
        for answer in streams:   # every viewer gets the whole state first
            line = b""
            while not line.startswith(b"data:"):
                line = answer.readline()
            assert json.loads(line[5:])["v"] >= 1
        before = {pid: _snapshot(conns[0]) for pid, conns in probes.items()}
        wait_until(lambda: all(_snapshot(conns[0])["version"] >= before[pid]["version"] + 8
                               for pid, conns in probes.items()), timeout=30, message="eight new versions")
        for pid, conns in probes.items():
            after = _snapshot(conns[0])
            versions = after["version"] - before[pid]["version"]
            computed = after["computations"] - before[pid]["computations"]
            assert after["streams"] == viewers, after
            # once per version for all three viewers, not three times (a probe may land between)
            assert computed <= versions + 2, (pid, versions, computed)
            print(f"process {pid}: {viewers} viewers, {versions} versions, {computed} snapshot computations")
    finally:
        for conns in list(walls.values()) + list(probes.values()):
            for conn in conns:
                conn.close()


def test_the_login_limit_counts_across_both_processes(served):
    conns = [c[0] for c in served.pinned().values()]
    name = f"guess-{uuid.uuid4().hex[:6]}"
    statuses, pids = [], []
    for attempt in range(6):   # alternately through each process: 3 each, limit 4 in all
        conn = conns[attempt % 2]
        conn.request("POST", "/login", body=f"name={name}&password=wrong{attempt}&next=/",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        answer = conn.getresponse()
        answer.read()
        statuses.append(answer.status)
        pids.append(answer.getheader("X-CityGrid-Process"))
    assert len(set(pids)) == 2
    assert [s == 429 for s in statuses] == [False] * 4 + [True] * 2, statuses
