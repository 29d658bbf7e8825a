"""A PostgreSQL primary and its streaming read replica on free loopback ports (issue 15).

    python scripts/pg_replica.py          # start the pair, print both URLs, stop on Ctrl-C

or, in a test or a drill::

    with ReplicaPair() as pair:
        pair.primary_url, pair.replica_url    # postgresql+psycopg://postgres@127.0.0.1:PORT/postgres
        pair.stop_replica()                   # immediate shutdown: as a crash, no checkpoint
        pair.start_replica()                  # it reconnects and catches up from the primary's WAL

The primary is a fresh ``initdb`` cluster (trust authentication on loopback only), the
replica a ``pg_basebackup -R`` of it (``standby.signal`` and ``primary_conninfo`` written by
``-R``; WAL streamed during the copy).  PostgreSQL refuses to run as root, so as root every
server command runs as the ``postgres`` user (``runuser``).  Both servers and their folder
are removed on leaving the block, on an exception too, and at interpreter exit.
"""
from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

SERVER_USER = "postgres"
START_TIMEOUT_S = 60


def bin_dir() -> Path:
    """The newest installed PostgreSQL's binaries (``initdb``, ``pg_ctl``, ``pg_basebackup``)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    if not found:
        raise RuntimeError("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin "
                           "(apt-get install postgresql)")
    return Path(found[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ReplicaPair:
    def __init__(self, root: str | Path | None = None):
        self.bin = bin_dir()
        self.root = Path(root) if root else None
        self.primary_port = self.replica_port = 0
        self._owned_root = root is None
        self._running: set[str] = set()

    # ------------------------------------------------------------------ commands
    def _run(self, *args, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *map(str, args[1:])]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=START_TIMEOUT_S + 30)
        if check and result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): "
                               f"{(result.stderr or result.stdout).strip().splitlines()[-1:]}")
        return result

    def _dir(self, name: str) -> Path:
        return self.root / name

    @staticmethod
    def url(port: int) -> str:
        return f"postgresql+psycopg://{SERVER_USER}@127.0.0.1:{port}/postgres"

    @property
    def primary_url(self) -> str:
        return self.url(self.primary_port)

    @property
    def replica_url(self) -> str:
        return self.url(self.replica_port)

    # ------------------------------------------------------------------ life cycle
    def start(self) -> "ReplicaPair":
        if self.root is None:
            self.root = Path(tempfile.mkdtemp(prefix="citygrid-pg-replica-"))
        atexit.register(self.stop)
        if os.geteuid() == 0:
            user = pwd.getpwnam(SERVER_USER)
            os.chown(self.root, user.pw_uid, user.pw_gid)
        os.chmod(self.root, 0o700)
        primary = self._dir("primary")
        self._run("initdb", "-D", primary, "-U", SERVER_USER, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        self.primary_port = free_port()
        with open(primary / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.primary_port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.root}'\nwal_level = replica\nmax_wal_senders = 5\n"
                       f"wal_keep_size = '256MB'\nfsync = off\nfull_page_writes = off\nshared_buffers = '64MB'\n")
        self._start("primary")
        self._run("pg_basebackup", "-h", "127.0.0.1", "-p", self.primary_port, "-U", SERVER_USER,
                  "-D", self._dir("replica"), "-R", "-X", "stream", "-c", "fast")
        self.replica_port = free_port()
        with open(self._dir("replica") / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.replica_port}\nhot_standby = on\nhot_standby_feedback = on\n")
        self._start("replica")
        return self

    def _start(self, name: str) -> None:
        self._run("pg_ctl", "-D", self._dir(name), "-l", self._dir(f"{name}.log"), "-w", "-t", START_TIMEOUT_S,
                  "start")
        self._running.add(name)

    def _stop(self, name: str, mode: str) -> None:
        if name in self._running:
            self._run("pg_ctl", "-D", self._dir(name), "-m", mode, "-w", "stop", check=False)
            self._running.discard(name)

    def stop_replica(self) -> None:
        """Stop the replica as a crash would (immediate shutdown)."""
        self._stop("replica", "immediate")

    def start_replica(self) -> None:
        """Start the replica again (it recovers and streams what it missed from the primary)."""
        self._start("replica")

    def stop(self) -> None:
        for name in ("replica", "primary"):
            self._stop(name, "immediate")
        if self._owned_root and self.root is not None and self.root.exists():
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "ReplicaPair":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


def main() -> None:
    import signal
    with ReplicaPair() as pair:
        print(f"primary: {pair.primary_url}\nreplica: {pair.replica_url}\n"
              f"(CITYGRID_DATABASE_URL and CITYGRID_READ_DATABASE_URL; Ctrl-C stops both)", flush=True)
        signal.signal(signal.SIGTERM, signal.default_int_handler)   # a plain kill stops them too
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    sys.exit(main())
