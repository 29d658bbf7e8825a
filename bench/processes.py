"""Benchmark: several web processes (``citygrid serve --processes 2``) — how evenly connections
spread, and how many wall snapshots each process computes per second with 1 and with 8
viewers on it (issue 15 item 4: "recomputed once per change per process, never per viewer").

    python bench/processes.py [--scale 1.0]

``measure(scale)`` returns the rows of ``make bench``'s table.  The server runs as a real
subprocess on a free port with the embedded Redis of a temporary data folder; the figures are
read from the ``X-CityGrid-Process`` and ``X-CityGrid-Snapshot`` headers each process adds.
The helpers (pinned connections per process, opening a wall's stream) are shared with
tests/test_serve_processes.py.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """A ``citygrid serve --processes N`` subprocess and connections to it."""

    def __init__(self, env: dict, processes: int = 2, threads: int = 4, wall_streams: int = 16):
        self.port, self.processes = free_port(), processes
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dashboard.cli.commands", "serve", "--port", str(self.port), "--processes",
             str(processes), "--threads", str(threads), "--wall-streams", str(wall_streams)],
            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def wait_up(self, timeout: float = 120) -> "Served":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited: {self.process.stdout.read()[-3000:]}")
            try:
                conn = self.connection(2)
                conn.request("GET", "/api/v1/health")
                if conn.getresponse().status in (200, 503):
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"citygrid serve --processes {self.processes} did not answer in {timeout:.0f} s")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def connection(self, timeout: float = 15) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def answering(self, requests: int) -> Counter:
        """Which process answered each of ``requests`` fresh connections (pid → count)."""
        seen: Counter = Counter()
        for _ in range(requests):
            conn = self.connection()
            conn.request("GET", "/api/v1/health")
            answer = conn.getresponse()
            answer.read()
            seen[answer.getheader("X-CityGrid-Process")] += 1
            conn.close()
        return seen

    def pinned(self, each: int = 1) -> dict[str, list[http.client.HTTPConnection]]:
        """Keep-alive connections, ``each`` per web process (pid → connections): new ones are
        opened until every process has answered on ``each`` of them."""
        found: dict[str, list] = {}
        for _ in range(50 * each * self.processes):
            conn = self.connection()
            conn.request("GET", "/api/v1/health")
            answer = conn.getresponse()
            answer.read()
            pid = answer.getheader("X-CityGrid-Process")
            if len(found.setdefault(pid, [])) < each:
                found[pid].append(conn)
            else:
                conn.close()
            if len(found) == self.processes and all(len(c) == each for c in found.values()):
                return found
        raise AssertionError(f"{50 * each * self.processes} connections reached only {sorted(found)}")


def open_wall(conn: http.client.HTTPConnection, token: str) -> http.client.HTTPResponse:
    """A wall on ``conn``: log in with its display token (session cookie), open its stream."""
    conn.request("GET", f"/wall?token={token}")
    answer = conn.getresponse()
    cookie = answer.getheader("Set-Cookie").split(";", 1)[0]
    answer.read()
    conn.request("GET", "/wall/stream", headers={"Cookie": cookie})
    return conn.getresponse()


def first_state(stream: http.client.HTTPResponse) -> dict:
    """The first ``data:`` event of a wall's stream (the whole state)."""
    line = b""
    while not line.startswith(b"data:"):
        line = stream.readline()
    return json.loads(line[5:])


def snapshot(conn: http.client.HTTPConnection) -> dict[str, int]:
    """That process's wall pump: ``computations``, ``version``, ``streams``."""
    conn.request("GET", "/api/v1/health")
    answer = conn.getresponse()
    answer.read()
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", answer.getheader("X-CityGrid-Snapshot") or "")}


def settle(probes: dict[str, list[http.client.HTTPConnection]], streams: int, timeout: float = 15) -> None:
    """Wait until every process counts ``streams`` open wall streams: a stream its client
    closed ends only at the server's next write (a heartbeat), so a previous round's streams
    linger a few seconds."""
    deadline = time.monotonic() + timeout
    while True:
        counts = {pid: snapshot(conns[0]).get("streams") for pid, conns in probes.items()}
        if all(count == streams for count in counts.values()):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"open wall streams per process {counts}, not {streams} each, after {timeout:.0f} s")
        time.sleep(0.05)


def per_second(served: Served, token: str, viewers: int, computations: int = 12) -> dict[str, tuple[float, int]]:
    """With ``viewers`` walls streaming from each process, until each process has computed
    ``computations`` more wall snapshots: pid → (computations per second, versions).  One pump
    per process computes once per interval (``tick_ms``/4, at most 4 per second) however many
    viewers it has; a computation per viewer would multiply the rate by ``viewers``."""
    walls, probes = served.pinned(each=viewers), served.pinned(each=1)
    streams: list[http.client.HTTPResponse] = []
    try:
        for conns in walls.values():
            for conn in conns:
                # Kept until the end: the stream is answered with ``Connection: close``, so
                # http.client hands the socket over to the response (``conn.sock`` is None). A
                # response dropped here is garbage-collected, which closes its socket, and the
                # server ends that stream at its next write (a heartbeat, every 2 s): the process
                # would count one viewer fewer a few seconds later.
                streams.append(open_wall(conn, token))
                if streams[-1].status != 200:
                    raise AssertionError(f"a wall's stream answered {streams[-1].status}")
                first_state(streams[-1])
        settle(probes, viewers)
        before = {pid: (time.monotonic(), snapshot(conns[0])) for pid, conns in probes.items()}
        done: dict[str, tuple[float, dict]] = {}
        deadline = time.monotonic() + 60
        while len(done) < len(probes) and time.monotonic() < deadline:
            for pid, conns in probes.items():
                now = snapshot(conns[0])
                if now.get("streams") != viewers:   # all along, not only at the end
                    raise AssertionError(f"process {pid} counts {now.get('streams')} streams, not {viewers}")
                if pid not in done and now["computations"] >= before[pid][1]["computations"] + computations:
                    done[pid] = (time.monotonic(), now)
            time.sleep(0.05)
        if len(done) < len(probes):
            raise AssertionError(f"the wall pumps computed fewer than {computations} snapshots in 60 s")
        out = {}
        for pid, (ended, now) in done.items():
            started, then = before[pid]
            out[pid] = ((now["computations"] - then["computations"]) / (ended - started),
                        now["version"] - then["version"])
        return out
    finally:
        for stream in streams:
            stream.close()
        for conns in list(walls.values()) + list(probes.values()):
            for conn in conns:
                conn.close()


def measure(scale: float = 1.0) -> list[dict]:
    """Rows for ``make bench``: connections per process, snapshot computations per second per process."""
    from dashboard.settings import Settings
    from datasource.redis.server import stop_embedded
    from datasource.services import accounts
    from datasource.system import System

    folder = Path(tempfile.mkdtemp(prefix="citygrid-bench-processes-"))
    settings = Settings(data_dir=folder, components_autoload=False)
    system = System(settings).start()
    accounts.add_user(system.engine, "wall1", "wall")
    token = accounts.create_token(system.engine, "wall1")
    system.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYGRID_")}
    env.update(CITYGRID_DATA_DIR=str(folder), CITYGRID_COMPONENTS_AUTOLOAD="false",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    served = Served(env, processes=2)
    rows = []
    try:
        served.wait_up()
        requests = max(20, int(200 * scale))
        spread = served.answering(requests)
        share = min(spread.values()) / requests if len(spread) == 2 else 0.0
        rows.append({"figure": f"connections on the less busy of 2 web processes ({requests} connections)",
                     "value": round(share * 100, 1), "unit": "%", "target": None, "met": None,
                     "note": "SO_REUSEPORT: the kernel hashes each connection to one process's socket (50 % is even)"})
        for viewers in (1, 8):
            rates = per_second(served, token, viewers, computations=max(8, int(40 * scale)))
            worst = max(rate for rate, _ in rates.values())
            rows.append({"figure": f"wall snapshot computations per second in each of 2 processes, {viewers} "
                                   f"viewer(s) on each",
                         "value": round(worst, 2), "unit": "/s", "target": "≤ 4 whatever the viewers (one pump per "
                                                                          "process, tick_ms/4)",
                         "met": worst <= 4.5, "note": "; ".join(f"pid {pid}: {rate:.2f}/s, {versions} versions"
                                                                for pid, (rate, versions) in rates.items())})
    finally:
        served.stop()
        stop_embedded(folder)
        import shutil
        shutil.rmtree(folder, ignore_errors=True)
    return rows


if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    for row in measure(parser.parse_args().scale):
        print(f"{row['figure']}: {row['value']} {row['unit']}  (target {row['target']}; {row['note']})")
